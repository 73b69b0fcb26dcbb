"""``bench quality`` and ``bench audit`` end to end on the sample with real weights."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from bench.interface.cli import main
from tests.conftest import SAMPLE, needs_weights


@needs_weights
@pytest.mark.slow
def test_quality_writes_curves_pauc_ranking_and_a_plot_per_combination(tmp_path: Path) -> None:
    args = [
        "-q",
        "quality",
        "--i",
        str(SAMPLE),
        "--model",
        "FaceRes",
        "--backend",
        "retinaface-mnet",
        "--measures",
        "sharpness,yaw,feature_norm,confidence,face_size",
        "--o",
        str(tmp_path),
        "--run-id",
        "q",
    ]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    run = tmp_path / "q"
    pauc = pd.read_csv(run / "edc_pauc.csv")
    assert set(pauc.measure) == {"sharpness", "yaw", "feature_norm", "confidence", "face_size", "combined"}
    assert pauc["rank"].iloc[0] == 1 and pauc["rank"].is_monotonic_increasing and pauc.group.notna().all()
    assert (pauc.pauc_fnmr_lo <= pauc.pauc_fnmr_hi).all() and (pauc.threshold_rule == "FNMR 0.1").all()
    assert (pauc.pauc_fnmr >= pauc.pauc_fnmr_ideal - 1e-12).all()
    curves = pd.read_csv(run / "edc.csv")
    start = curves[curves.discard == 0]
    assert (start.fnmr == pauc.start_fnmr.iloc[0]).all()  # every measure starts at the one fixed threshold
    assert len(pd.read_csv(run / "edc_ranking.csv")) == 6
    assert (run / "edc_sample_FaceRes_retinaface-mnet_cosine.png").is_file()
    assert len(pd.read_csv(run / "image_quality.csv")) == 36
    assert "pAUC" in result.output
    at_fmr = CliRunner().invoke(main, [*args[:-1], "fmr", "--measures", "sharpness", "--edc-fmr", "0.05"])
    assert at_fmr.exit_code == 0, at_fmr.output
    row = pd.read_csv(tmp_path / "fmr" / "edc_pauc.csv").set_index("measure").loc["sharpness"]
    assert row.threshold_rule == "FMR 0.05" and row.start_fmr <= 0.05


@needs_weights
@pytest.mark.slow
def test_audit_command_finds_a_copy_filed_under_two_names(tmp_path: Path) -> None:
    root = tmp_path / "data"
    shutil.copytree(SAMPLE, root)
    folders = sorted(p for p in root.iterdir() if p.is_dir())
    source = min(folders[0].glob("*.jpg"))
    shutil.copy(source, folders[1] / "copy.jpg")
    args = [
        "-q",
        "audit",
        "--i",
        str(root),
        "--model",
        "FaceRes",
        "--backend",
        "retinaface-mnet",
        "--o",
        str(tmp_path),
        "--run-id",
        "a",
    ]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    table = pd.read_csv(tmp_path / "a" / "audit.csv")
    duplicates = table[table.kind == "near_duplicate"]
    assert f"{folders[1].name}/copy.jpg" in set(duplicates.image) | set(duplicates.other_image)
    assert table[table.kind == "mislabel_suspect"].image.iloc[0] == f"{folders[1].name}/copy.jpg"
    assert (tmp_path / "a" / "audit_data_FaceRes_retinaface-mnet.html").is_file()
