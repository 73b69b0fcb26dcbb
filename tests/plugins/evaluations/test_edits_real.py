"""``bench edits`` and ``bench accuracy`` on the real rotation set (54 images, 7 persons) with a real model."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import SHARED, bench, needs_weights

ROTATION = SHARED / "data" / "robustness" / "rotation"


@needs_weights
@pytest.mark.skipif(not ROTATION.is_dir(), reason=f"no robustness sets in {ROTATION.parent}")
def test_edits_on_the_real_rotation_set(tmp_path: Path) -> None:
    common = ["--model", "SFace", "--backend", "yunet", "--o", str(tmp_path)]
    code, output = bench("edits", "--dataset", "rotation", "--baseline", "sample", "--run-id", "e", *common)
    assert code == 0, output
    table = pd.read_csv(tmp_path / "e" / "edits.csv")
    assert (table.n_persons == 7).all() and (table.n_genuine == table.n_impostor).all()
    assert table.tar_lfw.between(0, 1).all() and (table.tar_lfw_lo <= table.tar_lfw_hi).all()
    edits = set(pd.read_csv(tmp_path / "e" / "edits_by_edit.csv").edit)
    assert edits == {"frontalized", "pose re-rendered"}
    code, output = bench("accuracy", "--dataset", "rotation", "--run-id", "a", *common)
    assert code == 0, output
    accuracy = pd.read_csv(tmp_path / "a" / "accuracy.csv")
    assert accuracy.n_pairs_listed.iloc[0] == 2 * table.n_genuine.iloc[0]
    assert 0.5 < accuracy.acc_kfold_mean.iloc[0] <= 1
