"""RetinaFace with a MobileNetV2 backbone (pip ``retinaface``, heewinkim) through onnxruntime; NMS is in the graph."""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from bench.data.faces import Face
from facebench_plugins.detectors.retinaface_onnx import corner_face

MULTIPLE = 32  # the graph needs H and W multiples of 32
SCORE_COLUMN = 15  # [K, 16] rows: box (4), 5 landmarks (10), landmark flag, score


def pad_to_multiple(rgb: np.ndarray, multiple: int = MULTIPLE) -> np.ndarray:
    """The image padded at the bottom and right with zeros to sides divisible by ``multiple``, as float32."""
    height, width = rgb.shape[:2]
    out = np.zeros((-(-height // multiple) * multiple, -(-width // multiple) * multiple, 3), dtype=np.float32)
    out[:height, :width] = rgb
    return out


class RetinaFaceMbv2:
    """RetinaFace-MobileNetV2 detector; returns :class:`Face` objects in original-image pixels."""

    def __init__(self, weights_path: str, confidence_threshold: float = 0.5, max_side: int = 640) -> None:
        """Load the ONNX graph; ``max_side`` (> 0) downscales larger images before detection."""
        from bench.compute.runtime import onnx_session

        self.session: Any = onnx_session(weights_path, threads=1)
        self.input_name = self.session.get_inputs()[0].name
        self.confidence_threshold = confidence_threshold
        self.max_side = max_side

    def detect(self, image: np.ndarray) -> list[Face]:
        """Faces in a BGR uint8 image (H, W, 3), most confident first; empty list when none."""
        height, width = image.shape[:2]
        if height == 0 or width == 0:
            return []
        scale = min(1.0, self.max_side / max(height, width)) if self.max_side > 0 else 1.0
        rgb: np.ndarray = image[:, :, ::-1]
        if scale < 1.0:
            new_size = (max(1, round(width * scale)), max(1, round(height * scale)))
            rgb = cv2.resize(rgb, new_size, interpolation=cv2.INTER_AREA)
        blob = pad_to_multiple(rgb)
        rows = self.session.run(None, {self.input_name: blob[None]})[0]
        rows = rows[rows[:, SCORE_COLUMN] > self.confidence_threshold]
        rows = rows[np.argsort(-rows[:, SCORE_COLUMN], kind="stable")]
        size = np.array([blob.shape[1], blob.shape[0]], dtype=np.float32) / scale
        faces = [
            corner_face(
                row[:4] * np.tile(size, 2), float(row[SCORE_COLUMN]), row[4:14].reshape(5, 2) * size, width, height
            )
            for row in rows
        ]
        return [face for face in faces if face.w > 0 and face.h > 0]
