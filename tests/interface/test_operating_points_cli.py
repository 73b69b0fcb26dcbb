"""`bench operating` / `bench calibrate` on real images and weights: figures checked by hand from scores.csv."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from bench.interface.cli import main
from tests.conftest import SAMPLE, needs_weights

pytestmark = [pytest.mark.slow, needs_weights]
COMBO = ["--i", str(SAMPLE), "--model", "SFace", "--backend", "retinaface-mnet", "--metric", "cosine"]


def _bench(*args: str) -> str:
    result = CliRunner().invoke(main, ["-q", *args])
    assert result.exit_code == 0, result.output
    return result.output


def _by_hand(distance: np.ndarray, same: np.ndarray, fmr: float) -> tuple[float, float, int]:
    """(achieved FMR, FNMR, false matches): reject every distance >= the (k+1)-th smallest impostor distance."""
    impostors = np.sort(distance[~same])
    k = int(np.floor(fmr * len(impostors) + 1e-9))
    cut = impostors[k] if k < len(impostors) else np.inf
    accepted = distance < cut
    return float((accepted & ~same).sum() / (~same).sum()), float((~accepted & same).sum() / same.sum()), k


def test_operating_points_agree_with_scores_csv(tmp_path: Path) -> None:
    _bench("accuracy", *COMBO, "--eval", "operating", "--o", str(tmp_path), "--run-id", "r")
    run = tmp_path / "r"
    scores = pd.read_csv(run / "scores.csv")
    points = pd.read_csv(run / "operating_points.csv")
    distance, same = scores.score.to_numpy(), scores.same.to_numpy().astype(bool)
    assert len(points) == 6
    for row in points.itertuples():
        fmr, fnmr, _ = _by_hand(distance, same, row.fmr_target)
        assert (row.fmr, row.fnmr) == pytest.approx((fmr, fnmr))
        assert row.fmr <= row.fmr_target
        assert row.n_impostor == (~same).sum() and row.n_genuine == same.sum()
        assert row.insufficient == (row.n_impostor < 10 / row.fmr_target)
        assert row.fnmr_lo <= row.fnmr <= row.fnmr_hi
    assert (run / "card.html").is_file() and (run / "card.md").is_file()
    assert (run / "det_sample_all_cosine.png").is_file() and (run / "pareto_sample_all_cosine.png").is_file()
    efficiency = pd.read_csv(run / "efficiency.csv").iloc[0]
    assert efficiency.template_bytes == 128 * 4 and efficiency.us_per_comparison > 0
    assert efficiency.ms_per_face > 0  # from the cache's timings even when the items were cached


def test_calibrate_then_transfer(tmp_path: Path) -> None:
    _bench("calibrate", *COMBO, "--bootstrap", "50", "--at-fmr", "1e-1", "--o", str(tmp_path), "--run-id", "cal")
    out = _bench(
        "operating",
        *COMBO,
        "--bootstrap",
        "50",
        "--at-fmr",
        "1e-1",
        "--threshold-from",
        str(tmp_path / "cal"),
        "--o",
        str(tmp_path),
        "--run-id",
        "eval",
    )
    assert "thresholds transferred" in out
    calibrated = pd.read_csv(tmp_path / "cal" / "operating_points.csv")
    transfer = pd.read_csv(tmp_path / "eval" / "transfer.csv").iloc[0]
    own = calibrated[np.isclose(calibrated.fmr_target, 0.1)].iloc[0]
    # Same pairs on both sides: the transferred threshold reproduces the calibration figures exactly.
    assert transfer.threshold == pytest.approx(own.threshold)
    assert (transfer.fmr, transfer.fnmr) == pytest.approx((own.fmr, own.fnmr))
    manifest = json.loads((tmp_path / "eval" / "manifest.json").read_text())
    assert manifest["calibration"]["run"].endswith("cal")


def test_subject_split_transfer(tmp_path: Path) -> None:
    _bench(
        "operating",
        *COMBO,
        "--bootstrap",
        "0",
        "--split-by-subject",
        "0.5",
        "--at-fmr",
        "1e-1",
        "--o",
        str(tmp_path),
        "--run-id",
        "split",
    )
    run = tmp_path / "split"
    manifest = json.loads((run / "manifest.json").read_text())
    split = manifest["subject_split"]
    assert split["dev_pairs"] + split["eval_pairs"] + split["dropped_cross_pairs"] == 180
    points = pd.read_csv(run / "operating_points.csv")
    assert set(points.subset) == {"dev", "eval"} and points.fnmr_lo.isna().all()  # --bootstrap 0: no intervals
    transfer = pd.read_csv(run / "transfer.csv")
    assert set(transfer.subset) == {"eval"} and transfer.calibration.str.contains("dev").all()


def test_unknown_threshold_source_is_one_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main, ["-q", "operating", *COMBO, "--threshold-from", str(tmp_path), "--o", str(tmp_path / "o")]
    )
    assert result.exit_code == 1 and "Traceback" not in result.output
