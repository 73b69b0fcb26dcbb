"""How many threads each framework may use inside one process, so N worker processes do not oversubscribe.

The parallel executor gives each of its N workers ``cores // N`` threads through :func:`limit` before any plugin
loads; plugins that create their own thread pools (onnxruntime sessions) read :func:`intra_op_threads`.
"""

from __future__ import annotations

import os

THREADS_ENV = "BENCH_THREADS"
_FRAMEWORK_ENVS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "TF_NUM_INTRAOP_THREADS")


def cores() -> int:
    """CPUs this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def intra_op_threads() -> int:
    """Threads one model call may use: ``$BENCH_THREADS`` when set (a worker's share), else every core."""
    value = os.environ.get(THREADS_ENV, "")
    return int(value) if value.isdigit() and int(value) > 0 else cores()


def limit(threads: int) -> None:
    """Cap this process's frameworks at ``threads`` intra-op threads (call before they load)."""
    os.environ[THREADS_ENV] = str(threads)
    for name in _FRAMEWORK_ENVS:
        os.environ[name] = str(threads)
    os.environ["TF_NUM_INTEROP_THREADS"] = "1"
    import cv2

    cv2.setNumThreads(threads)
