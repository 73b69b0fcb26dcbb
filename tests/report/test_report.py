"""The HTML report and run comparison, from saved run folders only."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bench.report.compare import table_deltas
from bench.report.webpage import speed
from tests.conftest import SAMPLE, bench, needs_weights

HOSTILE_ID = "<script>alert(1)"  # a folder name cannot hold "/", so not "</script>"; the opening tag is the attack
HOSTILE_FILE = "<img src=x onerror=alert(2)>.jpg"


def test_speed_per_model_and_detector_from_timings() -> None:
    manifest = {
        "timings": {
            "detect:opencv": {"computed": 10, "ms_per_item": 20.0},
            "detect:yunet": {"computed": 0, "ms_per_item": 0.0},
            "embed:Dlib": {"computed": 10, "ms_per_item": 100.0},
        }
    }
    table = speed(manifest).set_index("detector")
    assert table.loc["opencv", "total_ms_per_face"] == 120.0 and table.loc["opencv", "faces_timed_this_run"] == 10
    assert table.loc["opencv", "timed_by"] == "this run"
    assert pd.isna(table.loc["yunet", "total_ms_per_face"])  # all cached, the cache kept no timing: not a zero


@pytest.fixture(scope="module")
def hostile_runs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("report")
    data = root / "data"
    for name in ("Colin_Powell", "Hugo_Chavez"):
        shutil.copytree(SAMPLE / name, data / name)
    shutil.copytree(SAMPLE / "Serena_Williams", data / HOSTILE_ID)
    (data / "Hugo_Chavez" / HOSTILE_FILE).write_bytes(b"not an image")  # lands in failures.csv by name
    common = ("--model", "Dlib", "--backend", "opencv", "--o", str(root / "runs"))
    code, text = bench("similarity", "--i", str(data), *common, "--run-id", "sim")
    assert code == 0, text
    for run_id, seed in (("a", "0"), ("b", "1")):
        code, text = bench(
            "accuracy", "--i", str(data), *common, "--metric", "cosine", "--n", "60", "--seed", seed, "--run-id", run_id
        )
        assert code == 0, text
    return root / "runs"


@needs_weights
def test_report_is_self_contained_and_escapes_names(hostile_runs: Path) -> None:
    out = hostile_runs / "report.html"
    code, text = bench("report", str(hostile_runs / "sim"), str(hostile_runs / "a"), "--o", str(out))
    assert code == 0, text
    page = out.read_text()
    assert "&lt;script&gt;alert(1)" in page and "&lt;img src=x onerror=alert(2)&gt;.jpg" in page
    assert "<script" not in page.lower() and "<img src=x" not in page
    assert page.count("data:image/png;base64,") >= 3  # similarity heatmap, ROC, distances
    assert not re.search(r"(src|href)=['\"](?!data:|#)", page)  # nothing fetched from elsewhere
    assert "ms per face" in page and "total_ms_per_face" in page


@needs_weights
def test_compare_prints_metric_deltas_and_changed_options(hostile_runs: Path) -> None:
    code, text = bench("compare", str(hostile_runs / "a"), str(hostile_runs / "b"))
    assert code == 0, text
    assert "seed: 0 -> 1" in text and "accuracy.csv:" in text and "acc_kfold_mean" in text
    assert re.search(r"Dlib\s+opencv\s+cosine\s+auc\s+\S+\s+\S+\s+[+-]\d", text)
    code, text = bench("compare", str(hostile_runs / "a"), str(hostile_runs / "a"))
    assert "settings: unchanged" in text and "accuracy.csv: 0 figure(s) changed" in text
    code, text = bench("compare", str(hostile_runs / "a"), str(hostile_runs))
    assert code == 1 and "is not a run folder" in text


def test_compare_marks_a_change_within_the_tables_own_interval() -> None:
    a = pd.DataFrame(
        {
            "model": ["m1", "m2", "m3"],
            "fnmr": [0.10, 0.20, 0.30],
            "fnmr_lo": [0.08, 0.18, np.nan],
            "fnmr_hi": [0.12, 0.22, np.nan],
            "acc_kfold_mean": [0.90, 0.80, 0.70],
            "acc_kfold_lo": [0.88, 0.78, 0.68],
            "acc_kfold_hi": [0.92, 0.82, 0.72],
            "auc": [0.9, 0.9, 0.9],
        }
    )
    b = a.assign(fnmr=[0.11, 0.30, 0.31], fnmr_lo=[0.09, 0.28, 0.29], fnmr_hi=[0.13, 0.32, 0.33], auc=0.95)
    b = b.assign(acc_kfold_mean=[0.95, 0.80, 0.71], acc_kfold_lo=[0.94, 0.78, 0.70], acc_kfold_hi=[0.96, 0.82, 0.72])
    deltas, _ = table_deltas(a, b, ["model"], ["fnmr", "acc_kfold_mean", "auc"])
    got = {(r.model, r.figure): r.distinguishable for r in deltas.itertuples()}
    assert got[("m1", "fnmr")] == "no" and got[("m2", "fnmr")] == "yes" and got[("m3", "fnmr")] == ""
    assert got[("m1", "acc_kfold_mean")] == "yes" and got[("m3", "acc_kfold_mean")] == "no"
    assert got[("m1", "auc")] == "" and ("m2", "acc_kfold_mean") not in got
    assert table_deltas(pd.DataFrame(), pd.DataFrame(), ["model"])[0].empty  # an empty table (e.g. transfer.csv)
