"""Fake plugins for the fast tier: a detector and a recognizer that need no weights and take microseconds.

FakeNet embeds a face as (mean B, mean G, mean R of its box, box centre x / image width): identities drawn in
different colours are told apart perfectly, and which face of a two-face image was used shows in the vector.
``fake-dies`` is ``fake-box`` that kills the worker process it runs in (see :data:`DIES`).
"""

from __future__ import annotations

import multiprocessing
import os
import signal
from collections.abc import Callable
from pathlib import Path

import numpy as np

from bench.compute.weights import WeightFile
from bench.data.faces import Face
from bench.hookspecs import hookimpl
from bench.registry import DetectorSpec, RecognizerSpec


class CentreBox:
    """One face: the middle half of the image; two faces (left small, right large) on images 2x wider than tall."""

    def detect(self, image: np.ndarray) -> list[Face]:
        h, w = image.shape[:2]
        if w >= 2 * h:
            return [Face(0, 0, w / 2 - 4, h - 4, 0.9), Face(w / 2, 0, w / 2, h, 0.8)]
        return [Face(w / 4, h / 4, w / 2, h / 2, 0.99, {"left_eye": (0.6 * w, h / 3), "right_eye": (0.4 * w, h / 3)})]


DIES = "FAKE_DIES"
"""``fake-dies`` kills (SIGKILL) the worker process it runs in, never the main one: ``always``, or, when this
names a file, only while that file does not exist (it is created just before, so a retry succeeds)."""


class DiesInWorkers(CentreBox):
    """CentreBox that kills its worker process as :data:`DIES` says."""

    def detect(self, image: np.ndarray) -> list[Face]:
        if multiprocessing.parent_process() is not None and _should_die(os.environ.get(DIES, "")):
            os.kill(os.getpid(), signal.SIGKILL)
        return super().detect(image)


def _should_die(marker: str) -> bool:
    if marker in ("", "always"):
        return marker == "always"
    try:
        Path(marker).touch(exist_ok=False)
    except FileExistsError:
        return False
    return True


class FakeNet:
    """Mean colour of the face box and its centre's x position."""

    def crop(self, image: np.ndarray, face: Face) -> np.ndarray:
        w = image.shape[1]
        x0, y0 = max(0, int(face.x)), max(0, int(face.y))
        box = image[y0 : max(y0 + 1, int(face.y + face.h)), x0 : max(x0 + 1, int(face.x + face.w))]
        return np.array([*box.reshape(-1, 3).mean(0) / 255.0, (face.x + face.w / 2) / w], dtype=np.float32)

    def embed(self, crops: np.ndarray) -> np.ndarray:
        return np.asarray(crops, dtype=np.float32) + 1e-3


@hookimpl
def register_detectors(register: Callable[[DetectorSpec], None]) -> None:
    register(
        DetectorSpec(
            name="fake-box", load=lambda files: CentreBox(), settings={"family": "fake"}, description="test detector"
        )
    )
    register(DetectorSpec(name="fake-dies", load=lambda files: DiesInWorkers(), description="kills its worker"))


@hookimpl
def register_recognizers(register: Callable[[RecognizerSpec], None]) -> None:
    register(
        RecognizerSpec(
            name="FakeNet",
            load=lambda files: FakeNet(),
            dim=4,
            input_size=(0, 0),
            settings={"family": "fake"},
            thresholds={"euclidean": 0.1},
        )
    )
    register(
        RecognizerSpec(
            name="NeedsWeights",
            load=lambda files: FakeNet(),
            dim=4,
            input_size=(0, 0),
            weights=(WeightFile("needs_weights.bin", url="https://example.invalid/w.bin"),),
        )
    )
    register(
        RecognizerSpec(
            name="AlsoNeedsWeights",
            load=lambda files: FakeNet(),
            dim=4,
            input_size=(0, 0),
            weights=(WeightFile("also_needed.onnx", note="export it from the authors' repo"),),
        )
    )


def make_dataset(root: Path, identities: int = 4, per_identity: int = 4, seed: int = 0) -> Path:
    """Identities as colours: ``root/<id>/<id>_<k>.png``, each image its colour plus noise."""
    import cv2

    rng = np.random.default_rng(seed)
    for i in range(identities):
        colour = rng.integers(30, 225, 3)
        folder = root / f"person{i}"
        folder.mkdir(parents=True, exist_ok=True)
        for k in range(per_identity):
            image = np.clip(colour + rng.normal(0, 6, (48, 48, 3)), 0, 255).astype(np.uint8)
            cv2.imwrite(str(folder / f"person{i}_{k}.png"), image)
    return root
