"""An RFB-320-like face detector (Ultra-Light-Fast-Generic-Face-Detector layout, npm ``faceplugin``) run through
onnxruntime: 320x240 RGB input, 4,420 priors, hard NMS; no landmarks. The graph decodes its regressions itself
(variances 0.1/0.2 against the priors below) and returns normalised corner boxes."""

from __future__ import annotations

from functools import cache
from typing import Any

import cv2
import numpy as np

from bench.data.faces import Face
from facebench_plugins.detectors.retinaface_onnx import corner_face, nms

INPUT_SIZE = (320, 240)  # (w, h)
MIN_BOXES = ((10, 16, 24), (32, 48), (64, 96), (128, 192, 256))
STRIDES = (8, 16, 32, 64)
MEAN, STD = 127.0, 128.0  # Ultra-Light's (x - 127) / 128 on RGB


@cache
def rfb_priors(width: int = INPUT_SIZE[0], height: int = INPUT_SIZE[1]) -> np.ndarray:
    """Ultra-Light's ``generate_priors``: (P, 4) normalised (cx, cy, w, h), clipped to [0, 1]."""
    levels = []
    for stride, sizes in zip(STRIDES, MIN_BOXES):
        cols, rows = -(-width // stride), -(-height // stride)
        cy, cx = np.meshgrid((np.arange(rows) + 0.5) / rows, (np.arange(cols) + 0.5) / cols, indexing="ij")
        grid = np.empty((rows, cols, len(sizes), 4), dtype=np.float32)
        grid[..., 0], grid[..., 1] = cx[..., None], cy[..., None]
        grid[..., 2] = np.asarray(sizes, dtype=np.float32) / width
        grid[..., 3] = np.asarray(sizes, dtype=np.float32) / height
        levels.append(grid.reshape(-1, 4))
    return np.clip(np.concatenate(levels), 0.0, 1.0)


class Rfb320:
    """The 320x240 RFB detector; returns :class:`Face` objects (no landmarks) in original-image pixels."""

    def __init__(self, weights_path: str, confidence_threshold: float = 0.7, nms_threshold: float = 0.3) -> None:
        """Load the ONNX graph (Ultra-Light's defaults: probability 0.7, IoU 0.3)."""
        from bench.compute.runtime import onnx_session

        self.session: Any = onnx_session(weights_path, threads=1)
        self.input_name = self.session.get_inputs()[0].name
        self.confidence_threshold = confidence_threshold
        self.nms_threshold = nms_threshold

    def detect(self, image: np.ndarray) -> list[Face]:
        """Faces in a BGR uint8 image (H, W, 3), most confident first; empty list when none."""
        height, width = image.shape[:2]
        if height == 0 or width == 0:
            return []
        rgb = cv2.resize(image[:, :, ::-1], INPUT_SIZE, interpolation=cv2.INTER_LINEAR).astype(np.float32)
        blob = ((rgb - MEAN) / STD).transpose(2, 0, 1)[None]
        scores, boxes = self.session.run(None, {self.input_name: np.ascontiguousarray(blob)})
        if boxes.shape[1] != len(rfb_priors()):
            raise RuntimeError(f"model gave {boxes.shape[1]} boxes, expected {len(rfb_priors())} priors (RFB-320)")
        corners = boxes[0]
        keep = scores[0, :, 1] > self.confidence_threshold
        corners, conf = corners[keep] * np.array([width, height] * 2, dtype=np.float32), scores[0, keep, 1]
        kept = nms(corners, conf, self.nms_threshold)
        faces = [corner_face(corners[i], float(conf[i]), np.empty((0, 2)), width, height) for i in kept]
        return [face for face in faces if face.w > 0 and face.h > 0]
