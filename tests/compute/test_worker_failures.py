"""Failures are never successes: a worker that dies is retried once in a fresh pool, then the run fails loudly."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bench import plugins
from bench.compute.executors import Item, LocalExecutor, LostInput, Work, compute
from bench.compute.store import Store
from bench.data.faces import Face
from bench.data.images import file_sha256
from tests.conftest import FAKES, SAMPLE, WEIGHTS, bench, bench_fakes
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


@pytest.mark.slow  # starts worker pools (--jobs 2) and kills one
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


@pytest.mark.slow  # starts worker pools (--jobs 2), twice
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


RAISES = """
from bench.hookspecs import hookimpl
from bench.registry import DetectorSpec


class Raises:
    def detect(self, image):
        raise RuntimeError("cannot run on this input")


@hookimpl
def register_detectors(register):
    register(DetectorSpec(name="raises", load=lambda files: Raises()))
"""


def test_a_run_in_which_every_image_failed_is_not_complete(data: Path, tmp_path: Path) -> None:
    folder = tmp_path / "plugins"
    folder.mkdir()
    (folder / "raises.py").write_text(RAISES)
    args = ("--plugins-dir", str(folder), "accuracy", "--i", str(data), "--backend", "raises", "--model", "FakeNet")
    code, text = bench("--plugins-dir", str(FAKES), *args, "--o", str(tmp_path), "--run-id", "r", "--metric", "cosine")
    assert code == 1 and "Traceback" not in text
    assert text.splitlines()[-1] == (
        "Error: nothing could be scored: no image has an embedding (9 detector_failed; e.g. person0/person0_0.png: "
        f"RuntimeError: cannot run on this input); every image in {tmp_path / 'r' / 'failures.csv'}"
    )
    row = pd.read_csv(tmp_path / "r" / "accuracy.csv").iloc[0]
    assert row.status == "no pair scored: 9 of 9 images have no embedding (9 detector_failed; reasons in failures.csv)"
    assert np.isnan(row.failure_to_detect_rate) and row.failure_to_acquire_rate == 1.0 and row.n_pairs_scored == 0
    manifest = json.loads((tmp_path / "r" / "manifest.json").read_text())
    assert manifest["status"] == "failed" and manifest["error"].startswith("NothingScored: nothing could be scored")


def test_an_unreadable_image_counts_in_the_failure_rates(tmp_path: Path) -> None:
    data = make_dataset(tmp_path / "data", identities=3, per_identity=3)
    (data / "person0" / "person0_1.png").write_bytes(b"not an image")
    code, text = bench_fakes("accuracy", data, tmp_path, "--run-id", "r", "--metric", "cosine")
    assert code == 0, text
    row = pd.read_csv(tmp_path / "r" / "accuracy.csv").iloc[0]
    assert row.status == "ok" and row.image_failures == "1 unreadable"
    assert row.failure_to_acquire_rate == pytest.approx(1 / 9) and row.failure_to_detect_rate == 0.0


SCRIPT = """
import sys
from pathlib import Path

import facebench

with open(Path(__file__).with_name("runs.txt"), "a") as runs:  # no __main__ guard: a worker would run this again
    runs.write("run\\n")
r = facebench.accuracy(sys.argv[1], model="FakeNet", backend="fake-box", output=sys.argv[2], run_id="script",
                       plugins_dirs=[sys.argv[3]], cache_dir=sys.argv[4], jobs=2, quiet=True)
print(r.manifest["status"], r.manifest["jobs"])
"""


@pytest.mark.slow
def test_a_script_without_a_main_guard_runs_with_two_jobs(data: Path, tmp_path: Path) -> None:
    import subprocess
    import sys

    import facebench

    script = tmp_path / "script.py"
    script.write_text(SCRIPT)
    args = [str(data), str(tmp_path / "out"), str(FAKES), str(tmp_path / "cache")]
    done = subprocess.run([sys.executable, str(script), *args], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["complete", "2"] and (tmp_path / "runs.txt").read_text() == "run\n"
    facebench.accuracy(
        data, model="FakeNet", backend="fake-box", output=tmp_path / "out", run_id="one", plugins_dirs=[FAKES], jobs=1
    )
    for table in ("accuracy", "scores"):
        got, want = (pd.read_csv(tmp_path / "out" / run / f"{table}.csv") for run in ("script", "one"))
        pd.testing.assert_frame_equal(got, want)


def test_a_run_that_scored_no_pair_is_not_complete(tmp_path: Path) -> None:
    """Other images have embeddings, but every listed pair has an unreadable image."""
    data = make_dataset(tmp_path / "data", identities=2, per_identity=2)
    (data / "person0" / "person0_0.png").write_bytes(b"not an image")
    others = ["person0/person0_1.png", "person1/person1_0.png", "person1/person1_1.png"]
    pairs = tmp_path / "pairs.csv"
    frame = {"file_x": "person0/person0_0.png", "file_y": others, "same": [1, 0, 0]}
    pd.DataFrame(frame).to_csv(pairs, index=False)
    code, text = bench_fakes("accuracy", data, tmp_path, "--pairs", str(pairs), "--run-id", "r", "--metric", "cosine")
    assert code == 1 and text.splitlines()[-1] == (
        "Error: no combination scored a pair: no pair scored: 1 of 4 images have no embedding "
        "(1 unreadable; reasons in failures.csv)"
    )
    assert json.loads((tmp_path / "r" / "manifest.json").read_text())["status"] == "failed"


class _Recognizer:
    """Returns ``rows`` vectors for any batch; ``nan_first`` makes the first one non-finite."""

    def __init__(self, rows: Callable[[int], int], nan_first: bool = False) -> None:
        self.rows, self.nan_first = rows, nan_first

    def crop(self, image: np.ndarray, face: Face) -> np.ndarray:
        return image[:8, :8]

    def embed(self, crops: np.ndarray) -> np.ndarray:
        out = np.ones((self.rows(len(crops)), 4), dtype=np.float32)
        if self.nan_first:
            out[0] = np.nan
        return out


@pytest.mark.parametrize("rows", [lambda n: n + 1, lambda n: n - 1])
def test_a_model_output_without_a_row_per_face_fails_every_face(rows: Callable[[int], int], tmp_path: Path) -> None:
    """An output with one row too many or too few is never zipped onto the faces: each face fails, none is kept."""
    image = sorted(SAMPLE.rglob("*.jpg"))[0]
    items = tuple(Item(f"k{i}", image, Face.whole(64, 64)) for i in range(3))
    work = Work("embed", "M", Store(tmp_path), tmp_path, "ns", items, batch_size=3)
    outcome = compute(work, lambda _: _Recognizer(rows))
    assert outcome.computed == 0 and sorted(outcome.failures) == ["k0", "k1", "k2"]
    assert "expected one vector per face" in outcome.failures["k0"][1]
    assert Store(tmp_path).embedded("ns") == {}
    kept = compute(work, lambda _: _Recognizer(lambda n: n, nan_first=True))
    assert (
        kept.computed == 2 and list(kept.failures) == ["k0"] and sorted(Store(tmp_path).embedded("ns")) == ["k1", "k2"]
    )
