"""benchmarks/speed.py's bookkeeping (pair subsets, extrapolation, ratios); nothing here loads a model."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import numpy as np
import pytest

from bench.compute.store import Store
from bench.data.datasets import scan
from tests.conftest import REPO, SAMPLE, read_pairs


def _speed():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("speed", REPO / "benchmarks" / "speed.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_pairs_subset_is_balanced_seeded_and_in_file_order(tmp_path: Path) -> None:
    speed = _speed()
    lines = ["4", "A 1 2", "A 1 3", "B 1 2", "B 2 3", "A 1 B 1", "A 2 B 2", "A 3 B 3", "B 3 A 1"]
    (tmp_path / "pairs.txt").write_text("\n".join(lines) + "\n")
    rows = speed.read_lfw_pairs(tmp_path / "pairs.txt")
    assert rows[0] == ("A/A_0001.jpg", "A/A_0002.jpg", True)
    assert rows[4] == ("A/A_0001.jpg", "B/B_0001.jpg", False)
    picked = speed.choose_pairs(rows, 4, seed=0)
    assert picked == speed.choose_pairs(rows, 4, seed=0)
    assert sum(s for _, _, s in picked) == 2
    assert [rows.index(r) for r in picked] == sorted(rows.index(r) for r in picked)
    assert speed.choose_pairs(rows, None, 0) == rows
    assert speed.unique_images(picked) == sorted({p for a, b, _ in picked for p in (a, b)})


def test_pairs_csv_is_what_bench_reads(tmp_path: Path) -> None:
    speed = _speed()
    dataset = scan(SAMPLE)
    images = [img.rel for img in dataset.images]
    rows = [(images[0], images[1], True), (images[0], images[-1], False)]
    speed.write_pairs_csv(rows, tmp_path / "pairs.csv")
    pairs = read_pairs(dataset, tmp_path / "pairs.csv")
    assert list(pairs.same) == [True, False]
    assert [dataset.images[i].rel for i in pairs.right] == [images[1], images[-1]]


def test_extrapolation_ratios_and_work() -> None:
    speed = _speed()
    deepface = {
        "import_s": 4.0,
        "load_s": {"model:Dlib": 1.0},
        "combos": [{"calls": 5, "seconds": 2.5, "mean_call_s": 0.5}, {"calls": 5, "seconds": 5.0, "mean_call_s": 1.0}],
    }
    e = speed.extrapolate(deepface, 1000)
    assert e["extrapolated"] is True
    assert e["full_calls"] == 2000 and e["timed_calls"] == 10
    assert e["full_calls_wall_s"] == pytest.approx(1500.0)
    assert e["wall_s"] == pytest.approx(1505.0)
    r = speed.ratios({"deepface": 2000.0, "bench_cold": 100.0, "floor": 90.0, "bench_warm": 6.0})
    assert r["deepface / bench_cold"]["met"] is True
    assert r["bench_cold / floor"]["met"] is True
    assert r["bench_warm / bench_cold"]["met"] is False
    assert (
        speed.ratios({"deepface": None, "bench_cold": 1.0, "floor": 1.0, "bench_warm": 0.01})["deepface / bench_cold"][
            "met"
        ]
        is None
    )
    w = speed.work_counts(1000, 1549, ["Dlib", "SFace"], ["opencv", "yunet"], list(speed.METRICS))
    assert w["deepface_verify_calls"] == 16000
    assert w["floor_detections"] == 3098 and w["floor_forward_passes"] == 6196


def test_scaling_points_and_standard_error(tmp_path: Path) -> None:
    speed = _speed()
    rows = [(f"A/A_{i:04d}.jpg", f"B/B_{i:04d}.jpg", i % 2 == 0) for i in range(100)]
    points = speed.scaling_points(rows, [0.25, 0.5, 1.0], seed=0)
    assert [len(p) for p in points] == [25, 50, 100] and points[-1] == rows
    assert speed.scaling_points(rows[:12], [0.25], 0)[0] == speed.choose_pairs(rows[:12], 10, 0)  # at least 10
    deepface = {
        "import_s": 0.0,
        "load_s": {},
        "combos": [{"calls": 4, "seconds": 4.0, "mean_call_s": 1.0, "call_s": [0.5, 1.5, 0.5, 1.5]}],
    }
    e = speed.extrapolate(deepface, 10)
    # total 10 s; variance of the mean call 1/3 / 4, scaled by 10^2: sd = sqrt(100 / 12)
    assert e["relative_standard_error"] == pytest.approx(round((100 / 12) ** 0.5 / 10, 4))


def test_same_bytes_compares_every_cache_entry(tmp_path: Path) -> None:
    speed = _speed()
    one, two = np.ones((1, 4), np.float32), np.full((1, 4), 2, np.float32)
    for name in ("a", "b"):
        Store(tmp_path / name).put_vectors("x", ["1"], one)
        (tmp_path / name / "timings").mkdir()
        (tmp_path / name / "timings" / "x.json").write_text(name)  # measurements may differ
    assert speed.same_bytes(tmp_path / "a", tmp_path / "b")["identical"] is True
    shutil.rmtree(tmp_path / "b" / "embeddings")
    Store(tmp_path / "b").put_vectors("x", ["1", "2"], np.concatenate([two, two]))  # packed otherwise: same keys
    found = speed.same_bytes(tmp_path / "a", tmp_path / "b")
    assert found["identical"] is False and found["differ"] == ["embeddings/x/1"]
    assert found["only_in_one"] == ["embeddings/x/2"]
