"""What detectors return and what the two plugin interfaces look like."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

LANDMARK_NAMES = ("left_eye", "right_eye", "nose", "mouth_left", "mouth_right")
"""Five landmarks, named from the person's point of view (DeepFace's convention):
``left_eye`` is the person's left eye, which appears on the right side of the image."""

Point = tuple[float, float]


@dataclass(frozen=True)
class Face:
    """One detected face in original-image pixel coordinates."""

    x: float
    y: float
    w: float
    h: float
    confidence: float = 0.0
    landmarks: dict[str, Point] = field(default_factory=dict)
    whole_image: bool = False  # True when no detector ran (the ``skip`` backend / fallback)

    @property
    def area(self) -> float:
        """Box area in pixels (unclipped: a box may reach past the image edge)."""
        return self.w * self.h

    def clipped(self, height: int, width: int) -> tuple[float, float, float, float]:
        """The box (x, y, w, h) clipped to a ``width`` x ``height`` image; w or h is 0 when it lies outside."""
        x1, y1 = max(self.x, 0.0), max(self.y, 0.0)
        x2, y2 = min(self.x + self.w, float(width)), min(self.y + self.h, float(height))
        return x1, y1, max(x2 - x1, 0.0), max(y2 - y1, 0.0)

    def key(self) -> str:
        """A short stable hash of the box, confidence and landmarks (embeddings are cached per face)."""
        blob = json.dumps(self.to_json(), sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:16]

    def to_json(self) -> dict[str, Any]:
        """A JSON-safe dict (the detection cache stores these)."""
        return {
            "box": [float(v) for v in (self.x, self.y, self.w, self.h)],
            "confidence": float(self.confidence),
            "landmarks": {k: [float(v[0]), float(v[1])] for k, v in self.landmarks.items()},
            "whole_image": self.whole_image,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Face:
        """Inverse of :meth:`to_json`."""
        x, y, w, h = data["box"]
        marks = {k: (float(v[0]), float(v[1])) for k, v in data["landmarks"].items()}
        return cls(x, y, w, h, float(data["confidence"]), marks, bool(data["whole_image"]))

    @classmethod
    def whole(cls, height: int, width: int) -> Face:
        """The whole image as one face (no detection)."""
        return cls(0, 0, width, height, 0.0, {}, True)


REJECTIONS = ("below_confidence", "face_too_small")
"""Why :func:`screen` rejects a face."""


def screen(
    faces: list[Face], height: int, width: int, min_confidence: float, min_size: float
) -> tuple[list[Face], list[tuple[Face, str]]]:
    """(faces kept, (face, reason) per rejected face): confidence below ``min_confidence``, or (with
    ``min_size`` > 0) the shorter side of the box clipped to the image below ``min_size`` px. Whole-image faces
    are never rejected."""
    kept, rejected = [], []
    for face in faces:
        if not face.whole_image and face.confidence < min_confidence:
            rejected.append((face, "below_confidence"))
        elif not face.whole_image and min_size > 0 and min(face.clipped(height, width)[2:]) < min_size:
            rejected.append((face, "face_too_small"))
        else:
            kept.append(face)
    return kept, rejected


class Detector(Protocol):
    """A loaded face detector."""

    def detect(self, image: np.ndarray) -> list[Face]:
        """Faces found in a BGR uint8 image (H, W, 3); empty list when none."""
        ...


class Recognizer(Protocol):
    """A loaded face recognizer."""

    def crop(self, image: np.ndarray, face: Face) -> np.ndarray:
        """The model-ready input for one face of a BGR uint8 image (alignment + resize + scaling)."""
        ...

    def embed(self, crops: np.ndarray) -> np.ndarray:
        """Embeddings (N, D) float32 for a batch of crops stacked as returned by :meth:`crop`."""
        ...
