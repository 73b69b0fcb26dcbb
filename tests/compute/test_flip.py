"""Flip test-time augmentation: mirrored faces, the summed embedding, and ``<model>+flip`` in the registry."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bench import plugins
from bench.compute.flip import FlipRecognizer, mirror_face
from bench.compute.pipeline import plugin_key
from bench.data.faces import Face
from bench.data.images import decode
from tests.conftest import SAMPLE, WEIGHTS, needs_weights


def test_mirror_face_swaps_sides_and_is_its_own_inverse() -> None:
    face = Face(10, 20, 30, 40, 0.8, {"left_eye": (35.0, 30.0), "right_eye": (15.0, 31.0), "nose": (25.0, 40.0)})
    mirrored = mirror_face(face, 100)
    assert (mirrored.x, mirrored.w) == (60, 30)
    assert mirrored.landmarks["right_eye"] == (64.0, 30.0)  # the person's left eye, seen as a right eye
    assert mirrored.landmarks["left_eye"] == (84.0, 31.0) and mirrored.landmarks["nose"] == (74.0, 40.0)
    assert mirror_face(mirrored, 100) == face


class _Recorder:
    """Embeds a crop as its column means, so a mirrored crop gives the reversed vector."""

    def crop(self, image: np.ndarray, face: Face) -> np.ndarray:
        return image[int(face.y) : int(face.y + face.h), int(face.x) : int(face.x + face.w), 0].astype(float)

    def embed(self, crops: np.ndarray) -> np.ndarray:
        return crops.mean(axis=1)


def test_flip_embedding_is_face_plus_mirror() -> None:
    image = np.zeros((4, 6, 3), np.uint8)
    image[:, :, 0] = np.arange(6)
    face = Face(1, 0, 3, 4)  # columns 1, 2, 3; mirrored: columns 2, 3, 4 of the mirror = 3, 2, 1
    flip = FlipRecognizer(_Recorder())
    crops = np.stack([flip.crop(image, face)])
    np.testing.assert_allclose(flip.embed(crops), [[1 + 3, 2 + 2, 3 + 1]])


def test_registry_resolves_plus_flip_with_the_setting_recorded() -> None:
    registry = plugins.load().recognizers
    flipped = registry.get("mobileface+flip")
    assert flipped.name == "MobileFace+flip" and flipped.settings["flip"] is True
    base = registry.get("MobileFace")
    assert "flip" not in base.settings and flipped.dim == base.dim
    assert plugin_key(flipped, WEIGHTS) != plugin_key(base, WEIGHTS)
    assert [s.name for s in registry.select("MobileFace+flip,FaceRes")] == ["MobileFace+flip", "FaceRes"]
    assert flipped.with_flip() is flipped  # --flip on a +flip model flips once


@needs_weights
def test_flip_option_runs_every_model_flipped(tmp_path: Path) -> None:
    import json

    import pandas as pd

    from tests.conftest import bench

    code, out = bench(
        "accuracy",
        "--i",
        str(SAMPLE),
        "--model",
        "MobileFace",
        "--backend",
        "retinaface-mnet",
        "--metric",
        "cosine",
        "--flip",
        "--o",
        str(tmp_path),
        "--run-id",
        "flip",
    )
    assert code == 0, out
    assert pd.read_csv(tmp_path / "flip" / "accuracy.csv").model.tolist() == ["MobileFace+flip"]
    manifest = json.loads((tmp_path / "flip" / "manifest.json").read_text())
    assert manifest["plugins"]["MobileFace+flip"]["settings"]["flip"] is True


@needs_weights
def test_real_model_flip_sums_the_two_embeddings(tmp_path: Path) -> None:
    registry = plugins.load()
    spec = registry.recognizers.get("MobileFace+flip")
    model = spec.build(WEIGHTS)
    detector = registry.detectors.get("retinaface-mnet").build(WEIGHTS)
    image = decode(SAMPLE / "Colin_Powell" / "Colin_Powell_0001.jpg")
    (face,) = detector.detect(image)[:1]
    both = model.crop(image, face)
    inner = model.inner
    expected = inner.embed(both[:1]) + inner.embed(both[1:])
    np.testing.assert_allclose(model.embed(both[None]), expected, rtol=1e-5, atol=1e-5)
    mirrored = np.ascontiguousarray(image[:, ::-1])
    np.testing.assert_array_equal(both[1], inner.crop(mirrored, mirror_face(face, image.shape[1])))
    plain = inner.embed(both[:1])[0]
    cos = float(expected[0] @ plain / np.linalg.norm(expected[0]) / np.linalg.norm(plain))
    assert 0.9 < cos < 1.0  # the mirror adds information without replacing the face
    with pytest.raises(Exception, match="did you mean"):
        registry.recognizers.get("MobileFac+flip")
