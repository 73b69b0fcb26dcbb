"""Where and how wide model calls run: the device (``cpu`` or ``cuda``) and each framework's thread count.

The parallel executor gives each of its N workers ``cores // N`` threads through :func:`limit` before any plugin
loads; plugins that create their own thread pools (onnxruntime sessions) read :func:`intra_op_threads`, and pick
execution providers with :func:`onnx_providers`. ``--device`` sets ``$BENCH_DEVICE`` before plugins register, so
the device is part of each plugin's settings (and cache key) and worker processes inherit it.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from typing import Any

from bench.errors import BenchError

THREADS_ENV = "BENCH_THREADS"
DEVICE_ENV = "BENCH_DEVICE"
DEVICES = ("cpu", "cuda")
_FRAMEWORK_ENVS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "TF_NUM_INTRAOP_THREADS")


class DeviceUnavailable(BenchError):
    """``--device cuda`` where the installed runtime sees no GPU."""


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
    """Cap this process's frameworks at ``threads`` intra-op threads, and quiet TensorFlow's start-up log lines
    (``I0000 ... oneDNN``: a worker's would bury the progress bars), before they load."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ[THREADS_ENV] = str(threads)
    for name in _FRAMEWORK_ENVS:
        os.environ[name] = str(threads)
    os.environ["TF_NUM_INTEROP_THREADS"] = "1"
    import cv2

    cv2.setNumThreads(threads)


NATIVE_LOGS_ENV = "FACEBENCH_NATIVE_LOGS"


@contextlib.contextmanager
def native_start_up_quiet() -> Iterator[None]:
    """File descriptor 2 on /dev/null while a native library loads: TensorFlow's C++ writes its start-up lines
    (``I0000 ... cudart_stub.cc ... Could not find cuda drivers``) straight to it, whatever TF_CPP_MIN_LOG_LEVEL
    says, once per process, so every worker would print them over the progress bars. Exceptions still propagate;
    ``FACEBENCH_NATIVE_LOGS=1`` keeps the lines."""
    if os.environ.get(NATIVE_LOGS_ENV):
        yield
        return
    sys.stderr.flush()
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def device() -> str:
    """The device model calls run on: ``$BENCH_DEVICE`` (``cpu`` or ``cuda``), default ``cpu``."""
    name = os.environ.get(DEVICE_ENV, "cpu").strip().lower() or "cpu"
    if name not in DEVICES:
        raise DeviceUnavailable(f"{DEVICE_ENV}={name}: expected one of {', '.join(DEVICES)}")
    return name


def use_device(name: str) -> None:
    """Select the device for this process and its workers (before plugins load); hides GPUs from TensorFlow
    and DeepFace's onnxruntime sessions on ``cpu``."""
    os.environ[DEVICE_ENV] = name
    os.environ["DEEPFACE_ONNX_PROVIDERS"] = "cuda,cpu" if name == "cuda" else "cpu"
    if name == "cpu":
        os.environ["CUDA_VISIBLE_DEVICES"] = ""  # TensorFlow would otherwise take a visible GPU


def onnx_providers() -> list[str]:
    """onnxruntime execution providers for the current device; :class:`DeviceUnavailable` if CUDA is missing."""
    if device() == "cpu":
        return ["CPUExecutionProvider"]
    import onnxruntime

    if "CUDAExecutionProvider" not in onnxruntime.get_available_providers():
        raise DeviceUnavailable(
            "--device cuda: this onnxruntime has no CUDAExecutionProvider "
            "(pip install onnxruntime-gpu, and a visible NVIDIA GPU)"
        )
    return ["CUDAExecutionProvider", "CPUExecutionProvider"]


def onnx_session(model: str | bytes, threads: int | None = None) -> Any:
    """An onnxruntime session over a model file's path (or a serialized model) on the current device with
    ``threads`` intra-op threads (default: this process's thread share; a fixed count where a plugin's output must
    not depend on it)."""
    import onnxruntime

    onnxruntime.set_default_logger_severity(3)  # the environment's own start-up lines (each worker would print them)
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads or intra_op_threads()
    options.inter_op_num_threads = 1
    options.log_severity_level = 3  # graph-cleanup warnings of converted models bury the progress bars
    return onnxruntime.InferenceSession(model, options, providers=onnx_providers())
