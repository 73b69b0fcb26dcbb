"""TensorFlow's C++ start-up lines (written straight to file descriptor 2, whatever TF_CPP_MIN_LOG_LEVEL says) do
not reach the terminal from the main process or from the workers; an error still does."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, SAMPLE, needs_weights

NATIVE = ("I0000", "cudart_stub", "absl::InitializeLog")


def _bench(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("BENCH_", "TF_CPP", "FACEBENCH_NATIVE"))}
    environ |= {"BENCH_CACHE_DIR": str(tmp_path / "cache"), **env}
    command = [str(Path(sys.executable).parent / "bench"), *args]
    return subprocess.run(command, cwd=REPO, env=environ, capture_output=True, text=True, timeout=900, check=False)


@pytest.mark.slow
@needs_weights
def test_tensorflow_start_up_lines_are_silenced_in_workers(tmp_path: Path) -> None:
    if importlib.util.find_spec("mtcnn") is None:  # not imported here: it would load TensorFlow before DeepFace
        pytest.skip("the deepface extra (mtcnn, TensorFlow)")
    args = ("accuracy", "--i", str(SAMPLE), "--model", "Dlib", "--backend", "mtcnn", "--jobs", "2", "--n", "20")
    done = _bench(tmp_path, *args, "--o", str(tmp_path / "out"))
    assert done.returncode == 0 and "results:" in done.stdout, done.stderr[-2000:]
    assert not [line for line in done.stderr.splitlines() if any(mark in line for mark in NATIVE)]
    fresh = {"BENCH_CACHE_DIR": str(tmp_path / "cache-2"), "FACEBENCH_NATIVE_LOGS": "1"}  # computes again
    kept = _bench(tmp_path, *args, "--o", str(tmp_path / "out"), "--overwrite", **fresh)
    assert kept.returncode == 0 and any(mark in kept.stderr for mark in NATIVE)  # the switch keeps them
    bad = _bench(tmp_path, "accuracy", "--i", str(tmp_path / "missing"), "--backend", "mtcnn")
    assert bad.returncode != 0 and "missing" in bad.stderr  # errors are not swallowed
