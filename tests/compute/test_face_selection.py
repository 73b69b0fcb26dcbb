"""Face-selection policies, detection screening and the every-face pair rule, on hand-made faces (no model)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bench import plugins
from bench.compute.executors import LocalExecutor
from bench.compute.pipeline import Pipeline
from bench.compute.store import Store
from bench.compute.sweep import Sweep
from bench.data.datasets import scan
from bench.data.faces import Face, screen
from bench.metrics import Metric
from bench.registry import BadDetectorOption
from facebench_plugins.measures.distances import METRICS
from facebench_plugins.measures.face_selectors import center, centre_score, confidence, largest
from tests.conftest import SAMPLE
from tests.fakes.two_faces import DETECTOR, MODEL, MeanColour, TwoFaces

COSINE = next(m for m in METRICS if m.name == "cosine")
SIMILARITY = Metric("dot", lambda a, b: (a * b).sum(axis=1), lambda a, b: a @ b.T, higher_is_more_similar=True)


def test_center_is_insightfaces_rule_on_the_clipped_box() -> None:
    # 100 x 200 image (h x w), centre (100, 50). A big face off to the side, a smaller one in the middle.
    side = Face(150, 0, 50, 60, 0.9)  # area 3000, centre (175, 30): offset^2 = 75^2 + 20^2 = 6025
    middle = Face(80, 30, 40, 40, 0.8)  # area 1600, centre (100, 50): offset 0
    assert centre_score(side, 100, 200) == 3000 - 2 * 6025
    assert center([side, middle], 100, 200) == [1, 0]
    assert largest([side, middle], 100, 200) == [0, 1]
    assert confidence([side, middle], 100, 200) == [0, 1]


def test_areas_are_clipped_to_the_image() -> None:
    # A box reaching far into DeepFace's padding: 271 x 271 unclipped, but only 50 x 50 inside the image.
    reaching = Face(-221, -221, 271, 271, 0.9)
    inside = Face(100, 100, 60, 60, 0.9)
    assert reaching.clipped(250, 250) == (0.0, 0.0, 50.0, 50.0)
    assert largest([reaching, inside], 250, 250) == [1, 0]


def test_ties_are_broken_deterministically() -> None:
    a, b = Face(10, 10, 20, 20, 0.5), Face(40, 10, 20, 20, 0.7)  # same area: the more confident wins
    assert largest([a, b], 100, 100) == [1, 0] == largest([b, a], 100, 100)[::-1]
    c, d = Face(40, 10, 20, 20, 0.7), Face(10, 10, 20, 20, 0.7)  # all equal but position: top-left first
    assert largest([c, d], 100, 100) == [1, 0]


def test_screen_records_why_each_face_was_rejected() -> None:
    faces = [Face(0, 0, 50, 50, 0.95), Face(0, 0, 50, 50, 0.6), Face(90, 90, 30, 30, 0.99), Face.whole(100, 100)]
    kept, rejected = screen(faces, 100, 100, min_confidence=0.8, min_size=20)
    assert kept == [faces[0], faces[3]]  # the whole image is never screened out
    assert rejected == [(faces[1], "below_confidence"), (faces[2], "face_too_small")]  # 10 x 10 inside the image
    assert screen(faces, 100, 100, 0.0, 0)[0] == faces


def test_every_face_pairs_score_the_closest_face_pair() -> None:
    selectors = plugins.load().face_selectors
    a = np.array([[1.0, 0.0], [0.0, 1.0]], dtype=np.float32)  # image 0: two faces
    b = np.array([[0.6, 0.8]], dtype=np.float32)  # image 1: one face
    combo = _combination([a, b, np.zeros((0, 2), np.float32)], selectors.get("deepface"))
    left, right = np.array([0, 1, 0]), np.array([1, 0, 2])
    # cosine distances of image 0's faces to image 1's: 1 - 0.6 = 0.4 and 1 - 0.8 = 0.2 -> 0.2.
    np.testing.assert_allclose(combo.pair_scores(COSINE, left, right)[:2], [0.2, 0.2])
    assert np.isnan(combo.pair_scores(COSINE, left, right)[2])  # image 2 has no face
    np.testing.assert_allclose(combo.pair_scores(SIMILARITY, left[:2], right[:2]), [0.8, 0.8])  # max similarity
    cross = combo.cross_scores(COSINE, np.array([0, 1, 2]), np.array([1, 0]))
    np.testing.assert_allclose(cross[:2], [[0.2, 0.0], [0.0, 0.2]], atol=1e-7)  # an image against itself: 0
    assert np.isnan(cross[2]).all()
    single = _combination([a, b, np.zeros((0, 2), np.float32)], selectors.get("center"))
    np.testing.assert_allclose(single.pair_scores(COSINE, left[:1], right[:1]), [0.4])  # first face only


def _combination(faces: list[np.ndarray], selector: Any) -> Any:
    from bench.compute.sweep import Combination

    first = np.array([f[0] if len(f) else [np.nan, np.nan] for f in faces], dtype=np.float32)
    return Combination(None, None, None, [], first, [""] * len(faces), faces, selector)  # type: ignore[arg-type]


def test_switching_policy_detects_nothing_again_and_reuses_embeddings(tmp_path: Path) -> None:
    data = scan(SAMPLE)
    data.images = data.images[:4]
    selectors = plugins.load().face_selectors
    store = Store(tmp_path)
    TwoFaces.calls = MeanColour.calls = 0

    def run(policy: str) -> Any:
        pipeline = Pipeline(store, tmp_path, executor=LocalExecutor(quiet=True), selector=selectors.get(policy))
        return next(Sweep(pipeline, [DETECTOR], [MODEL]).run(data)), pipeline

    every, _ = run("deepface")
    assert TwoFaces.calls == 4 and MeanColour.calls == 8  # the 5 px face is screened out: 2 faces per image
    assert [len(f) for f in every.face_vectors] == [2] * 4
    assert every.detections[0].n_faces == 3 and every.detections[0].n_rejected == 1
    centred, second = run("center")
    assert TwoFaces.calls == 4 and MeanColour.calls == 8  # nothing detected or embedded again
    assert second.stats["detect:two"].computed == 0 and second.stats["embed:mean"].computed == 0
    h, w = decode_shape(data.images[0].path)
    assert centred.detections[0].face == Face(w * 0.35, h * 0.35, w * 0.3, h * 0.3, 0.9)
    np.testing.assert_array_equal(centred.vectors[0], every.face_vectors[0][1])  # the same cached vector
    assert run("largest")[0].detections[0].face.x == 0


def decode_shape(path: Path) -> tuple[int, int]:
    from bench.data.images import decode

    return decode(path).shape[:2]  # type: ignore[return-value]


def test_every_face_rejected_gives_the_reason_as_status(tmp_path: Path) -> None:
    data = scan(SAMPLE)
    data.images = data.images[:1]
    strict = DETECTOR.with_options({"min_confidence": "0.95", "min_face_size": "1000"})
    pipeline = Pipeline(Store(tmp_path), tmp_path, executor=LocalExecutor(quiet=True))
    detection = pipeline.detect(data, strict)[0]
    assert detection.status == "face_too_small" and detection.n_rejected == 3  # why the most confident one went
    assert "2 below_confidence, 1 face_too_small" in detection.reason
    assert pipeline.detect(data, DETECTOR.with_options({"min_confidence": "0.995"}))[0].status == "below_confidence"
    only_small = pipeline.detect(data, DETECTOR.with_options({"min_face_size": "1000"}))[0]
    assert only_small.status == "face_too_small" and only_small.face is not None and only_small.face.whole_image


def test_with_options_validates_keys_and_converts_values() -> None:
    registry = plugins.load()
    spec = registry.detectors.get("retinaface-mnet")
    assert spec.settings["max_side"] == 640 and spec.settings["min_confidence"] == 0.8
    changed = spec.with_options({"max_side": "1024", "min_face_size": "32"})
    assert changed.settings["max_side"] == 1024 and changed.settings["min_face_size"] == 32
    assert spec.settings["max_side"] == 640  # the registered spec is unchanged
    with pytest.raises(BadDetectorOption, match="valid: confidence_threshold, max_side, min_confidence"):
        spec.with_options({"max_size": "1024"})
    with pytest.raises(BadDetectorOption, match="expected a value of type int"):
        spec.with_options({"max_side": "big"})
    opencv = registry.detectors.get("opencv")
    assert opencv.settings["min_confidence"] == 0 and opencv.settings["min_face_size"] == 0  # DeepFace's parity
    with pytest.raises(BadDetectorOption, match="valid: min_confidence, min_face_size"):
        opencv.with_options({"max_side": "640"})


def test_detector_options_from_the_command_line() -> None:
    from bench.registry import parse_detector_options, with_detector_options

    assert parse_detector_options(["retinaface-mnet.max_side=1024", "RetinaFace-MNet.min_face_size=30"]) == {
        "retinaface-mnet": {"max_side": "1024", "min_face_size": "30"}
    }
    specs = plugins.load().detectors.select("retinaface-mnet,opencv")
    changed = with_detector_options(specs, ["retinaface-mnet.max_side=1024"])
    assert changed[0].settings["max_side"] == 1024 and changed[1] == specs[1]
    with pytest.raises(BadDetectorOption, match="expected NAME.KEY=VALUE"):
        parse_detector_options(["max_side=1024"])
    with pytest.raises(BadDetectorOption, match="yunet, which is not among the detectors run"):
        with_detector_options(specs, ["yunet.min_confidence=0.9"])


def test_identification_uses_the_every_face_rule() -> None:
    from bench.measure.gallery import Split, identification

    selectors = plugins.load().face_selectors
    faces = [
        np.array([[1.0, 0.0], [0.0, 1.0]], np.float32),
        np.array([[0.6, 0.8]], np.float32),
        np.array([[0.0, 1.0]], np.float32),
    ]  # gallery A (two faces), gallery B, a probe of A
    split = Split(np.array([0, 1]), np.array([0, 1]), np.array([2]), np.array([0]), ["A", "B"])
    every = _combination(faces, selectors.get("deepface"))
    row, _ = identification(every.vectors, split, COSINE, lambda a, b: every.cross_scores(COSINE, a, b))
    assert row["rank1"] == 1.0  # A's second face is the probe's face
    first = _combination(faces, selectors.get("center"))
    row, _ = identification(first.vectors, split, COSINE, lambda a, b: first.cross_scores(COSINE, a, b))
    assert row["rank1"] == 0.0  # A's first face is orthogonal to the probe; B is closer
