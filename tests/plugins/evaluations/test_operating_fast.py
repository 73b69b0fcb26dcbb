"""`bench operating` / `bench calibrate` plumbing with the fake plugins (fast tier): tables, plots, card, transfer."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import bench, bench_fakes
from tests.fakes.fake_models import make_dataset


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_dataset(tmp_path_factory.mktemp("op") / "data", identities=6, per_identity=4)


def _run(command: str, data: Path, out: Path, *args: str) -> str:
    code, text = bench_fakes(command, data, out, "--metric", "cosine", "--bootstrap", "30", *args)
    assert code == 0, text
    return text


def test_operating_writes_tables_plots_and_card(data: Path, tmp_path: Path) -> None:
    text = _run("operating", data, tmp_path, "--run-id", "op", "--n", "120", "--latency-budget-ms", "60")
    run = tmp_path / "op"
    points = pd.read_csv(run / "operating_points.csv")
    assert list(points.fmr_target) == [1e-1, 1e-2, 1e-3, 1e-4, 1e-5, 1e-6]
    assert (points.fmr <= points.fmr_target).all() and points.insufficient.iloc[1:].all()
    manifest = json.loads((run / "manifest.json").read_text())
    assert {"operating_points", "thresholds", "efficiency", "failures_by_cause"} <= set(manifest["tables"])
    assert {"det_data_all_cosine.png", "pareto_data_all_cosine.png"} <= set(manifest["plots"])
    assert "card.html" in manifest["card"] and (run / "card.md").is_file()
    n_impostor = int(points.n_impostor.iloc[0])
    assert f"the lowest supported FMR is {10 / n_impostor:.2g} (10/{n_impostor})" in text  # one sentence, no rows
    assert "1e-06 " not in text and "flagged insufficient" in text
    code, page = bench("report", str(run), "--o", str(tmp_path / "report.html"))
    assert code == 0, page
    assert "FNMR at fixed FMR" in (tmp_path / "report.html").read_text()


def test_calibrate_then_threshold_from_run(data: Path, tmp_path: Path) -> None:
    _run("calibrate", data, tmp_path, "--run-id", "cal", "--n", "120", "--at-fmr", "1e-1")
    text = _run(
        "operating",
        data,
        tmp_path,
        "--run-id",
        "ev",
        "--n",
        "120",
        "--seed",
        "1",
        "--at-fmr",
        "1e-1",
        "--threshold-from",
        str(tmp_path / "cal"),
    )
    transfer = pd.read_csv(tmp_path / "ev" / "transfer.csv")
    assert len(transfer) == 1 and transfer.calibration.iloc[0].endswith("run cal)")
    assert "thresholds transferred" in text


def test_threshold_from_a_run_without_operating_points_fails_in_one_line(data: Path, tmp_path: Path) -> None:
    code, text = bench_fakes("accuracy", data, tmp_path, "--run-id", "acc", "--n", "40", "--metric", "cosine")
    assert code == 0, text
    args = ("--n", "40", "--metric", "cosine", "--threshold-from", str(tmp_path / "acc"))
    code, text = bench_fakes("operating", data, tmp_path, *args)
    assert code == 1 and "no operating_points.csv" in text and "Traceback" not in text


def test_the_pareto_plot_moves_to_the_lowest_target_the_impostors_support() -> None:
    from facebench_plugins.evaluations.operating_points import _plotted_target

    def group(insufficient: dict[float, bool]) -> pd.DataFrame:
        return pd.DataFrame({"fmr_target": list(insufficient), "insufficient": list(insufficient.values())})

    assert _plotted_target(group({1e-3: False, 1e-2: False, 1e-1: False}), 1e-3) == 1e-3
    assert _plotted_target(group({1e-3: True, 1e-2: False, 1e-1: False}), 1e-3) == 1e-2
    assert _plotted_target(group({1e-3: True, 1e-2: True, 1e-1: True}), 1e-3) == 1e-1  # the least demanding
    assert _plotted_target(group({1e-2: False}), 1e-3) == 1e-3  # a target not evaluated: left as asked
