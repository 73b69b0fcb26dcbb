"""``--executor ray`` gives the same results and the same cache entries as ``local``; a plugin that fails to load
is recorded as unavailable, a task that fails twice stops the run. One local Ray instance (2 CPUs) for the module."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from bench import plugins
from bench.compute.executors import Item, LocalExecutor, RayExecutor, Work, WorkerFailure
from bench.compute.store import Store
from bench.data.images import file_sha256
from bench.interface.cli import main
from tests.conftest import SAMPLE, WEIGHTS, needs_weights


@pytest.fixture(scope="module", autouse=True)
def _ray() -> Iterator[None]:
    ray = pytest.importorskip("ray")  # here, not at import: the fast tier collects this module too
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def _accuracy(tmp_path: Path, executor: str, *args: str) -> Path:
    out = tmp_path / "out"
    result = CliRunner().invoke(
        main,
        [
            "-q",
            "--cache-dir",
            str(tmp_path / f"cache-{executor}"),
            "accuracy",
            "--i",
            str(SAMPLE),
            "--o",
            str(out),
            "--run-id",
            executor,
            "--executor",
            executor,
            *args,
        ],
    )
    assert result.exit_code == 0, result.output
    return out / executor


@needs_weights
def test_ray_matches_local_results_and_cache(tmp_path: Path) -> None:
    local = _accuracy(tmp_path, "local", "--model", "Dlib", "--backend", "opencv")
    distributed = _accuracy(tmp_path, "ray", "--model", "Dlib", "--backend", "opencv")
    pd.testing.assert_frame_equal(pd.read_csv(distributed / "accuracy.csv"), pd.read_csv(local / "accuracy.csv"))
    pd.testing.assert_frame_equal(pd.read_csv(distributed / "scores.csv"), pd.read_csv(local / "scores.csv"))
    local_cache, ray_cache = Store(tmp_path / "cache-local").results(), Store(tmp_path / "cache-ray").results()
    vectors = [k for k in local_cache if k.startswith("embeddings/")]
    assert len(vectors) == 36 and local_cache == ray_cache


def test_plugin_from_a_folder_that_fails_to_load_is_unavailable(tmp_path: Path) -> None:
    """Workers find plugins of --plugins-dir by name; a load failure there is reported like a local one."""
    folder = tmp_path / "plugins"
    folder.mkdir()
    (folder / "broken.py").write_text(
        "from bench.hookspecs import hookimpl\nfrom bench.registry import DetectorSpec\n\n"
        "def _load(files):\n    raise RuntimeError('no such device')\n\n"
        "@hookimpl\ndef register_detectors(register):\n    register(DetectorSpec(name='broken', load=_load))\n"
    )
    result = CliRunner().invoke(
        main,
        [
            "-q",
            "--plugins-dir",
            str(folder),
            "--cache-dir",
            str(tmp_path / "cache"),
            "accuracy",
            "--i",
            str(SAMPLE),
            "--o",
            str(tmp_path / "out"),
            "--backend",
            "broken",
            "--executor",
            "ray",
        ],
    )
    assert result.exit_code == 1 and "nothing could run" in result.output
    unavailable = pd.read_csv(next((tmp_path / "out").iterdir()) / "unavailable.csv")
    assert list(unavailable.detector) == ["broken"]
    assert "broken failed to load: RuntimeError: no such device" in unavailable.reason[0]


def test_a_failed_task_is_retried_once_then_fails_loudly(tmp_path: Path) -> None:
    """A task that raises (here: workers do not know the plugin's name) is retried once, then the run stops."""
    paths = sorted(SAMPLE.glob("*/*.jpg"))[:3]
    items = tuple(Item(file_sha256(p), p) for p in paths)
    work = Work("detect", "not-registered", Store(tmp_path), WEIGHTS, "ns", items)
    with pytest.raises(
        WorkerFailure, match=r"detect not-registered: a Ray task failed \(UnknownName: .*again when retried"
    ):
        RayExecutor(chunk_size=2, quiet=True).run(work, plugins.load().detectors.get("skip"))


def test_results_come_back_to_the_driver_which_writes_them(tmp_path: Path) -> None:
    """Workers write nothing: the driver writes every result, byte-identical to computing in this process."""
    paths = sorted(SAMPLE.glob("*/*.jpg"))[:3]
    items = tuple(Item(file_sha256(p), p) for p in paths)
    skip = plugins.load().detectors.get("skip")
    for name, executor in (("ray", RayExecutor(chunk_size=2, quiet=True)), ("local", LocalExecutor(quiet=True))):
        outcome = executor.run(Work("detect", "skip", Store(tmp_path / name), WEIGHTS, "ns", items), skip)
        assert (outcome.computed, outcome.failed, outcome.shipped) == (3, 0, 0)
    assert _files(tmp_path / "ray") == _files(tmp_path / "local") and len(_files(tmp_path / "ray")) == 3


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*.json"))}


def test_an_image_gone_since_it_was_hashed_is_a_recorded_failure(tmp_path: Path) -> None:
    """An image neither the worker nor the driver can read any more is an 'unreadable' outcome, not a retry loop."""
    path = min(SAMPLE.glob("*/*.jpg"))
    work = Work("detect", "skip", Store(tmp_path), WEIGHTS, "ns", (Item(file_sha256(path), tmp_path / "gone.jpg"),))
    outcome = RayExecutor(quiet=True).run(work, plugins.load().detectors.get("skip"))
    assert (outcome.computed, outcome.failed) == (0, 1)
    reason = "cannot read file: No such file or directory (read when hashed)"
    assert list(outcome.failures.values()) == [("unreadable", reason)]
