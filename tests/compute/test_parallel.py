"""``LocalExecutor(jobs=N)``: worker processes with a share of the cores each, the same bytes as in-process."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from bench import plugins
from bench.compute.executors import Item, LocalExecutor, Work, make
from bench.compute.pipeline import Pipeline
from bench.compute.store import Store
from bench.data.datasets import scan
from bench.data.images import file_sha256
from tests.conftest import SAMPLE, WEIGHTS, needs_weights

FAKE = '''
import os
from bench.data.faces import Face
from bench.hookspecs import hookimpl
from bench.registry import DetectorSpec
from bench.compute.runtime import intra_op_threads


class Probe:
    def detect(self, image):
        """One face whose confidence is this process's thread share and whose nose is at its pid."""
        return [Face(0, 0, 10, 10, float(intra_op_threads()), {"nose": (float(os.getpid()), 0.0)})]


@hookimpl
def register_detectors(register):
    register(DetectorSpec(name="probe", load=lambda files: Probe()))
'''


@pytest.mark.slow  # starts a pool of two worker processes
def test_workers_get_a_share_of_the_cores(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "plugins"
    folder.mkdir()
    (folder / "probe.py").write_text(FAKE)
    monkeypatch.setattr("bench.compute.runtime.cores", lambda: 4)  # in the driver: 2 jobs -> 2 threads per worker
    executor = LocalExecutor(quiet=True, jobs=2, folders=(folder,))
    paths = sorted(SAMPLE.glob("*/*.jpg"))[:6]
    items = tuple(Item(file_sha256(p), p) for p in paths)
    store = Store(tmp_path / "cache")
    spec = plugins.load((folder,)).detectors.get("probe")
    try:
        outcome = executor.run(Work("detect", "probe", store, WEIGHTS, "ns", items), spec)
    finally:
        executor.close()
    assert outcome.computed == 6 and outcome.failed == 0
    records = [store.get_json("detections", "ns", item.sha) for item in items]
    assert {r["faces"][0]["confidence"] for r in records} == {2.0}
    import os

    assert os.getpid() not in {r["faces"][0]["landmarks"]["nose"][0] for r in records}  # computed in workers


def test_a_plugin_registered_only_here_runs_here(tmp_path: Path) -> None:
    """Workers find plugins by name; one this process registered by hand is computed in-process instead."""
    spec = plugins.load().detectors.get("skip")
    private = dataclasses.replace(spec, name="private-skip")
    executor = LocalExecutor(quiet=True, jobs=2)
    paths = sorted(SAMPLE.glob("*/*.jpg"))[:2]
    work = Work("detect", "private-skip", Store(tmp_path), WEIGHTS, "ns", tuple(Item(file_sha256(p), p) for p in paths))
    assert executor.run(work, private).computed == 2
    assert executor._pool is None  # no worker was started


def test_a_plugin_with_other_settings_runs_here(tmp_path: Path) -> None:
    """Same name, other settings (e.g. detector options): a worker would build the registered default."""
    spec = plugins.load().detectors.get("skip")
    tuned = dataclasses.replace(spec, settings={**spec.settings, "option": 1})
    executor = LocalExecutor(quiet=True, jobs=2)
    path = min(SAMPLE.glob("*/*.jpg"))
    work = Work("detect", "skip", Store(tmp_path), WEIGHTS, "ns", (Item(file_sha256(path), path),))
    assert executor.run(work, tuned).computed == 1 and executor._pool is None


def test_a_derived_name_is_built_in_workers() -> None:
    """ "<model>+flip" resolves in a worker's registry to the same settings: it may run there."""
    spec = plugins.load().recognizers.get("MobileFace+flip")
    assert LocalExecutor(jobs=2)._workers_can_build("embed", spec)
    assert not LocalExecutor(jobs=2)._workers_can_build("embed", dataclasses.replace(spec, name="nowhere"))


def test_make_defaults_to_one_job_per_core(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BENCH_JOBS", raising=False)
    monkeypatch.setattr("bench.compute.runtime.cores", lambda: 3)
    assert make("local", ()).jobs == 3  # type: ignore[attr-defined]
    monkeypatch.setenv("BENCH_JOBS", "1")
    assert make("local", ()).jobs == 1  # type: ignore[attr-defined]
    assert make("local", (), jobs=2).jobs == 2  # type: ignore[attr-defined]


@pytest.mark.slow
@needs_weights
def test_two_jobs_write_the_same_bytes_as_one(tmp_path: Path) -> None:
    """Real detectors and models: every cache entry of --jobs 2 equals --jobs 1, byte for byte."""
    registry = plugins.load()
    dataset = scan(SAMPLE)
    dataset = dataclasses.replace(dataset, images=dataset.images[::3])  # 12 images, 6 identities
    caches = {}
    for jobs in (1, 2):
        executor = LocalExecutor(quiet=True, jobs=jobs)
        pipeline = Pipeline(Store(tmp_path / f"jobs{jobs}"), WEIGHTS, "whole", executor)
        try:
            for name in ("opencv", "yunet"):
                detector = registry.detectors.get(name)
                detections = pipeline.detect(dataset, detector)
                for model in ("Dlib", "SFace"):
                    pipeline.embed(dataset, detector, detections, registry.recognizers.get(model))
        finally:
            executor.close()
        assert pipeline.stats["embed:SFace"].computed == 24 and pipeline.stats["detect:yunet"].failed == 0
        caches[jobs] = Store(tmp_path / f"jobs{jobs}").results()
    assert len(caches[1]) == 2 * 12 + 4 * 12
    assert caches[2] == caches[1]
