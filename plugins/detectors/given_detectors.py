"""Detectors that detect nothing: the face is already known.

``aligned``: the image is an aligned crop (a ``.bin`` member) with the ArcFace 112x112 template's five points,
scaled to the image size; 5-point models are warped onto their template from exactly those points (for a 112x112
model the identity), and DeepFace-style models, which crop the box, get the whole crop (``whole_image``).
``given``: the dataset gives the face (IJB's 5 points and faceness score per loose crop); an image without one
has no face.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bench.compute.alignment import TEMPLATE_ORDER, template_points
from bench.data.faces import Face
from bench.registry import DetectorSpec


def template_face(height: int, width: int) -> Face:
    """The whole image as a face whose landmarks are the ArcFace template scaled to (width, height)."""
    points = template_points("arcface112", (width, height))
    marks = {name: (float(x), float(y)) for name, (x, y) in zip(TEMPLATE_ORDER, points)}
    return Face(0, 0, width, height, 1.0, marks, whole_image=True)


class AlignedCrop:
    """Every image is one aligned face: the template's points at the image's scale."""

    def detect(self, image: np.ndarray) -> list[Face]:
        """The template face of the image's size."""
        return [template_face(image.shape[0], image.shape[1])]


class GivenFace:
    """The dataset's face for the image; a face given without a box (w = h = 0) gets the whole image."""

    def detect(self, image: np.ndarray) -> list[Face]:
        """No face given: none."""
        return []

    def detect_given(self, image: np.ndarray, face: Face | None) -> list[Face]:
        """The given face (box filled in with the whole image when it has none), or none."""
        if face is None:
            return []
        if face.w > 0 and face.h > 0:
            return [face]
        height, width = image.shape[:2]
        return [Face(0, 0, width, height, face.confidence, dict(face.landmarks))]


DETECTORS = (
    DetectorSpec(
        name="aligned",
        load=lambda files: AlignedCrop(),
        settings={"family": "given", "template": "arcface112"},
        description="pre-aligned crops (insightface .bin): ArcFace template points scaled to the image",
    ),
    DetectorSpec(
        name="given",
        load=lambda files: GivenFace(),
        settings={"family": "given", "face": "dataset"},
        description="the dataset's own box / 5 points per image (IJB-B/C); no face where none is given",
    ),
)


def register(register: Any) -> None:
    """aligned and given."""
    for spec in DETECTORS:
        register(spec)
