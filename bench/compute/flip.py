"""Flip test-time augmentation: a recognizer's embedding of the face plus that of its mirror image (as
insightface's and CVLface's verification report), for any recognizer."""

from __future__ import annotations

import numpy as np

from bench.data.faces import Face, Recognizer

MIRRORED_NAMES = {
    "left_eye": "right_eye",
    "right_eye": "left_eye",
    "mouth_left": "mouth_right",
    "mouth_right": "mouth_left",
}
"""In the mirror image the person's left eye is where a right eye appears: person-centred names swap."""


def mirror_face(face: Face, width: int) -> Face:
    """``face`` in the horizontally mirrored image of ``width`` pixels (pixel x -> width - 1 - x)."""
    marks = {MIRRORED_NAMES.get(name, name): (width - 1 - x, y) for name, (x, y) in face.landmarks.items()}
    return Face(width - face.x - face.w, face.y, face.w, face.h, face.confidence, marks, face.whole_image)


class FlipRecognizer:
    """Wraps a recognizer: each crop is the pair (face, mirrored face); the embedding is the sum of both."""

    def __init__(self, inner: Recognizer) -> None:
        self.inner = inner

    def crop(self, image: np.ndarray, face: Face) -> np.ndarray:
        """The inner model's input for the face and for the same face in the mirrored image, stacked."""
        mirrored = np.ascontiguousarray(image[:, ::-1])
        return np.stack([self.inner.crop(image, face), self.inner.crop(mirrored, mirror_face(face, image.shape[1]))])

    def embed(self, crops: np.ndarray) -> np.ndarray:
        """Sum of the two embeddings of each (face, mirror) pair, in one inner batch."""
        flat = crops.reshape(len(crops) * 2, *crops.shape[2:])
        return np.asarray(self.inner.embed(flat)).reshape(len(crops), 2, -1).sum(axis=1)  # type: ignore[no-any-return]
