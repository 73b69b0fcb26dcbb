"""What detectors return and what the two plugin interfaces look like."""

from __future__ import annotations

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
        """Box area in pixels."""
        return self.w * self.h

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
