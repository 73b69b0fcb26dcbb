"""Face selection: which of the faces found in an image is used (a named, recorded policy)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bench.data.faces import Face

Chooser = Callable[[list[Face], int, int], list[int]]
"""(faces, image height, image width) -> indices of the faces to use, best first (deterministic)."""

DEFAULT = "center"
"""The policy used when none is named (``--face``)."""


@dataclass(frozen=True)
class FaceSelector:
    """A face-selection policy; with ``every_face`` all faces are embedded and a pair's score is the best
    over face pairs (DeepFace's ``verify``), otherwise the first index returned is the face used."""

    name: str
    choose: Chooser
    every_face: bool = False
    description: str = ""
    plugin: str = ""

    def used(self, faces: list[Face], height: int, width: int) -> list[int]:
        """Indices of the faces embedded for one image, best first: one, or all under ``every_face``."""
        order = self.choose(faces, height, width) if faces else []
        return order if self.every_face else order[:1]
