"""DeepFace's face detectors as facebench plugins (DeepFace's own classes, DeepFace's padding)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from bench.faces import Face
from bench.hookspecs import hookimpl
from bench.registry import DetectorSpec
from bench.weights import WeightFile
from plugins.deepface_common import borders, build, pad, stage_weights

LANDMARKS = ("left_eye", "right_eye", "nose", "mouth_left", "mouth_right")


class DeepFaceDetector:
    """Runs a DeepFace detector on DeepFace's padded image and maps results back to the original."""

    def __init__(self, backend: str, files: dict[str, Path]) -> None:
        stage_weights(files)
        self.backend = backend
        self.client: Any = build("face_detector", backend)
        self._opencv: Any = None if backend == "opencv" else build("face_detector", "opencv")

    def detect(self, image: np.ndarray) -> list[Face]:
        """Faces in original-image coordinates, eyes filled in by OpenCV where DeepFace would."""
        padded = pad(image)
        bh, bw = borders(image)
        return [self._to_face(region, padded, bh, bw) for region in self.client.detect_faces(padded)]

    def _to_face(self, region: Any, padded: np.ndarray, bh: int, bw: int) -> Face:
        marks = {name: getattr(region, name) for name in LANDMARKS}
        if self._opencv is not None and (marks["left_eye"] is None or marks["right_eye"] is None):
            marks.update(self._fallback_eyes(region, padded, marks))
        shifted = {k: (float(v[0]) - bw, float(v[1]) - bh) for k, v in marks.items() if v is not None}
        return Face(region.x - bw, region.y - bh, region.w, region.h, float(region.confidence or 0), shifted)

    def _fallback_eyes(self, region: Any, padded: np.ndarray, marks: dict[str, Any]) -> dict[str, Any]:
        """DeepFace's ``extract_face``: missing eyes are looked for by OpenCV inside the clipped box."""
        x, y = max(0, region.x), max(0, region.y)
        w = max(0, min(padded.shape[1], region.x + region.w) - x)
        h = max(0, min(padded.shape[0], region.y + region.h) - y)
        left, right = self._opencv.find_eyes(padded[y : y + h, x : x + w])
        found = {}
        if marks["left_eye"] is None and left is not None:
            found["left_eye"] = (int(left[0]) + x, int(left[1]) + y)
        if marks["right_eye"] is None and right is not None:
            found["right_eye"] = (int(right[0]) + x, int(right[1]) + y)
        return found


def _spec(name: str, weights: tuple[WeightFile, ...], requires: tuple[str, ...], description: str) -> DetectorSpec:
    return DetectorSpec(
        name=name,
        load=lambda files: DeepFaceDetector(name, files),
        weights=weights,
        requires=("deepface", *requires),
        settings={"family": "deepface", "padding": 0.5, "backend": name},
        description=description,
    )


DETECTORS = (
    _spec("opencv", (), ("cv2",), "OpenCV Haar cascade (DeepFace), eyes by Haar eye cascade"),
    _spec(
        "yunet",
        (
            WeightFile(
                "face_detection_yunet_2023mar.onnx",
                "https://github.com/opencv/opencv_zoo/raw/main/models/face_detection_yunet/face_detection_yunet_2023mar.onnx",
                ("face_detection_yunet_2023mar_int8bq.onnx",),
            ),
        ),
        ("cv2",),
        "YuNet (OpenCV zoo, via DeepFace), 5 landmarks",
    ),
    _spec("mtcnn", (), ("mtcnn", "tensorflow"), "MTCNN (mtcnn package, TensorFlow, via DeepFace), 5 landmarks"),
    _spec(
        "dlib",
        (
            WeightFile(
                "shape_predictor_5_face_landmarks.dat",
                "https://dlib.net/files/shape_predictor_5_face_landmarks.dat.bz2",
                bundled=("face_recognition_models:models/shape_predictor_5_face_landmarks.dat",),
            ),
        ),
        ("dlib",),
        "dlib HOG detector + 5-point shape predictor (via DeepFace)",
    ),
)


@hookimpl
def register_detectors(register: Any) -> None:
    """DeepFace's detectors that facebench wraps."""
    for spec in DETECTORS:
        register(spec)
