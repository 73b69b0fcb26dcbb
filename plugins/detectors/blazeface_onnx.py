"""MediaPipe BlazeFace (short-range front 128x128 and back-camera 256x256) run through onnxruntime, with
MediaPipe's SSD anchors, box/keypoint decoding and weighted NMS, on the image letterboxed to a square.

Keypoints (MediaPipe order): right eye, left eye, nose tip, mouth centre, right ear, left ear. facebench's five
points need both mouth corners, which BlazeFace does not give: faces carry only ``right_eye``, ``left_eye`` and
``nose``, so 5-point alignment falls back to the box square (as for DeepFace's ``mediapipe``, which gives eyes)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

import cv2
import numpy as np

from bench.data.faces import Face

KEYPOINT_NAMES = ("right_eye", "left_eye", "nose")  # MediaPipe's first three keypoints; the person's right eye
# is the one on the image's left


@dataclass(frozen=True)
class AnchorOptions:
    """MediaPipe ``SsdAnchorsCalculatorOptions`` (fixed anchor size, aspect ratio 1, offset 0.5)."""

    input_size: int
    strides: tuple[int, ...]
    min_scale: float
    max_scale: float
    min_score: float  # TensorsToDetections ``min_score_thresh``


FRONT = AnchorOptions(128, (8, 16, 16, 16), 0.1484375, 0.75, 0.5)  # face_detection_short_range
BACK = AnchorOptions(256, (16, 32, 32, 32), 0.15625, 0.75, 0.5)  # face_detection_back (face_detection_full_range's
# predecessor): 16x16 x 2 + 8x8 x 6 anchors at 256 px
SUPPRESSION_IOU = 0.3  # NonMaxSuppressionCalculator min_suppression_threshold, WEIGHTED


@cache
def ssd_anchors(options: AnchorOptions) -> np.ndarray:
    """Anchor centres (A, 2), normalised, in MediaPipe's order: layers of one stride share a grid, 2 anchors
    per layer (the aspect-ratio-1 box and the interpolated scale); with fixed anchor size only centres matter."""
    centres = []
    layer = 0
    while layer < len(options.strides):
        stride = options.strides[layer]
        same = sum(1 for s in options.strides[layer:] if s == stride)
        cells = -(-options.input_size // stride)
        ys, xs = np.meshgrid((np.arange(cells) + 0.5) / cells, (np.arange(cells) + 0.5) / cells, indexing="ij")
        grid = np.stack([xs, ys], axis=-1).reshape(-1, 1, 2)
        centres.append(np.repeat(grid, 2 * same, axis=1).reshape(-1, 2))
        layer += same
    return np.concatenate(centres).astype(np.float32)


def decode(raw: np.ndarray, anchors: np.ndarray, input_size: int) -> tuple[np.ndarray, np.ndarray]:
    """MediaPipe ``TensorsToDetections`` (reverse_output_order, fixed anchors): raw (A, 16) -> normalised corner
    boxes (A, 4) and keypoints (A, 6, 2)."""
    values = raw / input_size
    centres = anchors + values[:, :2]
    half = values[:, 2:4] / 2
    keypoints = anchors[:, None] + values[:, 4:16].reshape(-1, 6, 2)
    return np.concatenate([centres - half, centres + half], axis=1), keypoints


def iou_one(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """IoU of one corner box with many."""
    top_left = np.maximum(box[:2], boxes[:, :2])
    bottom_right = np.minimum(box[2:], boxes[:, 2:])
    inter = np.prod(np.clip(bottom_right - top_left, 0, None), axis=1)
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    return inter / np.maximum((box[2] - box[0]) * (box[3] - box[1]) + areas - inter, 1e-12)


def weighted_nms(
    boxes: np.ndarray, keypoints: np.ndarray, scores: np.ndarray, threshold: float = SUPPRESSION_IOU
) -> list[tuple[np.ndarray, np.ndarray, float]]:
    """MediaPipe's WEIGHTED suppression: each cluster (IoU > ``threshold`` with its best box) becomes the
    score-weighted mean of its boxes and keypoints, scored by its best box; best first."""
    order = np.argsort(-scores, kind="stable")
    out = []
    while order.size:
        overlap = iou_one(boxes[order[0]], boxes[order])
        members, order = order[overlap > threshold], order[overlap <= threshold]
        weights = scores[members][:, None]
        box = (boxes[members] * weights).sum(axis=0) / weights.sum()
        points = (keypoints[members] * weights[:, :, None]).sum(axis=0) / weights.sum()
        out.append((box, points, float(scores[members[0]])))
    return out


def letterbox(image: np.ndarray, size: int) -> tuple[np.ndarray, float, float, float]:
    """The RGB image fitted into a ``size`` square (black bars), in [-1, 1]; and (scale, pad x, pad y) in pixels
    of the square, to map normalised outputs back."""
    height, width = image.shape[:2]
    scale = size / max(height, width)
    new_w, new_h = max(1, round(width * scale)), max(1, round(height * scale))
    pad_x, pad_y = (size - new_w) // 2, (size - new_h) // 2
    square = np.zeros((size, size, 3), dtype=np.float32)
    square[pad_y : pad_y + new_h, pad_x : pad_x + new_w] = cv2.resize(
        image[:, :, ::-1], (new_w, new_h), interpolation=cv2.INTER_AREA
    )
    return square / 127.5 - 1.0, scale, pad_x, pad_y


class BlazeFace:
    """BlazeFace detector (front or back model); returns :class:`Face` objects in original-image pixels."""

    def __init__(self, weights_path: str, options: AnchorOptions, min_score: float | None = None) -> None:
        """Load the ONNX graph; ``min_score`` overrides MediaPipe's score threshold."""
        from bench.compute.runtime import onnx_session

        self.session: Any = onnx_session(weights_path, threads=1)
        self.input_name = self.session.get_inputs()[0].name
        self.options = options
        self.min_score = options.min_score if min_score is None else min_score

    def _raw(self, blob: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Regressions (A, 16) and logits (A,), the two output layers joined largest grid first."""
        outputs = self.session.run(None, {self.input_name: blob[None]})
        scores = sorted((o[0] for o in outputs if o.shape[-1] == 1), key=len, reverse=True)
        boxes = sorted((o[0] for o in outputs if o.shape[-1] == 16), key=len, reverse=True)
        return np.concatenate(boxes), np.concatenate(scores)[:, 0]

    def detect(self, image: np.ndarray) -> list[Face]:
        """Faces in a BGR uint8 image (H, W, 3), most confident first; empty list when none."""
        if image.shape[0] == 0 or image.shape[1] == 0:
            return []
        size = self.options.input_size
        blob, scale, pad_x, pad_y = letterbox(image, size)
        raw, logits = self._raw(blob)
        anchors = ssd_anchors(self.options)
        if len(raw) != len(anchors):
            raise RuntimeError(f"model gave {len(raw)} boxes, expected {len(anchors)} anchors")
        scores = 1.0 / (1.0 + np.exp(-np.clip(logits.astype(np.float64), -100.0, 100.0)))  # score_clipping_thresh 100
        keep = scores >= self.min_score
        boxes, points = decode(raw[keep], anchors[keep], size)
        offset = np.array([pad_x, pad_y], dtype=np.float32)
        faces = []
        for box, marks, score in weighted_nms(boxes, points, scores[keep]):
            corners = (box.reshape(2, 2) * size - offset) / scale
            pixels = (marks[: len(KEYPOINT_NAMES)] * size - offset) / scale
            faces.append(self._face(corners, pixels, score, image.shape[1], image.shape[0]))
        return [face for face in faces if face.w > 0 and face.h > 0]

    @staticmethod
    def _face(corners: np.ndarray, marks: np.ndarray, score: float, width: int, height: int) -> Face:
        from facebench_plugins.detectors.retinaface_onnx import corner_face

        return corner_face(corners.reshape(4), score, marks, width, height, KEYPOINT_NAMES)
