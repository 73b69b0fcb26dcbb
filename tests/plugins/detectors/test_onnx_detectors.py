"""The onnxruntime detectors with their own decoding: pure decoding pieces (fast) and, on real LFW photos, one face
per image in the right place with plausible landmarks, agreeing with retinaface-mnet (slow)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from bench import plugins
from bench.compute.pipeline import plugin_key
from bench.data.faces import Face
from bench.data.images import decode
from facebench_plugins.detectors.blazeface_onnx import BACK, FRONT, ssd_anchors, weighted_nms
from facebench_plugins.detectors.blazeface_onnx import decode as blaze_decode
from facebench_plugins.detectors.mtcnn_onnx import crop_and_resize, mtcnn_nms, pyramid_scales
from facebench_plugins.detectors.retinaface_mbv2 import pad_to_multiple
from facebench_plugins.detectors.rfb320_onnx import rfb_priors
from tests.conftest import LFW, WEIGHTS, needs_lfw, needs_weights

NEW = ("retinaface-mbv2", "mtcnn-onnx", "blazeface", "blazeface-back", "rfb320", "yunet")
# Frontal one-person 250x250 deep-funneled LFW photos.
NAMES = ("Colin_Powell", "Serena_Williams", "Hugo_Chavez", "George_W_Bush", "Angelina_Jolie", "Aaron_Eckhart")


def test_blazeface_anchors_are_mediapipes_896() -> None:
    for options in (FRONT, BACK):
        anchors = ssd_anchors(options)
        assert anchors.shape == (896, 2)  # 16x16 x 2 + 8x8 x 6
        assert np.allclose(anchors[0], [1 / 32, 1 / 32]) and np.allclose(anchors[512], [1 / 16, 1 / 16])
        assert np.allclose(anchors[512:518], anchors[512])  # six anchors share each 8x8 cell


def test_blazeface_decoding_and_weighted_nms() -> None:
    anchors = np.array([[0.5, 0.5], [0.5, 0.5], [0.1, 0.1]], dtype=np.float32)
    raw = np.zeros((3, 16), dtype=np.float32)
    raw[:, 2:4] = 32  # 32 px of a 128 px input: a quarter of the image
    raw[1, 0] = 4  # the second box 4 px to the right
    boxes, points = blaze_decode(raw, anchors, 128)
    assert np.allclose(boxes[0], [0.375, 0.375, 0.625, 0.625]) and np.allclose(points[2], 0.1)
    merged = weighted_nms(boxes, points, np.array([0.9, 0.3, 0.8]))
    assert len(merged) == 2 and merged[0][2] == 0.9
    assert np.isclose(merged[0][0][0], 0.375 + 0.3 / 1.2 * 4 / 128)  # score-weighted mean of the cluster


def test_rfb320_has_4420_priors_inside_the_image() -> None:
    priors = rfb_priors()
    assert priors.shape == (4420, 4) and priors.min() >= 0 and priors.max() <= 1


def test_mtcnn_pyramid_and_nms_follow_the_package() -> None:
    scales = pyramid_scales(250, 250)
    assert np.allclose(scales[:2], [0.6, 0.6 * 0.709]) and len(scales) == 8  # mtcnn 1.0 on a 250x250 image
    rows = np.array([[0, 0, 10, 10, 0.9], [1, 1, 11, 11, 0.8], [2, 2, 12, 12, 0.7], [50, 50, 60, 60, 0.6]])
    kept = mtcnn_nms(rows, 0.5)
    assert kept[:, 4].tolist() == [0.9, 0.6]  # a suppressed box still suppresses (0.7 overlaps 0.8, not 0.9)


def test_mtcnn_crop_and_resize_is_bilinear_with_zeros_outside() -> None:
    image = np.arange(5 * 5 * 3, dtype=np.float32).reshape(5, 5, 3)
    whole = crop_and_resize(image, np.array([[0.0, 0.0, 5.0, 5.0, 1.0]]), 5)  # box = the image: the image back
    assert np.allclose(whole[0], image)  # sample points on the pixel grid: the pixels themselves
    outside = crop_and_resize(image, np.array([[10.0, 10.0, 20.0, 20.0, 1.0]]), 3)
    assert not outside.any()


def test_retinaface_mbv2_pads_to_multiples_of_32() -> None:
    padded = pad_to_multiple(np.ones((250, 33, 3), dtype=np.uint8))
    assert padded.shape == (256, 64, 3) and padded[:250, :33].all() and not padded[250:].any()


def test_yunet_prefers_the_fp32_file_and_says_which(tmp_path: Path) -> None:
    (tmp_path / "face_detection_yunet_2023mar_int8bq.onnx").write_bytes(b"int8")
    (tmp_path / "face_detection_yunet_2023mar_fp32.onnx").write_bytes(b"fp32")
    registry = plugins.load()
    fp32, int8 = (plugin_key(registry.detectors.get(name), tmp_path) for name in ("yunet", "yunet-int8bq"))
    assert fp32["weights"] == {
        "face_detection_yunet_2023mar.onnx": {
            "file": "face_detection_yunet_2023mar_fp32.onnx",
            "sha256": hashlib.sha256(b"fp32").hexdigest(),
        }
    }
    assert str(int8["weights"]).count("face_detection_yunet_2023mar_int8bq.onnx") == 2  # its own key and file
    assert int8["settings"]["backend"] == "yunet"  # type: ignore[index]  # DeepFace's yunet on the int8bq file


def _iou(a: Face, b: Face) -> float:
    ax2, ay2, bx2, by2 = a.x + a.w, a.y + a.h, b.x + b.w, b.y + b.h
    inter = max(0.0, min(ax2, bx2) - max(a.x, b.x)) * max(0.0, min(ay2, by2) - max(a.y, b.y))
    return inter / (a.area + b.area - inter)


@pytest.fixture(scope="module")
def reference_faces() -> dict[str, Face]:
    """retinaface-mnet's face on each photo."""
    detector = plugins.load().detectors.get("retinaface-mnet").build(WEIGHTS)
    return {name: max(detector.detect(_image(name)), key=lambda f: f.area) for name in NAMES}


def _image(name: str) -> np.ndarray:
    return decode(LFW / name / f"{name}_0001.jpg")


@pytest.mark.slow
@needs_weights
@needs_lfw
@pytest.mark.parametrize("name", NEW)
def test_detector_finds_the_one_face_where_retinaface_does(name: str, reference_faces: dict[str, Face]) -> None:
    spec = plugins.load().detectors.get(name)
    assert spec.unavailable_reason(WEIGHTS) is None, spec.unavailable_reason(WEIGHTS)
    detector = spec.build(WEIGHTS)
    for person in NAMES:
        faces = [f for f in detector.detect(_image(person)) if f.confidence >= spec.settings["min_confidence"]]
        assert len(faces) == 1, (name, person, faces)
        face, marks = faces[0], faces[0].landmarks
        assert _iou(face, reference_faces[person]) >= 0.5, (name, person, face, reference_faces[person])
        if name != "rfb320":
            assert marks["right_eye"][0] < marks["left_eye"][0]  # the person's right eye on the image's left
            if "nose" in marks:
                assert max(marks["right_eye"][1], marks["left_eye"][1]) < marks["nose"][1]
            for x, y in marks.values():
                assert face.x <= x <= face.x + face.w and face.y <= y <= face.y + face.h + 5
        if name in ("retinaface-mbv2", "mtcnn-onnx"):
            assert marks["nose"][1] < min(marks["mouth_left"][1], marks["mouth_right"][1])
