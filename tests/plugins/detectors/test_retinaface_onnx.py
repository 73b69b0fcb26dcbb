"""Tests for the RetinaFace ONNX detector on real LFW photos."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from bench.data.faces import LANDMARK_NAMES, Face
from facebench_plugins.detectors.retinaface_onnx import RetinaFaceOnnx, prior_boxes
from tests.conftest import LFW, REPO
from tests.conftest import WEIGHTS as SHARED_WEIGHTS

WEIGHTS = SHARED_WEIGHTS / "retinaface_mobilenet0.25.onnx"
# Frontal, one-person 250x250 deep-funneled LFW photos (no bystander faces).
NAMES = ("Colin_Powell", "Serena_Williams", "Hugo_Chavez", "George_W_Bush", "Angelina_Jolie", "Aaron_Eckhart")
PATHS = [LFW / name / f"{name}_0001.jpg" for name in NAMES]


@pytest.fixture(scope="module")
def detector() -> RetinaFaceOnnx:
    """One loaded detector for the whole module, or a skip when the weights are absent."""
    if not WEIGHTS.is_file():
        pytest.skip(f"RetinaFace weights not found at {WEIGHTS}")
    return RetinaFaceOnnx(str(WEIGHTS))


def load(path: Path) -> np.ndarray:
    """A BGR image, or a skip when the LFW photo is absent."""
    if not path.is_file():
        pytest.skip(f"LFW image not found at {path}")
    return cv2.imread(str(path))


def only_face(detector: RetinaFaceOnnx, image: np.ndarray) -> Face:
    """The single face the detector must find."""
    faces = detector.detect(image)
    assert len(faces) == 1, [(f.x, f.y, f.w, f.h, f.confidence) for f in faces]
    return faces[0]


@pytest.mark.parametrize("path", PATHS, ids=NAMES)
def test_one_confident_centred_face(detector: RetinaFaceOnnx, path: Path) -> None:
    image = load(path)
    face = only_face(detector, image)
    assert face.confidence > 0.95
    assert not face.whole_image
    assert abs(face.x + face.w / 2 - 125) < 30 and abs(face.y + face.h / 2 - 125) < 30
    assert 60 < face.w < 160 and 80 < face.h < 200
    assert set(face.landmarks) == set(LANDMARK_NAMES)


@pytest.mark.parametrize("path", PATHS, ids=NAMES)
def test_landmarks_person_centred_and_inside_box(detector: RetinaFaceOnnx, path: Path) -> None:
    face = only_face(detector, load(path))
    marks = face.landmarks
    assert marks["left_eye"][0] > marks["right_eye"][0]  # the person's left eye is on the image's right
    assert marks["mouth_left"][0] > marks["mouth_right"][0]
    eyes_y = max(marks["left_eye"][1], marks["right_eye"][1])
    mouth_y = min(marks["mouth_left"][1], marks["mouth_right"][1])
    assert eyes_y < marks["nose"][1] < mouth_y
    for x, y in marks.values():
        assert face.x <= x <= face.x + face.w and face.y <= y <= face.y + face.h


@pytest.mark.parametrize("path", PATHS[:3], ids=NAMES[:3])
def test_flip_mirrors_box_and_swaps_sides(detector: RetinaFaceOnnx, path: Path) -> None:
    image = load(path)
    width = image.shape[1]
    face = only_face(detector, image)
    flipped = only_face(detector, cv2.flip(image, 1))
    assert flipped.x == pytest.approx(width - (face.x + face.w), abs=4)
    assert flipped.w == pytest.approx(face.w, abs=4)
    assert flipped.y == pytest.approx(face.y, abs=4)
    assert flipped.h == pytest.approx(face.h, abs=4)
    for name, mirror in (("left_eye", "right_eye"), ("mouth_left", "mouth_right"), ("nose", "nose")):
        x, y = face.landmarks[name]
        mx, my = flipped.landmarks[mirror]
        assert mx == pytest.approx(width - x, abs=4) and my == pytest.approx(y, abs=4)


def test_blank_image_has_no_face(detector: RetinaFaceOnnx) -> None:
    assert detector.detect(np.full((250, 250, 3), 128, np.uint8)) == []


def test_tiled_image_gives_four_faces(detector: RetinaFaceOnnx) -> None:
    tiles = [load(path) for path in PATHS[:4]]
    mosaic = np.vstack([np.hstack(tiles[:2]), np.hstack(tiles[2:])])
    faces = detector.detect(mosaic)
    assert len(faces) == 4
    confidences = [face.confidence for face in faces]
    assert confidences == sorted(confidences, reverse=True)
    quadrants = {(int(f.x + f.w / 2) // 250, int(f.y + f.h / 2) // 250) for f in faces}
    assert quadrants == {(0, 0), (1, 0), (0, 1), (1, 1)}


def test_boxes_clipped_to_image(detector: RetinaFaceOnnx) -> None:
    image = load(PATHS[0])[40:200, 110:250]  # face cut by the crop's left edge
    height, width = image.shape[:2]
    for face in detector.detect(image):
        assert face.x >= 0 and face.x + face.w <= width + 1e-3
        assert face.y >= 0 and face.y + face.h <= height + 1e-3


def test_max_side_maps_back_to_original_pixels(detector: RetinaFaceOnnx) -> None:
    image = load(PATHS[0])
    face = only_face(detector, image)
    big = cv2.resize(image, (500, 500), interpolation=cv2.INTER_LINEAR)
    capped = RetinaFaceOnnx(str(WEIGHTS), max_side=250)
    scaled = only_face(capped, big)
    assert (scaled.x, scaled.y, scaled.w, scaled.h) == pytest.approx(
        (2 * face.x, 2 * face.y, 2 * face.w, 2 * face.h), abs=6
    )
    assert scaled.landmarks["nose"] == pytest.approx(tuple(2 * v for v in face.landmarks["nose"]), abs=6)


def test_threshold_filters_faces(detector: RetinaFaceOnnx) -> None:
    image = load(PATHS[0])
    face = only_face(detector, image)
    strict = RetinaFaceOnnx(str(WEIGHTS), confidence_threshold=face.confidence + 1e-6)
    assert strict.detect(image) == []


def test_rejects_non_bgr_input(detector: RetinaFaceOnnx) -> None:
    with pytest.raises(ValueError):
        detector.detect(np.zeros((250, 250), np.uint8))


def test_priors_match_model_outputs(detector: RetinaFaceOnnx) -> None:
    for height, width in ((250, 250), (251, 333), (97, 640)):
        outputs = detector.session.run(None, {"input": np.zeros((1, 3, height, width), np.float32)})
        assert outputs[0].shape[1] == len(prior_boxes(height, width))


def test_module_import_does_not_load_onnxruntime() -> None:
    root = REPO
    code = "import sys, facebench_plugins.detectors.retinaface_onnx; assert 'onnxruntime' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], cwd=root, check=True)
