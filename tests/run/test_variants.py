"""Robustness variants: the transforms, deterministic generation, and accuracy per variant on the sample."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bench.data.datasets import DatasetError, scan
from bench.run import variants
from tests.conftest import SAMPLE, bench, needs_weights, read_pairs


def test_rotation_keeps_the_whole_image() -> None:
    image = np.full((40, 100, 3), 200, np.uint8)
    assert variants.rotate(image, 90).shape == (100, 40, 3)
    turned = variants.rotate(image, 30)
    assert turned.shape[0] > 40 and turned.shape[1] > 100
    assert int(turned.sum()) == pytest.approx(int(image.sum()), rel=0.03)  # nothing cut off, border black
    assert turned[0, 0].tolist() == [0, 0, 0]
    back = variants.rotate(variants.rotate(image, 90), -90)
    assert back.shape == image.shape and np.abs(back.astype(int) - image).max() == 0


def test_select_by_name_or_family_always_keeps_clean() -> None:
    names = [v.name for v in variants.select("rotate,jpeg_q5")]
    assert names[0] == "clean" and "rotate_-90" in names and "jpeg_q5" in names and "jpeg_q20" not in names
    assert len(variants.select(None)) >= 23
    with pytest.raises(DatasetError, match="unknown variant rotat; known"):
        variants.select("rotat")


def test_generation_is_deterministic_and_maps_the_pairs(tmp_path: Path) -> None:
    out_a, out_b = tmp_path / "a", tmp_path / "b"
    for out in (out_a, out_b):
        assert (
            bench("variants", "--i", str(SAMPLE), "--to", str(out), "--n", "10", "--only", "noise_s25,occlude")[0] == 0
        )
    manifest = json.loads((out_a / "variants.json").read_text())
    assert [v["name"] for v in manifest["variants"]] == ["clean", "noise_s25", "occlude_eyes", "occlude_lower"]
    files = sorted(p.relative_to(out_a) for p in out_a.rglob("*.jpg"))
    assert files and all((out_a / f).read_bytes() == (out_b / f).read_bytes() for f in files)
    clean = scan(out_a / "clean")
    noisy = scan(out_a / "noise_s25")
    assert [i.rel for i in clean.images] == [i.rel for i in noisy.images]
    assert (out_a / "clean" / clean.images[0].rel).read_bytes() == (SAMPLE / clean.images[0].rel).read_bytes()
    assert len(read_pairs(noisy, out_a / "noise_s25" / "pairs.csv")) == 10
    stamp = (out_a / "noise_s25" / noisy.images[0].rel).stat().st_mtime_ns
    assert bench("variants", "--i", str(SAMPLE), "--to", str(out_a), "--n", "10", "--only", "noise_s25")[0] == 0
    assert (out_a / "noise_s25" / noisy.images[0].rel).stat().st_mtime_ns == stamp  # done already: not rewritten


@needs_weights
def test_evaluate_on_sample_rotation_hurts(tmp_path: Path) -> None:
    out = tmp_path / "v"
    code, text = bench(
        "variants",
        "--i",
        str(SAMPLE),
        "--to",
        str(out),
        "--only",
        "rotate_+90,blur_s1",
        "--n",
        "60",
        "--evaluate",
        "--model",
        "Dlib",
        "--backend",
        "opencv",
        "--o",
        str(tmp_path),
        "--run-id",
        "r",
    )
    assert code == 0, text
    table = pd.read_csv(tmp_path / "r" / "robustness.csv").set_index("variant")
    assert list(table.index) == ["clean", "rotate_+90", "blur_s1"]
    assert table.loc["clean", "acc_kfold_mean_drop"] == 0
    assert table.loc["rotate_+90", "acc_kfold_mean_drop"] > 0.15  # opencv finds few faces on their side
    assert abs(table.loc["blur_s1", "acc_kfold_mean_drop"]) < 0.1
    for name in ("rotation_cosine.png", "perturbations_cosine.png", "accuracy.csv", "manifest.json"):
        assert (tmp_path / "r" / name).is_file(), name
    # a variant folder is an ordinary dataset: `bench accuracy` runs on it unchanged (from the cache here)
    code, text = bench(
        "accuracy",
        "--i",
        str(out / "rotate_+90"),
        "--model",
        "Dlib",
        "--backend",
        "opencv",
        "--o",
        str(tmp_path),
        "--run-id",
        "plain",
        "--metric",
        "cosine",
    )
    assert code == 0, text
    plain = pd.read_csv(tmp_path / "plain" / "accuracy.csv")
    assert plain.acc_kfold_mean[0] == pytest.approx(table.loc["rotate_+90", "acc_kfold_mean"])


def test_occlusion_from_landmarks_or_fractions() -> None:
    from bench.data.faces import Face

    shape = (200, 100, 3)
    assert variants.occlusion_box(shape, "eyes") == (72, 108, 22, 78)  # fractions of the image
    face = Face(20, 40, 60, 80, 0.9, {"left_eye": (60.0, 70.0), "right_eye": (40.0, 70.0)})
    assert variants.occlusion_box(shape, "eyes", face) == (62, 78, 28, 72)  # eye distance 20 around y=70
    assert variants.occlusion_box(shape, "lower", face) == (88, 120, 26, 74)  # lower 40% of the box
    blacked = variants.occlude(np.full(shape, 255, np.uint8), "eyes", face)
    assert blacked[70, 50].sum() == 0 and blacked[100, 50].sum() == 765


@needs_weights
def test_occlude_with_a_detector_records_it(tmp_path: Path) -> None:
    out = tmp_path / "v"
    code, text = bench(
        "variants",
        "--i",
        str(SAMPLE),
        "--to",
        str(out),
        "--n",
        "6",
        "--only",
        "occlude_eyes",
        "--occlude-with",
        "opencv",
    )
    assert code == 0, text
    assert json.loads((out / "variants.json").read_text())["config"]["occlusion_detector"] == "opencv"
