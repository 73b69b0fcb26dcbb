"""RetinaFace MobileNet-0.25 (biubug6/Pytorch_Retinaface) face detector run through onnxruntime."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import cv2
import numpy as np

from bench.data.faces import Face

MEAN_BGR = np.array([104.0, 117.0, 123.0], dtype=np.float32)
MIN_SIZES = ((16, 32), (64, 128), (256, 512))
STEPS = (8, 16, 32)
VARIANCE = (0.1, 0.2)
PRE_NMS_TOP_K = 5000
POST_NMS_TOP_K = 750
# biubug6 landmark order is image-left eye, image-right eye, nose, image-left mouth corner,
# image-right mouth corner; the person's right eye is the one on the image's left.
LANDMARK_ORDER = ("right_eye", "left_eye", "nose", "mouth_right", "mouth_left")


@lru_cache(maxsize=16)
def prior_boxes(height: int, width: int) -> np.ndarray:
    """Anchors (P, 4) as normalised (cx, cy, w, h), in biubug6's ``PriorBox`` order (clip=False)."""
    levels = []
    for step, sizes in zip(STEPS, MIN_SIZES):
        rows, cols = -(-height // step), -(-width // step)  # ceil, like the network's stride-2 convs
        cy, cx = np.meshgrid(
            (np.arange(rows) + 0.5) * step / height, (np.arange(cols) + 0.5) * step / width, indexing="ij"
        )
        grid = np.empty((rows, cols, len(sizes), 4), dtype=np.float32)
        grid[..., 0], grid[..., 1] = cx[..., None], cy[..., None]
        grid[..., 2] = np.asarray(sizes, dtype=np.float32) / width
        grid[..., 3] = np.asarray(sizes, dtype=np.float32) / height
        levels.append(grid.reshape(-1, 4))
    return np.concatenate(levels)


def decode_boxes(loc: np.ndarray, priors: np.ndarray) -> np.ndarray:
    """biubug6 ``box_utils.decode``: regressions (P, 4) -> normalised corner boxes (x1, y1, x2, y2)."""
    centers = priors[:, :2] + loc[:, :2] * VARIANCE[0] * priors[:, 2:]
    sizes = priors[:, 2:] * np.exp(loc[:, 2:] * VARIANCE[1])
    return np.concatenate([centers - sizes / 2, centers + sizes / 2], axis=1)


def decode_landmarks(pre: np.ndarray, priors: np.ndarray) -> np.ndarray:
    """biubug6 ``box_utils.decode_landm``: regressions (P, 10) -> normalised points (P, 5, 2)."""
    offsets = pre.reshape(-1, 5, 2)
    return priors[:, None, :2] + offsets * VARIANCE[0] * priors[:, None, 2:]


def nms(boxes: np.ndarray, scores: np.ndarray, threshold: float) -> np.ndarray:
    """Indices kept by greedy non-maximum suppression over corner boxes, best score first."""
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    order = np.argsort(-scores, kind="stable")
    keep = []
    while order.size:
        best, rest = order[0], order[1:]
        keep.append(best)
        top_left = np.maximum(boxes[best, :2], boxes[rest, :2])
        bottom_right = np.minimum(boxes[best, 2:], boxes[rest, 2:])
        inter = np.prod(np.clip(bottom_right - top_left, 0, None), axis=1)
        iou = inter / np.maximum(areas[best] + areas[rest] - inter, 1e-12)
        order = rest[iou <= threshold]
    return np.asarray(keep, dtype=np.int64)


class RetinaFaceOnnx:
    """RetinaFace MobileNet-0.25 detector; returns :class:`Face` objects in original-image pixels."""

    def __init__(
        self,
        weights_path: str,
        confidence_threshold: float = 0.5,
        nms_threshold: float = 0.4,
        max_side: int = 0,
    ) -> None:
        """Load the ONNX model; ``max_side`` (> 0) downscales larger images before detection."""
        from bench.compute.runtime import onnx_session

        self.session: Any = onnx_session(weights_path, threads=1)  # one fixed thread count: boxes never vary
        self.input_name = self.session.get_inputs()[0].name
        self.confidence_threshold = confidence_threshold
        self.nms_threshold = nms_threshold
        self.max_side = max_side

    def detect(self, image: np.ndarray) -> list[Face]:
        """Faces in a BGR uint8 image (H, W, 3), most confident first; empty list when none."""
        if image.ndim != 3 or image.shape[2] != 3:
            raise ValueError(f"expected a BGR image of shape (H, W, 3), got {image.shape}")
        if image.shape[0] == 0 or image.shape[1] == 0:
            return []
        resized, scale = self._resize(image)
        boxes, scores, marks = self._infer(resized)
        keep = scores > self.confidence_threshold
        boxes, scores, marks = boxes[keep], scores[keep], marks[keep]
        top = np.argsort(-scores, kind="stable")[:PRE_NMS_TOP_K]
        kept = top[nms(boxes[top], scores[top], self.nms_threshold)][:POST_NMS_TOP_K]
        height, width = image.shape[:2]
        faces = [corner_face(boxes[i] / scale, float(scores[i]), marks[i] / scale, width, height) for i in kept]
        return [face for face in faces if face.w > 0 and face.h > 0]

    def _resize(self, image: np.ndarray) -> tuple[np.ndarray, float]:
        """The image downscaled so its longer side is at most ``max_side``, and the scale applied."""
        longest = max(image.shape[:2])
        if self.max_side <= 0 or longest <= self.max_side:
            return image, 1.0
        scale = self.max_side / longest
        size = (max(1, round(image.shape[1] * scale)), max(1, round(image.shape[0] * scale)))
        resized = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
        return resized, resized.shape[1] / image.shape[1]

    def _infer(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Decoded pixel boxes (P, 4), face scores (P,) and landmarks (P, 5, 2) for one image."""
        height, width = image.shape[:2]
        blob = (image.astype(np.float32) - MEAN_BGR).transpose(2, 0, 1)[None]
        loc, conf, landms = self.session.run(None, {self.input_name: np.ascontiguousarray(blob)})
        priors = prior_boxes(height, width)
        if loc.shape[1] != len(priors):
            raise RuntimeError(f"model gave {loc.shape[1]} predictions, expected {len(priors)} priors")
        size = np.array([width, height], dtype=np.float32)
        boxes = decode_boxes(loc[0], priors) * np.tile(size, 2)
        marks = decode_landmarks(landms[0], priors) * size
        return boxes, conf[0, :, 1], marks


def corner_face(
    box: np.ndarray, score: float, marks: np.ndarray, width: int, height: int, order: tuple[str, ...] = LANDMARK_ORDER
) -> Face:
    """A Face from a corner box (x1, y1, x2, y2) clipped to the image, its points named by ``order``."""
    x1, x2 = np.clip(box[[0, 2]], 0, width)
    y1, y2 = np.clip(box[[1, 3]], 0, height)
    landmarks = {name: (float(x), float(y)) for name, (x, y) in zip(order, marks)}
    return Face(float(x1), float(y1), float(x2 - x1), float(y2 - y1), score, landmarks)
