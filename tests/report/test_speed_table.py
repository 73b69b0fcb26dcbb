"""The report's speed table: a detector served from the cache shows the cache's own timing of it, said as such,
never another detector's timing."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from bench.compute.executors import LocalExecutor
from bench.compute.pipeline import Pipeline
from bench.compute.store import Store
from bench.compute.sweep import Sweep
from bench.data.datasets import scan
from bench.report.webpage import speed
from tests.conftest import SAMPLE
from tests.fakes.two_faces import DETECTOR, MODEL


def test_cached_stages_show_the_timing_the_cache_recorded(tmp_path: Path) -> None:
    data = scan(SAMPLE)
    data.images = data.images[:3]
    store = Store(tmp_path)
    list(Sweep(Pipeline(store, tmp_path, executor=LocalExecutor(quiet=True)), [DETECTOR], [MODEL]).run(data))
    other = dataclasses.replace(DETECTOR, name="other")  # a second detector, not cached yet
    pipeline = Pipeline(store, tmp_path, executor=LocalExecutor(quiet=True))
    list(Sweep(pipeline, [DETECTOR, other], [MODEL]).run(data))
    timings = {k: v.as_dict() for k, v in pipeline.stats.items()}
    assert timings["embed:mean@two"]["computed"] == 0 and timings["embed:mean@other"]["computed"] == 3
    table = speed({"timings": timings}).set_index("detector")
    cached = store.timing(pipeline.embedding_namespace(MODEL, DETECTOR))
    assert cached is not None and table.loc["two", "timed_by"] == "earlier runs (cache)"
    assert table.loc["two", "embed_ms_per_face"] == round(1000 * cached["seconds"] / cached["computed"], 2)
    assert table.loc["two", "faces_timed_this_run"] == 0 and np.isfinite(table.loc["two", "total_ms_per_face"])
    assert table.loc["other", "timed_by"] == "this run" and table.loc["other", "faces_timed_this_run"] == 3
