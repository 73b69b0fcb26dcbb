"""A detector that finds two faces (and a tiny one) in every image and a recognizer embedding a face's mean colour:
what several tests need to tell which face a policy used."""

from __future__ import annotations

import numpy as np

from bench.data.faces import Face
from bench.registry import DetectorSpec, RecognizerSpec


class TwoFaces:
    """Two faces in every image: a large one in a corner and a smaller centred one (and one tiny one)."""

    calls = 0

    def detect(self, image: np.ndarray) -> list[Face]:
        TwoFaces.calls += 1
        h, w = image.shape[:2]
        return [Face(0, 0, w / 2, h / 2, 0.9), Face(w * 0.35, h * 0.35, w * 0.3, h * 0.3, 0.9), Face(0, 0, 5, 5, 0.99)]


class MeanColour:
    """A 'recognizer' whose vector is the mean BGR of the face box: different faces give different vectors."""

    calls = 0

    def crop(self, image: np.ndarray, face: Face) -> np.ndarray:
        x, y, w, h = (int(v) for v in (face.x, face.y, face.w, face.h))
        return image[y : y + h, x : x + w].reshape(-1, 3).mean(axis=0)

    def embed(self, crops: np.ndarray) -> np.ndarray:
        MeanColour.calls += len(crops)
        return crops.astype(np.float32) + 1


DETECTOR = DetectorSpec(name="two", load=lambda files: TwoFaces(), settings={"min_face_size": 10})
MODEL = RecognizerSpec(name="mean", load=lambda files: MeanColour(), dim=3)
