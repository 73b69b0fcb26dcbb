"""Compute timings are kept beside the cache entries, so a warm run still knows what a stage costs."""

from __future__ import annotations

from pathlib import Path

from bench.compute.pipeline import Pipeline
from bench.compute.store import Store
from bench.data import datasets
from facebench_plugins.detectors.basic_detectors import DETECTORS
from tests.conftest import SAMPLE, WEIGHTS


def test_warm_run_reports_the_cached_ms_per_item(tmp_path: Path) -> None:
    dataset = datasets.scan(SAMPLE)
    skip = next(spec for spec in DETECTORS if spec.name == "skip")
    cold = Pipeline(Store(tmp_path), WEIGHTS)
    cold.detect(dataset, skip)
    cold_stats = cold.stats["detect:skip"]
    assert cold_stats.computed == len(dataset.images)
    warm = Pipeline(Store(tmp_path), WEIGHTS)
    warm.detect(dataset, skip)
    warm_stats = warm.stats["detect:skip"].as_dict()
    assert warm_stats["computed"] == 0 and warm_stats["ms_per_item"] == 0.0
    expected = round(1000 * cold_stats.seconds / cold_stats.computed, 2)
    assert warm_stats["cache_ms_per_item"] == {"skip": expected}
    timing = Store(tmp_path).timing(next(p.name for p in (tmp_path / "timings").iterdir()).removesuffix(".json"))
    assert timing is not None and timing["computed"] == len(dataset.images) and timing["seconds"] > 0


def test_timings_accumulate(tmp_path: Path) -> None:
    store = Store(tmp_path)
    assert store.timing("ns") is None
    store.add_timing("ns", 4, 2.0)
    store.add_timing("ns", 6, 1.0, 0.5)
    assert store.timing("ns") == {"computed": 10, "seconds": 3.0, "cpu_computed": 6, "cpu_seconds": 0.5}
    (tmp_path / "timings" / "ns.json").write_text("not json")
    assert store.timing("ns") is None
