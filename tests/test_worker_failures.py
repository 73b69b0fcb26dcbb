"""Failures are never successes: a worker that dies is retried once in a fresh pool, then the run fails loudly."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from bench import plugins
from bench.executors import Item, LocalExecutor, LostInput, Work
from bench.images import file_sha256
from bench.store import Store
from tests.conftest import FAKES, SAMPLE, WEIGHTS, bench
from tests.fakes.fake_models import DIES, make_dataset


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_dataset(tmp_path_factory.mktemp("colours") / "data", identities=3, per_identity=3)


def _accuracy(data: Path, out: Path, run_id: str, jobs: int) -> tuple[int, str]:
    """``bench accuracy`` with the detector that kills its worker, in a cache of its own (so it computes)."""
    return bench(
        "--plugins-dir",
        str(FAKES),
        "--cache-dir",
        str(out / f"cache-{run_id}"),
        "accuracy",
        "--i",
        str(data),
        "--model",
        "FakeNet",
        "--backend",
        "fake-dies",
        "--o",
        str(out),
        "--run-id",
        run_id,
        "--jobs",
        str(jobs),
    )


def test_a_worker_killed_once_is_retried_with_the_same_numbers(
    data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    marker = tmp_path / "died-once"
    monkeypatch.setenv(DIES, str(marker))
    assert _accuracy(data, tmp_path, "one", 1)[0] == 0  # in-process: never dies
    code, text = _accuracy(data, tmp_path, "two", 2)
    assert code == 0, text
    assert marker.is_file()  # a worker did die
    for table in ("accuracy", "scores", "failures"):
        pd.testing.assert_frame_equal(
            pd.read_csv(tmp_path / "two" / f"{table}.csv"), pd.read_csv(tmp_path / "one" / f"{table}.csv")
        )
    assert json.loads((tmp_path / "two" / "manifest.json").read_text())["status"] == "complete"


def test_a_worker_that_always_dies_fails_the_run(data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(DIES, "always")
    code, text = _accuracy(data, tmp_path, "dead", 2)
    assert code == 1 and "Traceback" not in text
    assert [line for line in text.splitlines() if not line.startswith("note: ")] == [
        "Error: detect fake-dies: a worker process died (killed by SIGKILL, often out of memory), and again when "
        "retried in a fresh pool; rerun with --jobs 1 to compute in this process (the error shows there; fewer "
        "--jobs if memory is short)"
    ]
    manifest = json.loads((tmp_path / "dead" / "manifest.json").read_text())
    assert manifest["status"] == "failed" and manifest["error"].startswith("WorkerFailure: detect fake-dies")


def test_an_image_read_when_hashed_but_not_when_computed_is_no_data_outcome(tmp_path: Path) -> None:
    """A path the computing process cannot read (a Ray node without the dataset) is not an 'unreadable' image."""
    path = min(SAMPLE.glob("*/*.jpg"))
    work = Work("detect", "skip", Store(tmp_path), WEIGHTS, "ns", (Item(file_sha256(path), tmp_path / "gone.jpg"),))
    with pytest.raises(LostInput, match="gone.jpg: cannot read file: No such file or directory in process"):
        LocalExecutor(quiet=True).run(work, plugins.load().detectors.get("skip"))
