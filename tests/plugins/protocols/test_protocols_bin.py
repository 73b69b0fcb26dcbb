"""insightface .bin: the round trip is exact, and a .bin built from LFW View 2 gives the folder path's figures."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bench import plugins, protocols
from bench.compute.pipeline import Pipeline
from bench.compute.store import Store
from bench.compute.sweep import Sweep
from bench.data.datasets import Dataset, Pairs, restrict, scan
from benchmarks.build_formats import aligned_crop, build_bin, detect_faces, fold_subset
from facebench_plugins.protocols.protocols_bin import consecutive_folds, pair_groups, read_bin, sniff_bin, write_bin
from tests.conftest import LFW, SAMPLE, WEIGHTS, needs_lfw, needs_weights, read_pairs


def test_consecutive_folds_are_sklearn_kfold() -> None:
    from sklearn.model_selection import KFold

    for n in (6000, 7000, 605, 13):
        expected = np.empty(n, int)
        for fold, (_, test) in enumerate(KFold(n_splits=10, shuffle=False).split(np.zeros(n))):
            expected[test] = fold
        assert (consecutive_folds(n) == expected).all()


def test_pair_groups_join_same_pairs_only() -> None:
    groups = pair_groups(6, np.array([0, 2, 4]), np.array([1, 3, 5]), np.array([True, False, True]))
    assert groups[0] == groups[1] and groups[4] == groups[5] and len({groups[2], groups[3], groups[0]}) == 3


def test_sniff(tmp_path: Path) -> None:
    write_bin(tmp_path / "x.bin", [b"a", b"b"], [True])
    (tmp_path / "pairs.txt").write_text("10 300\n")
    assert sniff_bin(tmp_path / "x.bin") and not sniff_bin(tmp_path / "pairs.txt")
    assert not sniff_bin(tmp_path / "missing.bin")
    chosen = protocols.choose(plugins.load().protocols, tmp_path / "renamed.txt" if False else tmp_path / "x.bin")
    assert chosen.name == "insightface-bin"


def _lfw_subset() -> tuple[Dataset, Pairs]:
    data = scan(LFW)
    return restrict(data, fold_subset(read_pairs(data, LFW / "pairs.txt"), 15))  # 10 folds x 30 = 300 pairs


@needs_lfw
def test_round_trip_is_bit_exact_in_images_pairs_labels_and_folds(tmp_path: Path) -> None:
    data, pairs = _lfw_subset()
    blobs = [data.images[i].path.read_bytes() for pair in zip(pairs.left, pairs.right) for i in pair]
    write_bin(tmp_path / "lfw.bin", blobs, pairs.same.tolist())
    dataset, got = read_bin(tmp_path / "lfw.bin")
    assert [img.data for img in dataset.images] == blobs
    assert (got.same == pairs.same).all() and (got.folds == pairs.folds).all()
    lefts = [dataset.images[i].data for i in got.left]
    assert lefts == [data.images[i].path.read_bytes() for i in pairs.left]
    assert [img.sha256() for img in dataset.images][:2] == [
        data.images[i].sha256() for i in (pairs.left[0], pairs.right[0])
    ]


def _accuracy(dataset: Dataset, pairs: Pairs, detector: str, tmp_path: Path, models: str = "MobileFace"):  # type: ignore[no-untyped-def]
    from bench.measure.accuracy import evaluate

    registry = plugins.load()
    pipeline = Pipeline(Store(tmp_path / "cache"), WEIGHTS)
    sweep = Sweep(pipeline, registry.detectors.select(detector), registry.recognizers.select(models))
    cosine = registry.metrics.select("cosine")
    return {c.model.name: evaluate(c, pairs, cosine) for c in sweep.run(dataset)}


@pytest.mark.slow
@needs_lfw
@needs_weights
def test_aligned_bin_gives_the_folder_figures(tmp_path: Path) -> None:
    """Lossless (PNG) crops: the 5-point model gets exactly the folder path's crop, so every score and figure is
    the same. (JPEG crops, as insightface ships them, add JPEG noise: see the View-2 measurement.)"""
    data, pairs = _lfw_subset()
    faces = detect_faces(data, cache_dir=tmp_path / "cache", weights_dir=WEIGHTS)
    folder = _accuracy(data, pairs, "retinaface-mnet", tmp_path)["MobileFace"]
    build_bin(data, pairs, faces, tmp_path / "png.bin", ".png")
    bin_data, bin_pairs = read_bin(tmp_path / "png.bin")
    from_bin = _accuracy(bin_data, bin_pairs, "aligned", tmp_path)["MobileFace"]
    assert (bin_pairs.same == pairs.same).all() and (bin_pairs.folds == pairs.folds).all()
    np.testing.assert_allclose(from_bin[1].score.to_numpy(), folder[1].score.to_numpy(), atol=1e-5)
    assert from_bin[0][0]["acc_kfold_mean"] == folder[0][0]["acc_kfold_mean"]


def test_aligned_detector_gives_the_template_at_the_image_scale() -> None:
    from bench.compute.alignment import ARCFACE_112, TEMPLATE_ORDER
    from facebench_plugins.detectors.given_detectors import AlignedCrop

    (face,) = AlignedCrop().detect(np.zeros((224, 112, 3), np.uint8))
    assert face.whole_image and (face.w, face.h) == (112, 224)
    got = np.array([face.landmarks[name] for name in TEMPLATE_ORDER])
    np.testing.assert_allclose(got, ARCFACE_112 * [1, 2])


def test_aligned_crop_of_an_aligned_crop_is_the_crop() -> None:
    """Re-aligning a 112x112 template crop on the template's own points is the identity warp."""
    import cv2

    from bench.compute.alignment import align
    from facebench_plugins.detectors.given_detectors import template_face

    crop = cv2.imdecode(
        np.frombuffer(aligned_crop(SAMPLE / "Colin_Powell" / "Colin_Powell_0001.jpg", None, ".png"), np.uint8),
        cv2.IMREAD_COLOR,
    )
    face = template_face(112, 112)
    again, used = align(crop, face.landmarks, (0, 0, 112, 112), "arcface112", (112, 112))
    assert used and np.array_equal(again, crop)
