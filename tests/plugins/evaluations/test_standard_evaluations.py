"""`bench ijb`, `bench tinyface`, `bench rfw` and `bench accuracy` on the standard formats built from LFW, end to end
through the CLI with a real model (MobileFace)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from bench.data.datasets import Dataset, restrict, scan
from benchmarks.build_formats import (
    build_bin,
    build_ijb,
    build_rfw,
    build_tinyface,
    fold_subset,
    gender_groups,
    rfw_subset,
)
from facebench_plugins.detectors.given_detectors import template_face
from tests.conftest import LFW, bench, needs_lfw, needs_weights, read_pairs

pytestmark = [needs_lfw, needs_weights, pytest.mark.slow]


def _lfw_ab() -> Dataset:
    data = scan(LFW)
    return Dataset(
        "lfw-ab", LFW, [img for img in data.images if img.identity.startswith(("A", "B"))], carries=data.carries
    )


def test_ijb_command_prints_every_supported_far(tmp_path: Path) -> None:
    data = _lfw_ab()
    build_ijb(data, [template_face(250, 250) for _ in data.images], tmp_path / "IJB", identities=12)
    code, out = bench(
        "ijb",
        "--i",
        str(tmp_path / "IJB"),
        "--model",
        "MobileFace",
        "--backend",
        "given",
        "--o",
        str(tmp_path / "runs"),
        "--run-id",
        "ijb",
    )
    assert code == 0, out
    (row,) = pd.read_csv(tmp_path / "runs" / "ijb" / "ijb.csv").to_dict("records")
    assert row["n_impostor"] == 132 and row["n_genuine"] == 12  # 12 x 11 impostor pairs: FAR >= 1/132
    assert pd.isna(row["tar_at_far_1e-03"]) and 0 <= row["tar_at_far_1e-01"] <= 1 and "tar_at_far_1e-01" in out


def test_tinyface_and_rfw_commands(tmp_path: Path) -> None:
    data = _lfw_ab()
    build_tinyface(data, tmp_path / "tinyface", identities=12)
    code, out = bench(
        "tinyface",
        "--i",
        str(tmp_path / "tinyface"),
        "--model",
        "MobileFace",
        "--backend",
        "retinaface-mnet",
        "--o",
        str(tmp_path / "runs"),
        "--run-id",
        "tiny",
    )
    assert code == 0, out
    (row,) = pd.read_csv(tmp_path / "runs" / "tiny" / "tinyface.csv").to_dict("records")
    assert row["n_gallery"] == 12 and 0.5 < row["rank1"] <= row["rank5"] <= row["rank20"] <= 1
    full = scan(LFW)
    sub, pairs = restrict(full, fold_subset(read_pairs(full, LFW / "pairs.txt"), 40))
    build_rfw(sub, *rfw_subset(sub, pairs, gender_groups(LFW)), tmp_path / "RFW")
    code, out = bench(
        "rfw",
        "--i",
        str(tmp_path / "RFW"),
        "--model",
        "MobileFace",
        "--backend",
        "retinaface-mnet",
        "--o",
        str(tmp_path / "runs"),
        "--run-id",
        "rfw",
    )
    assert code == 0, out
    groups = pd.read_csv(tmp_path / "runs" / "rfw" / "groups.csv")
    assert sorted(groups.group) == ["Female", "Male"] and groups.n_pairs.sum() > 100
    assert (groups.spread_max_gap == groups.acc_kfold_mean.max() - groups.acc_kfold_mean.min()).all()


def test_accuracy_on_a_bin_and_the_wrong_command(tmp_path: Path) -> None:
    full = scan(LFW)
    sub, pairs = restrict(full, fold_subset(read_pairs(full, LFW / "pairs.txt"), 5))
    build_bin(sub, pairs, [None] * len(sub.images), tmp_path / "lfw.bin")
    code, out = bench(
        "accuracy",
        "--i",
        str(tmp_path / "lfw.bin"),
        "--model",
        "MobileFace+flip",
        "--backend",
        "aligned",
        "--metric",
        "cosine",
        "--o",
        str(tmp_path / "runs"),
        "--run-id",
        "bin",
    )
    assert code == 0, out
    (row,) = pd.read_csv(tmp_path / "runs" / "bin" / "accuracy.csv").to_dict("records")
    assert row["model"] == "MobileFace+flip" and row["n_pairs_scored"] == 100 and row["n_folds"] == 10
    code, out = bench(
        "ijb",
        "--i",
        str(tmp_path / "lfw.bin"),
        "--model",
        "MobileFace",
        "--backend",
        "aligned",
        "--o",
        str(tmp_path / "runs"),
    )
    assert code == 1 and "bench ijb: lfw.bin carries pair labels but no templates; use bench accuracy" in out
