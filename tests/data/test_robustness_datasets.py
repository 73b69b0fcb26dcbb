"""Named robustness datasets: reference (original.*) pairs and results relative to a clean baseline."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from click.testing import CliRunner
from PIL import Image

from bench.data.datasets import reference_pairs, scan
from bench.interface.cli import main
from tests.conftest import SAMPLE, needs_weights


def _build(root: Path, angle: int) -> None:
    """Per identity: the first sample image as original.jpg, the others rotated by ``angle`` degrees."""
    for folder in sorted(p for p in SAMPLE.iterdir() if p.is_dir()):
        images = sorted(folder.glob("*.jpg"))
        (root / folder.name).mkdir(parents=True)
        Image.open(images[0]).save(root / folder.name / "original.jpg", quality=100)
        for path in images[1:]:
            Image.open(path).rotate(angle).save(root / folder.name / path.name, quality=100)


def test_reference_pairs_pair_every_image_with_originals(tmp_path: Path) -> None:
    _build(tmp_path / "clean", 0)
    data = scan(tmp_path / "clean")
    pairs = reference_pairs(data, seed=1)
    assert len(pairs) == 2 * 6 * 5 and pairs.same.sum() == 30
    for a, b, same in zip(pairs.left, pairs.right, pairs.same):
        assert Path(data.images[a].rel).stem == "original" and Path(data.images[b].rel).stem != "original"
        assert (data.images[a].identity == data.images[b].identity) == same


@needs_weights
def test_rotated_set_reports_its_drop_from_the_clean_baseline(tmp_path: Path) -> None:
    _build(tmp_path / "clean", 0)
    _build(tmp_path / "rotated", 45)
    catalog = tmp_path / "datasets.yaml"
    catalog.write_text("datasets:\n  clean:\n    root: clean\n  rotated:\n    root: rotated\n    baseline: clean\n")
    result = CliRunner().invoke(
        main,
        [
            "-q",
            "--datasets",
            str(catalog),
            "accuracy",
            "--dataset",
            "rotated",
            "--model",
            "Dlib",
            "--backend",
            "opencv",
            "--metric",
            "cosine",
            "--o",
            str(tmp_path / "out"),
            "--run-id",
            "r",
        ],
    )
    assert result.exit_code == 0, result.output
    table = pd.read_csv(tmp_path / "out" / "r" / "accuracy.csv")
    rotated = table[table.dataset == "rotated"].iloc[0]
    clean = table[(table.dataset == "clean") & (table.subset == "baseline")].iloc[0]
    assert rotated.baseline_dataset == "clean" and rotated.n_pairs_listed == 60
    assert rotated.acc_drop_vs_baseline == clean.acc_kfold_mean - rotated.acc_kfold_mean
    assert rotated.acc_drop_vs_baseline > 0.05  # 45° in-plane rotation defeats the Haar detector
