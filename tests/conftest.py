"""Shared fixtures: the real weights and images from ../shared, and an isolated cache per test session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("FACEBENCH_SHARED", REPO.parent / "shared"))
WEIGHTS = SHARED / "weights"
LFW = SHARED / "data" / "lfw"
SAMPLE = REPO / "datasets" / "sample"

needs_weights = pytest.mark.skipif(
    not (WEIGHTS / "dlib_face_recognition_resnet_model_v1.dat").is_file(), reason=f"real weights not in {WEIGHTS}"
)
"""An integration-tier test on the real weights in ../shared/weights (marked ``slow`` at collection)."""
needs_lfw = pytest.mark.skipif(not (LFW / "pairs.txt").is_file(), reason=f"LFW not in {LFW}")
"""An integration-tier test on the real LFW images (marked ``slow`` at collection)."""
SHARED_REASONS = (needs_weights.kwargs["reason"], needs_lfw.kwargs["reason"])


def bench(*args: str) -> tuple[int, str]:
    """Run the ``bench`` CLI in-process (quiet): (exit code, output)."""
    from click.testing import CliRunner

    from bench.interface.cli import main

    result = CliRunner().invoke(main, ["-q", *args])
    crash = result.exception is not None and not isinstance(result.exception, SystemExit)
    if crash:  # an unexpected exception: show it in the assertion message
        import traceback

        return result.exit_code, result.output + "".join(traceback.format_exception(result.exception))
    return result.exit_code, result.output


FAKES = REPO / "tests" / "fakes"
"""The fake detector ``fake-box`` and recognizer ``FakeNet`` (no weights), as a ``--plugins-dir``."""


def bench_fakes(command: str, data: Path, out: Path, *args: str, model: str = "FakeNet") -> tuple[int, str]:
    """``bench COMMAND`` on the folder ``data`` with the fake plugins, results under ``out``, then ``args``."""
    return bench(
        "--plugins-dir",
        str(FAKES),
        command,
        "--i",
        str(data),
        "--model",
        model,
        "--backend",
        "fake-box",
        "--o",
        str(out),
        *args,
    )


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Every test sees the shared weights and a session-wide cache, never the user's own."""
    monkeypatch.setenv("BENCH_WEIGHTS_DIR", str(WEIGHTS))
    monkeypatch.setenv("BENCH_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "cache"))
    monkeypatch.delenv("BENCH_PLUGINS_DIR", raising=False)
    monkeypatch.setenv("BENCH_JOBS", "1")  # in-process: worker start-up would dominate tiny test runs


def read_pairs(dataset, path):  # type: ignore[no-untyped-def]
    """A pair list read through the registered protocol readers (declared by sniffing), as the CLI does."""
    from bench import plugins, protocols

    return protocols.read_pairs(plugins.load().protocols, dataset, path)


SLOW_MODULES = {
    "test_parity",
    "test_zoo",
    "test_resume",
    "test_executors",
    "test_speed_script",
    "test_example_plugin",
    "test_onnx_recognizers",
    "test_retinaface_onnx",
    "test_bad_inputs",
}
"""Modules that are integration tier as a whole (subprocesses, TensorFlow, real ONNX graphs)."""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark ``slow`` every test of the integration-tier modules and every test that needs ../shared."""
    for item in items:
        module = getattr(item, "module", None)
        in_slow_module = module is not None and module.__name__.rpartition(".")[2] in SLOW_MODULES
        if in_slow_module or any(m.kwargs.get("reason") in SHARED_REASONS for m in item.iter_markers("skipif")):
            item.add_marker(pytest.mark.slow)


@pytest.fixture
def only_given_weights(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Weight files are searched only in the folder a test passes (no env var, an empty DeepFace home)."""
    monkeypatch.delenv("BENCH_WEIGHTS_DIR", raising=False)
    monkeypatch.setenv("DEEPFACE_HOME", str(tmp_path / "deepface-home"))
    monkeypatch.chdir(tmp_path)  # no ./weights either
