"""Quality scores and quality-filtered accuracy."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from click.testing import CliRunner

from bench.compute import quality
from bench.data.datasets import Pairs
from bench.data.faces import Face
from bench.interface.cli import main
from bench.run.variants import jpeg
from tests.conftest import SAMPLE, needs_weights


def test_sharpness_falls_with_blur_and_ignores_outside_the_box() -> None:
    import cv2

    rng = np.random.default_rng(0)
    image = rng.integers(0, 255, (80, 80, 3), dtype=np.uint8)
    face = Face(10, 10, 40, 40)
    blurred = cv2.GaussianBlur(image, (0, 0), 3)
    assert quality.sharpness(blurred, face) < quality.sharpness(image, face) / 10
    outside = image.copy()
    outside[60:] = 0
    assert quality.sharpness(outside, face) == quality.sharpness(image, face)
    assert quality.sharpness(image, Face(-20, -20, 30, 30)) > 0  # clipped to the image


def test_jpeg_variant_keeps_shape_and_loses_detail() -> None:
    image = np.random.default_rng(0).integers(0, 255, (80, 80, 3), dtype=np.uint8)
    coarse = jpeg(image, 5)
    assert coarse.shape == image.shape and np.abs(coarse.astype(int) - image).mean() > 10


def test_lowest_and_without() -> None:
    scores = pd.Series([0.9, 0.0, 0.7, 0.6, 0.8, 0.95, 0.55, 0.65, 0.75, 0.85])
    mask = quality.lowest(scores, 20, [f"img{k}" for k in range(10)])
    assert list(np.flatnonzero(mask)) == [1, 6]
    pairs = Pairs(
        np.array([0, 1, 2, 3]), np.array([6, 2, 3, 4]), np.array([True, False, True, False]), np.array([0, 1, 0, 1])
    )
    kept = quality.without(pairs, mask)
    assert list(kept.left) == [2, 3] and list(kept.folds) == [0, 1]


def test_lowest_drops_equal_qualities_by_name_in_any_order() -> None:
    names = np.array([f"id{k % 3}/img{k}.jpg" for k in range(12)])
    scores = pd.Series(np.r_[np.zeros(7), np.linspace(0.6, 1, 5)])  # 7 images without a face tie at 0
    for seed in range(5):
        order = np.random.default_rng(seed).permutation(12)
        mask = quality.lowest(scores.iloc[order].reset_index(drop=True), 25, names[order])
        assert sorted(names[order][mask]) == ["id0/img0.jpg", "id0/img3.jpg", "id0/img6.jpg"]


@needs_weights
def test_accuracy_reports_filtered_beside_unfiltered(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main,
        [
            "-q",
            "accuracy",
            "--i",
            str(SAMPLE),
            "--model",
            "Dlib",
            "--backend",
            "opencv",
            "--metric",
            "cosine,euclidean",
            "--drop-lowest-quality",
            "20",
            "--o",
            str(tmp_path),
            "--run-id",
            "q",
        ],
    )
    assert result.exit_code == 0, result.output
    run = tmp_path / "q"
    table = pd.read_csv(run / "accuracy.csv").set_index(["subset", "metric"])
    assert set(table.index.get_level_values(0)) == {"all", "drop lowest 20% quality"}
    filtered = table.loc[("drop lowest 20% quality", "cosine")]
    assert filtered.n_images_dropped_quality == 7  # 20% of 36 images
    assert 60 < filtered.n_pairs_listed < table.loc[("all", "cosine")].n_pairs_listed == 180
    measured = pd.read_csv(run / "quality.csv")
    assert len(measured) == 36 and measured.dropped.sum() == 7
    assert measured[measured.dropped].quality.max() <= measured[~measured.dropped].quality.min()
    assert measured.sharpness.gt(0).all() and measured.face_px.gt(20).all()
    assert (run / "pivot_acc_kfold_mean_sample_cosine.csv").is_file()
    assert (run / "pivot_acc_kfold_mean_sample_cosine_drop-lowest-20-quality.csv").is_file()
    assert "drop lowest 20% quality" in result.output
