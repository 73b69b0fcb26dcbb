"""benchmarks/leaderboard.py: the Pareto front and the View 2 choice (fast), the script end to end (slow)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from tests.conftest import REPO, SAMPLE, needs_weights


def _board() -> Any:
    spec = importlib.util.spec_from_file_location("leaderboard", REPO / "benchmarks" / "leaderboard.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("leaderboard", module)  # its dataclass looks its module up while being defined
    spec.loader.exec_module(module)
    return sys.modules["leaderboard"]


def test_pareto_front() -> None:
    board = _board()
    cost = [1.0, 2.0, 3.0, 2.0, 5.0, np.nan, 1.0]
    value = [0.90, 0.95, 0.94, 0.95, 0.99, 1.00, 0.80]
    # 0: cheapest at 0.90 (6 is as cheap but worse); 1 and 3 tie (neither beats the other); 2 is beaten by 1;
    # 4 is the best; 5 has no cost (never on the front); 6 is beaten by 0
    assert board.pareto(cost, value).tolist() == [True, True, False, True, True, False, False]
    assert board.pareto([], []).tolist() == []


def _row(model: str, detector: str, acc: float, ms: float) -> dict[str, Any]:
    return {"stage": "devtest", "model": model, "detector": detector, "acc": acc, "ms_per_face": ms,
            "acc_lo": acc - 0.01, "acc_hi": acc + 0.01}  # fmt: skip


def test_view2_takes_each_models_best_detector_and_the_reference() -> None:
    board = _board()
    frame = pd.DataFrame(
        [_row("A", "opencv", 0.95, 10), _row("A", "yunet", 0.97, 20), _row("A", "retinaface-mnet", 0.97, 15),
         _row("B", "opencv", 0.90, 5), _row("B", "retinaface-mnet", 0.93, 9)]
    )  # fmt: skip
    cells = board.view2_cells(frame, "lfw")
    assert [(c.model, c.detector) for c in cells] == [("A", "retinaface-mnet"), ("B", "retinaface-mnet")]
    ranked = board.ranked(frame)
    assert ranked.iloc[0].model == "A" and ranked.iloc[0].detector == "retinaface-mnet"  # tie on acc: name order
    top = ranked[ranked.model == "A"]
    assert top.group.str.contains("a").all()  # 0.95..0.97 with +-0.01 intervals: yunet and mnet overlap
    assert ranked.set_index(["model", "detector"]).pareto.to_dict() == {
        ("A", "retinaface-mnet"): True, ("A", "yunet"): False, ("A", "opencv"): True,
        ("B", "opencv"): True, ("B", "retinaface-mnet"): True}  # fmt: skip


def test_a_model_can_be_limited_to_some_detectors_and_flips_kept_off_view2() -> None:
    board = _board()
    cells = board.grid_cells("lfw-devtest", ["A", "A+flip@retinaface-mnet/yunet"], ["opencv", "retinaface-mnet"])
    assert [(c.model, c.detector) for c in cells] == [
        ("A", "opencv"), ("A", "retinaface-mnet"), ("A+flip", "retinaface-mnet"), ("A+flip", "yunet")]  # fmt: skip
    frame = pd.DataFrame([_row("A", "opencv", 0.95, 10), _row("A+flip", "retinaface-mnet", 0.96, 20)])
    assert [c.model for c in board.view2_cells(frame, "lfw")] == ["A", "A+flip"]
    assert [c.model for c in board.view2_cells(frame, "lfw", flip=False)] == ["A"]


@needs_weights
def test_small_grid_writes_the_three_files_and_resumes(tmp_path: Path) -> None:
    board = _board()
    args = ["--grid", "small", "--devtest", str(SAMPLE), "--view2", str(SAMPLE), "--out", str(tmp_path)]
    assert board.main(args) == 0
    table = pd.read_csv(tmp_path / "leaderboard-lfw.csv")
    assert len(table) == 3  # SFace x (opencv, retinaface-mnet) + View 2 once (best detector is retinaface-mnet)
    assert set(table.stage) == {"devtest", "view2"} and table.pareto.any()
    assert (table.acc > 0.85).all() and table.ms_per_face.notna().all()
    assert table.deepface_measured.tolist() == pytest.approx([93.0] * 3)
    text = (tmp_path / "leaderboard-lfw.md").read_text()
    assert "SFace | retinaface-mnet" in text and "![accuracy" in text
    assert (tmp_path / "leaderboard-lfw.png").stat().st_size > 10_000
    before = (tmp_path / "leaderboard-runs" / "devtest-SFace-opencv" / "manifest.json").stat().st_mtime
    assert board.main(args) == 0  # finished cells are read back, not rerun
    after = (tmp_path / "leaderboard-runs" / "devtest-SFace-opencv" / "manifest.json").stat().st_mtime
    assert before == after and pd.read_csv(tmp_path / "leaderboard-lfw.csv").equals(table)
