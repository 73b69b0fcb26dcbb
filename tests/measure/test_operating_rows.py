"""The operating-points evaluation's rows on synthetic scores: transfer, failures by cause, threshold table."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from bench.data.datasets import Dataset, Image
from bench.measure import operating
from facebench_plugins.evaluations.operating_points import (
    CalibrationError,
    Scored,
    _fmrs,
    evaluate_scores,
    failure_rows,
    ranked_points,
    transfer_rows,
)

METRIC = SimpleNamespace(name="euclidean", higher_is_more_similar=False)


def _scored(shift: float = 0.0, seed: int = 0) -> Scored:
    rng = np.random.default_rng(seed)
    same = np.r_[np.ones(400, bool), np.zeros(2000, bool)]
    distance = rng.normal(size=len(same)) + np.where(same, 0.0, 3.0) - shift
    left = rng.integers(0, 100, len(same))
    right = np.where(same, left, (left + 1 + rng.integers(0, 99, len(same))) % 100)
    return Scored(METRIC, distance, same, left, right, None, 410, 2000)  # type: ignore[arg-type]


def _thresholds(s: Scored, fmrs: tuple[float, ...]) -> dict[float, dict]:
    points, _ = evaluate_scores(s, fmrs, 0, 0)
    return {p["fmr_target"]: {**p, "calibration": "dev"} for p in points}


def test_transfer_to_the_same_scores_reproduces_the_calibration() -> None:
    s = _scored()
    rows = transfer_rows(s, _thresholds(s, (1e-2,)), n_boot=100, seed=0)
    (row,) = rows
    assert row["fmr"] == row["calibration_fmr"] <= 1e-2 and row["fnmr"] == row["calibration_fnmr"]
    assert row["fnmr"] == pytest.approx(row["own_fnmr"])
    assert row["fmr_lo"] <= row["fmr"] <= row["fmr_hi"]


def test_transfer_shows_drift_when_impostors_move_closer() -> None:
    dev, shifted = _scored(), _scored(shift=0.5, seed=1)  # eval distances 0.5 smaller: more false matches
    (row,) = transfer_rows(shifted, _thresholds(dev, (1e-2,)), n_boot=0, seed=0)
    assert row["fmr"] > 1e-2 and row["fmr_over_target"] > 1.5 and row["fmr_lo"] is None
    assert row["n_false_matches"] == round(row["fmr"] * 2000)


def test_generalised_rates_charge_unscored_pairs() -> None:
    s = _scored()  # 410 genuine and 2000 impostor pairs listed, 400 / 2000 scored
    points, summary = evaluate_scores(s, (1e-1,), 0, 0)
    (p,) = points
    assert p["gfmr"] == p["fmr"]
    assert p["gfnmr"] == pytest.approx(1 - (1 - p["fnmr"]) * 400 / 410)
    assert summary["n_subjects"] == 100 and summary["acc_kfold_lo"] is None


def test_failures_are_counted_once_per_image_and_cause() -> None:
    images = [Image(f"p/{i}.jpg", "p", Path(f"/x/{i}.jpg")) for i in range(10)]
    combo = SimpleNamespace(
        dataset=Dataset("d", Path("/x"), images, carries=frozenset()),
        detector=SimpleNamespace(name="det"),
        model=SimpleNamespace(name="M"),
    )
    record = {"dataset": "d", "detector": "det", "policy": "whole", "reason": ""}
    failures = [
        {**record, "model": "", "image": "p/0.jpg", "status": "no_face"},
        {**record, "model": "", "image": "p/0.jpg", "status": "no_face"},  # the same dataset swept twice
        {**record, "model": "", "image": "p/1.jpg", "status": "face_too_small"},
        {**record, "model": "M", "image": "p/2.jpg", "status": "embed_failed"},
        {**record, "model": "Other", "image": "p/3.jpg", "status": "embed_failed"},
        {**record, "model": "", "image": "q/elsewhere.jpg", "status": "unreadable"},
    ]
    ctx = SimpleNamespace(sweep=SimpleNamespace(failures=failures, pipeline=SimpleNamespace(policy="whole")))
    rows = {r["cause"]: r for r in failure_rows(ctx, combo)}  # type: ignore[arg-type]
    assert rows["no_face"]["n_images"] == 1 and rows["face_too_small"]["n_images"] == 1
    assert rows["embed_failed"]["n_images"] == 1 and rows["unreadable"]["n_images"] == 0
    assert rows["total (failure to acquire)"]["n_images"] == 3 and rows["total (failure to acquire)"]["rate"] == 0.3


def test_at_fmr_parsing() -> None:
    assert _fmrs("1e-2, 1e-3") == (1e-2, 1e-3)
    for bad in ("", "x", "0", "2"):
        with pytest.raises(CalibrationError):
            _fmrs(bad)


def test_threshold_at_fmr_matches_evaluate_scores() -> None:
    s = _scored()
    (p,), _ = evaluate_scores(s, (1e-2,), 0, 0)
    op = operating.threshold_at_fmr(s.scores, s.same, 1e-2, False)
    assert (p["threshold"], p["fmr"], p["fnmr"]) == (op.threshold, op.fmr, op.fnmr)


def test_models_are_ranked_by_fnmr_per_target_and_overlapping_intervals_share_a_rank() -> None:
    base = {"dataset": "d", "subset": "all", "metric": "cosine", "detector": "det"}
    rows = [  # at 1e-3: A and B overlap, C is clearly worse; at 1e-2 all three overlap
        {**base, "model": m, "fmr_target": t, "fnmr": f, "fnmr_lo": f - w, "fnmr_hi": f + w}
        for t, w in ((1e-3, 0.02), (1e-2, 0.5))
        for m, f in (("C", 0.5), ("B", 0.11), ("A", 0.1))
    ]
    got = ranked_points(pd.DataFrame(rows)).set_index(["fmr_target", "model"])
    assert got.loc[1e-3, "rank"].to_dict() == {"C": 3, "B": 1, "A": 1}
    assert got.loc[1e-3, "group"].to_dict() == {"C": "b", "B": "a", "A": "a"}
    assert set(got.loc[1e-2, "rank"]) == {1} and got.rank_rule.nunique() == 1
