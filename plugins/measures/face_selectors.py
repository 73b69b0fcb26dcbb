"""Built-in face-selection policies: which of the faces found in an image is used.

Every ranking is deterministic: equal scores fall back to the higher confidence, then the larger clipped area,
then the box nearer the top-left, then detection order.
"""

from __future__ import annotations

from collections.abc import Callable

from bench.data.faces import Face
from bench.hookspecs import hookimpl
from bench.selection import FaceSelector


def _ranked(faces: list[Face], height: int, width: int, score: Callable[[Face], float]) -> list[int]:
    """Indices by ``score`` (highest first), ties broken as the module docstring says."""

    def key(i: int) -> tuple[float, ...]:
        x, y, w, h = faces[i].clipped(height, width)
        return (-score(faces[i]), -faces[i].confidence, -w * h, y, x, i)

    return sorted(range(len(faces)), key=key)


def clipped_area(face: Face, height: int, width: int) -> float:
    """Area of the box clipped to the image (a box reaching into DeepFace's padding counts only its visible part)."""
    _, _, w, h = face.clipped(height, width)
    return w * h


def centre_score(face: Face, height: int, width: int) -> float:
    """insightface's rule (``RetinaFace.detect`` with ``max_num``): clipped area minus twice the squared offset of
    the clipped box's centre from the image centre ``(width // 2, height // 2)``."""
    x, y, w, h = face.clipped(height, width)
    dx, dy = x + w / 2 - width // 2, y + h / 2 - height // 2
    return w * h - 2.0 * (dx * dx + dy * dy)


def center(faces: list[Face], height: int, width: int) -> list[int]:
    """Faces by :func:`centre_score`, best first."""
    return _ranked(faces, height, width, lambda f: centre_score(f, height, width))


def largest(faces: list[Face], height: int, width: int) -> list[int]:
    """Faces by clipped box area, largest first."""
    return _ranked(faces, height, width, lambda f: clipped_area(f, height, width))


def confidence(faces: list[Face], height: int, width: int) -> list[int]:
    """Faces by detector confidence, most confident first."""
    return _ranked(faces, height, width, lambda f: f.confidence)


def every(faces: list[Face], height: int, width: int) -> list[int]:
    """Every face, in detection order (the order DeepFace embeds them in)."""
    return list(range(len(faces)))


SELECTORS = (
    FaceSelector(
        "center",
        center,
        description="insightface: clipped box area - 2 x squared offset of its centre "
        "from the image centre (the default)",
    ),
    FaceSelector("largest", largest, description="the largest box, area clipped to the image"),
    FaceSelector("confidence", confidence, description="the detector's most confident face"),
    FaceSelector(
        "deepface",
        every,
        every_face=True,
        description="every face embedded; a pair scores its closest face pair (DeepFace.verify's rule)",
    ),
)


@hookimpl
def register_face_selectors(register: Callable[[FaceSelector], None]) -> None:
    """center, largest, confidence and deepface."""
    for selector in SELECTORS:
        register(selector)
