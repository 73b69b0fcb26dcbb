"""The example third-party package under examples/ registers through the `bench` entry point like a real dist."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from bench import plugins
from bench.interface.cli import main
from tests.conftest import REPO, SAMPLE

EXAMPLE = REPO / "examples" / "facebench-lbp"


@pytest.fixture()
def installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """What `pip install examples/facebench-lbp` leaves in site-packages: the package and its dist-info."""
    site = tmp_path / "site"
    shutil.copytree(EXAMPLE / "facebench_lbp", site / "facebench_lbp")
    info = site / "facebench_lbp-0.1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: facebench-lbp\nVersion: 0.1.0\n")
    (info / "entry_points.txt").write_text("[bench]\nlbp = facebench_lbp\n")
    monkeypatch.syspath_prepend(str(site))
    yield site
    sys.modules.pop("facebench_lbp", None)


def test_entry_point_registers_the_recognizer(installed: Path) -> None:
    registry = plugins.load()
    spec = registry.recognizers.get("LBP")
    assert spec.dim == 7 * 7 * 59 and spec.plugin.startswith("lbp")


def test_example_recognizer_runs_in_a_sweep(installed: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main,
        [
            "-q",
            "accuracy",
            "--i",
            str(SAMPLE),
            "--model",
            "LBP",
            "--backend",
            "retinaface-mnet",
            "--metric",
            "cosine",
            "--o",
            str(tmp_path),
            "--run-id",
            "lbp",
        ],
    )
    assert result.exit_code == 0, result.output
    row = pd.read_csv(tmp_path / "lbp" / "accuracy.csv").iloc[0]
    assert row.model == "LBP" and row.n_pairs_scored == 180
    assert row.auc > 0.58  # a weak but real descriptor (AUC 0.65 here): better than chance on real faces
