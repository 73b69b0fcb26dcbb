"""5-point face alignment to a template (similarity transform), with a centred-square fallback.

Core-free: numpy and OpenCV only. Landmark names follow facebench's person-centred convention
(``left_eye`` is the person's left eye, on the image's right).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping

import numpy as np

Box = tuple[float, float, float, float]  # x, y, w, h in pixels

METHOD = "umeyama-5pt/box-square"
"""Names what :func:`align` does, for cache keys: change it when the alignment changes."""

TEMPLATE_ORDER = ("right_eye", "left_eye", "nose", "mouth_right", "mouth_left")
"""Landmark names in template row order: image-left eye first, as in the ArcFace template."""

ARCFACE_112 = np.array(
    [[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366], [41.5493, 92.3655], [70.7299, 92.2041]],
    dtype=np.float64,
)

TEMPLATES: dict[str, tuple[np.ndarray, tuple[int, int]]] = {
    "arcface112": (ARCFACE_112, (112, 112)),
    "faceres224": ((ARCFACE_112 - 56) * 2 * 0.8 + 112, (224, 224)),  # HSE FaceRes (A. Savchenko)
}
"""Template name -> (5 points in template row order, the (w, h) they are defined for)."""


@functools.lru_cache(maxsize=32)
def template_points(name: str, size: tuple[int, int]) -> np.ndarray:
    """The template's points scaled to an output ``size`` (w, h), as insightface does for 112·k crops (read-only:
    made once per template and size)."""
    points, (width, height) = TEMPLATES[name]
    scaled = points * np.array([size[0] / width, size[1] / height])
    scaled.flags.writeable = False
    return scaled


def five_points(landmarks: Mapping[str, tuple[float, float]]) -> np.ndarray | None:
    """The 5 landmarks as a (5, 2) array in template order, or None when any is missing."""
    if not all(name in landmarks for name in TEMPLATE_ORDER):
        return None
    return np.array([landmarks[name] for name in TEMPLATE_ORDER], dtype=np.float64)


def similarity(src: np.ndarray, dst: np.ndarray) -> np.ndarray | None:
    """Least-squares similarity (rotation, uniform scale, shift; no reflection) mapping ``src`` onto ``dst``, as a
    2x3 matrix; None when the source points coincide. Umeyama's (1991) solution, in its closed 2-D form: with
    centred points p, q the matrix is [[a, -b], [b, a]], a = sum(p.q) / sum(|p|^2), b = sum(p x q) / sum(|p|^2).
    In plain floats: for 5 points, numpy's per-call cost is most of the work."""
    s, d, n = src.tolist(), dst.tolist(), len(src)
    sx, sy = sum(p[0] for p in s) / n, sum(p[1] for p in s) / n
    dx, dy = sum(q[0] for q in d) / n, sum(q[1] for q in d) / n
    norm = dot = cross = 0.0
    for (x, y), (u, v) in zip(s, d):
        x, y, u, v = x - sx, y - sy, u - dx, v - dy
        norm += x * x + y * y
        dot += x * u + y * v
        cross += x * v - y * u
    if norm < 1e-9 * n:
        return None
    a, b = dot / norm, cross / norm
    return np.array([[a, -b, dx - (a * sx - b * sy)], [b, a, dy - (b * sx + a * sy)]])


def box_square(box: Box, size: tuple[int, int]) -> np.ndarray:
    """2x3 matrix mapping the square centred on ``box`` (side = its longer side) onto ``size``."""
    x, y, w, h = box
    side = max(w, h, 1.0)
    sx, sy = size[0] / side, size[1] / side
    left, top = x + w / 2 - side / 2, y + h / 2 - side / 2
    return np.array([[sx, 0.0, -left * sx], [0.0, sy, -top * sy]])


def align(
    image: np.ndarray, landmarks: Mapping[str, tuple[float, float]], box: Box, template: str, size: tuple[int, int]
) -> tuple[np.ndarray, bool]:
    """The face warped to ``size`` (w, h), and whether the 5 landmarks were used.

    With all 5 landmarks: similarity transform onto the template. Otherwise (a detector that gives no or
    only eye landmarks, the whole-image ``skip`` face, or coincident points) the fallback is the square
    centred on the box, resized; pixels outside the image are black. It never raises for missing landmarks.
    """
    import cv2

    points = five_points(landmarks)
    matrix = None if points is None else similarity(points, template_points(template, size))
    aligned = matrix is not None
    if matrix is None:
        matrix = box_square(box, size)
    warped = cv2.warpAffine(image, matrix, size, flags=cv2.INTER_LINEAR, borderValue=(0, 0, 0))
    return warped, aligned
