"""Quality measures as plugins: pose from landmarks, pixel measures, the cache, the recognizer's own quality."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from bench import plugins
from bench.compute import quality
from bench.compute.flip import mirror_face
from bench.compute.pipeline import Detection, Pipeline
from bench.compute.quality import face_key, image_qualities, model_qualities
from bench.compute.store import Store
from bench.data.datasets import scan
from bench.data.faces import LANDMARK_NAMES, Face
from bench.measures import QualityMeasure, Sample
from facebench_plugins.measures import quality_measures as qm
from facebench_plugins.recognizers.onnx_recognizers import BUILTINS, recognizer_spec
from tests.conftest import SAMPLE, WEIGHTS, needs_weights
from tests.fakes.tiny_onnx import tiny_model

# The generic face of the pose estimator in 3D: x right, y down, z towards the camera (eye midpoint at 0)
GENERIC = {
    "right_eye": (-qm.HALF_EYES, 0, 0),
    "left_eye": (qm.HALF_EYES, 0, 0),
    "nose": (0, qm.NOSE_DOWN, qm.NOSE_DEPTH),
    "mouth_right": (-14.6, qm.MOUTH_DOWN, 0),
    "mouth_left": (14.6, qm.MOUTH_DOWN, 0),
}


def posed(yaw: float, pitch: float, roll: float, scale: float = 3.0) -> Face:
    """The generic face turned by yaw, then pitch, then rolled in the image plane, projected orthographically."""
    y, p, r = np.radians([yaw, pitch, roll])
    turn = np.array([[np.cos(y), 0, np.sin(y)], [0, 1, 0], [-np.sin(y), 0, np.cos(y)]])
    tilt = np.array([[1, 0, 0], [0, np.cos(p), -np.sin(p)], [0, np.sin(p), np.cos(p)]])
    spin = np.array([[np.cos(r), -np.sin(r)], [np.sin(r), np.cos(r)]])
    marks = {}
    for name, point in GENERIC.items():
        x, yy, _ = tilt @ turn @ np.asarray(point, float)
        u, v = spin @ np.array([x, yy]) * scale + (120, 90)
        marks[name] = (float(u), float(v))
    return Face(40, 20, 160, 200, 0.9, marks)


@pytest.mark.parametrize(
    ("yaw", "pitch", "roll"),
    [(0, 0, 0), (30, 0, 0), (-45, 0, 0), (0, 20, 0), (0, -15, 0), (0, 0, 25), (35, 0, -20), (0, 15, 30)],
)
def test_pose_recovers_the_angles_of_a_projected_generic_face(yaw: float, pitch: float, roll: float) -> None:
    estimated = qm.pose(posed(yaw, pitch, roll))
    np.testing.assert_allclose(estimated, (yaw, pitch, roll), atol=0.5)


def test_pose_of_real_frontal_and_turned_faces_and_without_landmarks() -> None:
    assert all(np.isnan(qm.pose(Face(0, 0, 10, 10))))
    sample = Sample(Path("x"), posed(40, 0, 0))
    assert qm.MEASURES[3].name == "yaw" and qm.MEASURES[3].measure(sample) == pytest.approx(40, abs=0.5)
    assert not qm.MEASURES[3].higher_is_better


def test_mirror_swaps_sides_and_is_its_own_inverse() -> None:
    face = posed(20, 5, 10)
    flipped = mirror_face(face, 250)
    assert flipped.landmarks["left_eye"] == (249 - face.landmarks["right_eye"][0], face.landmarks["right_eye"][1])
    assert flipped.x == 250 - 40 - 160
    assert qm.pose(flipped)[0] == pytest.approx(-qm.pose(face)[0])  # a head turned right, mirrored, turns left
    back = mirror_face(flipped, 250)
    assert back.x == face.x and all(np.allclose(back.landmarks[k], face.landmarks[k]) for k in LANDMARK_NAMES)


def test_pixel_measures_on_built_images() -> None:
    face = Face(10, 10, 20, 20)
    grey = np.full((40, 40, 3), 128, np.uint8)
    half = grey.copy()
    half[10:30, 10:20] = 0  # half the box black, half mid-grey
    dark = np.full((40, 40, 3), 10, np.uint8)

    def sample(image: np.ndarray) -> Sample:
        s = Sample(Path("x"), face)
        s.__dict__["image"] = image  # the cached_property's slot: no file to decode
        return s

    assert qm.brightness(sample(grey)) == pytest.approx(1 - 0.5 / 127.5)
    assert qm.contrast(sample(grey)) == 0 and qm.contrast(sample(half)) == pytest.approx(64)
    assert qm.exposure(sample(grey)) == 1 and qm.exposure(sample(half)) == 0.5 and qm.exposure(sample(dark)) == 0
    assert qm.inter_eye(Sample(Path("x"), posed(0, 0, 0, scale=2))) == pytest.approx(4 * qm.HALF_EYES)


def test_every_measure_is_registered() -> None:
    names = plugins.load().quality.names()
    assert {
        "confidence",
        "face_size",
        "inter_eye",
        "yaw",
        "pitch",
        "roll",
        "sharpness",
        "brightness",
        "contrast",
        "exposure",
        "feature_norm",
        "flip_consistency",
    } <= set(names)


def _sample_faces(n: int) -> tuple[object, list[Detection]]:
    dataset = scan(SAMPLE)
    return dataclasses.replace(dataset, images=dataset.images[:n]), [
        Detection(1, Face(60, 60, 130, 130, 0.9), "ok")
    ] * (n - 1) + [Detection(0, None, "no_face")]


def test_image_measures_are_cached_per_detector_and_version(tmp_path: Path) -> None:
    calls: list[str] = []

    def counted(sample: Sample) -> float:
        calls.append(sample.path.name)
        return float(sample.face.w)

    measure = QualityMeasure("width", counted)
    dataset, detections = _sample_faces(3)
    pipeline = Pipeline(Store(tmp_path), WEIGHTS)
    skip = plugins.load().detectors.get("skip")
    first = image_qualities(pipeline, dataset, skip, detections, [measure])
    assert list(first.width[:2]) == [130, 130] and np.isnan(first.width[2]) and len(calls) == 2
    image_qualities(pipeline, dataset, skip, detections, [measure])
    assert len(calls) == 2  # read back from the cache
    image_qualities(pipeline, dataset, skip, detections, [dataclasses.replace(measure, version="2")])
    assert len(calls) == 4  # a new version is computed again


def test_feature_norm_comes_out_of_the_embed_stage(tmp_path: Path) -> None:
    """A recognizer declaring a quality output (AdaFace-style) stores it beside the vector; feature_norm reads it,
    and recomputes it when an older cache lacks it. Other models give the raw vector's norm."""
    tiny_model(tmp_path / "tiny.onnx", "N")
    adaface = next(c for c in BUILTINS if c.name == "AdaFace")
    spec = recognizer_spec(dataclasses.replace(adaface, file="tiny.onnx"))
    dataset, detections = _sample_faces(3)
    pipeline = Pipeline(Store(tmp_path / "cache"), tmp_path)
    skip = plugins.load().detectors.get("skip")
    detections = pipeline.detect(dataset, skip)
    vectors = pipeline.embed(dataset, skip, detections, spec).vectors
    norm = [m for m in qm.MEASURES if m.name == "feature_norm"]
    namespace = pipeline.embedding_namespace(spec, skip)
    entries = pipeline.store.embedded(namespace)
    for sha, d in zip(pipeline.hashes(dataset), detections):  # the embed stage kept it, under the face's key
        assert entries[face_key(sha, d.face)].quality is not None
    with pytest.MonkeyPatch.context() as patch:  # read back, not recomputed: the recognizer is never built
        patch.setattr(quality, "build", lambda *_: pytest.fail("feature_norm rebuilt the recognizer"))
        stored = model_qualities(pipeline, dataset, skip, detections, spec, vectors, norm).feature_norm.to_numpy()
    assert np.isfinite(stored).all() and not np.allclose(stored, np.linalg.norm(vectors, axis=1))
    assert np.allclose(stored, vectors[:, :3].mean(axis=1), atol=1e-5)  # the tiny model's "norm": mean of channels
    fresh = Pipeline(Store(tmp_path / "cache2"), tmp_path)  # the same vectors, without their quality output
    fresh.store.put_vectors(namespace, list(entries), np.stack([e.vector for e in entries.values()]))
    recomputed = model_qualities(fresh, dataset, skip, detections, spec, vectors, norm).feature_norm.to_numpy()
    np.testing.assert_allclose(recomputed, stored, atol=1e-5)
    raw = recognizer_spec(dataclasses.replace(adaface, file="tiny.onnx", quality_output=None))
    other = Pipeline(Store(tmp_path / "cache"), tmp_path)  # its own executor: built plugins are kept by name
    vectors = other.embed(dataset, skip, detections, raw).vectors
    plain = model_qualities(other, dataset, skip, detections, raw, vectors, norm).feature_norm.to_numpy()
    np.testing.assert_allclose(plain, np.linalg.norm(vectors, axis=1), rtol=1e-6)


@needs_weights
@pytest.mark.slow
def test_flip_consistency_with_a_real_model(tmp_path: Path) -> None:
    registry = plugins.load()
    dataset = scan(SAMPLE)
    pipeline = Pipeline(Store(tmp_path), WEIGHTS)
    detector, model = registry.detectors.get("retinaface-mnet"), registry.recognizers.get("FaceRes")
    detections = pipeline.detect(dataset, detector)
    vectors = pipeline.embed(dataset, detector, detections, model).vectors
    flip = [m for m in qm.MEASURES if m.name == "flip_consistency"]
    distances = model_qualities(pipeline, dataset, detector, detections, model, vectors, flip).flip_consistency
    assert distances.notna().all() and (distances > 0).all()
    # a face and its mirror are far closer than two people: the mean cross-identity distance is several times it
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    identity = np.array([img.identity for img in dataset.images])
    cross = (1 - unit @ unit.T)[identity[:, None] != identity[None, :]]
    assert distances.median() * 3 < cross.mean()
