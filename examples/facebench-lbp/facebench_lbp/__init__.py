"""LBP: the Local Binary Pattern histogram face descriptor as a facebench recognizer plugin."""

from __future__ import annotations

from typing import Any

import numpy as np

from bench.data.faces import Face
from bench.hookspecs import hookimpl
from bench.registry import RecognizerSpec

SIZE = 112  # face crop side in pixels
GRID = 7  # cells per side
NEIGHBOURS = ((-1, -1), (-1, 0), (-1, 1), (0, 1), (1, 1), (1, 0), (1, -1), (0, -1))


def _uniform_table() -> np.ndarray:
    """Maps the 256 codes to 59 bins: one per uniform pattern (<= 2 bit transitions), one for the rest."""
    transitions = np.array([bin(c ^ ((c << 1 | c >> 7) & 0xFF)).count("1") for c in range(256)])
    table = np.full(256, 58)
    table[transitions <= 2] = np.arange(int((transitions <= 2).sum()))
    return table


TABLE = _uniform_table()
DIM = GRID * GRID * 59


class LocalBinaryPatterns:
    """Square crop around the box, grey, LBP codes, per-cell uniform-pattern histograms (Hellinger)."""

    def crop(self, image: np.ndarray, face: Face) -> np.ndarray:
        """The grey face square around the box, eyes levelled when the detector gives them, SIZE x SIZE."""
        import cv2

        cx, cy = face.x + face.w / 2, face.y + face.h / 2
        angle = 0.0
        if "left_eye" in face.landmarks and "right_eye" in face.landmarks:
            (lx, ly), (rx, ry) = face.landmarks["left_eye"], face.landmarks["right_eye"]
            angle = float(np.degrees(np.arctan2(ly - ry, lx - rx)))
        matrix = cv2.getRotationMatrix2D((cx, cy), angle, SIZE / max(face.w, face.h))
        matrix[:, 2] += (SIZE / 2 - cx, SIZE / 2 - cy)
        grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
        return cv2.warpAffine(grey, matrix, (SIZE, SIZE)).astype(np.float32)

    def embed(self, crops: np.ndarray) -> np.ndarray:
        """One histogram vector per crop."""
        return np.stack([self._describe(c) for c in crops]).astype(np.float32)

    @staticmethod
    def _describe(grey: np.ndarray) -> np.ndarray:
        centre = grey[1:-1, 1:-1]
        codes = np.zeros(centre.shape, dtype=np.int64)
        for bit, (dy, dx) in enumerate(NEIGHBOURS):
            codes |= (grey[1 + dy : grey.shape[0] - 1 + dy, 1 + dx : grey.shape[1] - 1 + dx] >= centre) << bit
        bins = TABLE[codes]
        cell = bins.shape[0] // GRID
        hists = [
            np.bincount(bins[r * cell : (r + 1) * cell, c * cell : (c + 1) * cell].ravel(), minlength=59)
            for r in range(GRID)
            for c in range(GRID)
        ]
        vector = np.concatenate(hists).astype(np.float64)
        return np.sqrt(vector / vector.sum())


@hookimpl
def register_recognizers(register: Any) -> None:
    """The LBP descriptor (no weights)."""
    register(
        RecognizerSpec(
            name="LBP",
            load=lambda files: LocalBinaryPatterns(),
            requires=("cv2",),
            settings={"size": SIZE, "grid": GRID, "version": 2},
            description="Local Binary Pattern histograms (Ahonen et al. 2006), example third-party plugin",
            dim=DIM,
            input_size=(SIZE, SIZE),
        )
    )
