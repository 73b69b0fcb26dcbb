"""Shared glue for DeepFace-backed plugins: weight staging and DeepFace's padded-image geometry.

DeepFace detects on the image padded by half its size on every side (when ``align=True``) and aligns
inside that padded image; these helpers reproduce that exactly so distances match ``DeepFace.verify``.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

_STAGE: Path | None = None


def stage_weights(files: dict[str, Path]) -> None:
    """Expose resolved weight files to DeepFace under the names it expects, via a private DEEPFACE_HOME."""
    global _STAGE
    if _STAGE is None:
        _STAGE = Path(tempfile.mkdtemp(prefix="facebench-deepface-"))
        atexit.register(shutil.rmtree, _STAGE, True)
        (_STAGE / ".deepface" / "weights").mkdir(parents=True)
    for name, path in files.items():
        link = _STAGE / ".deepface" / "weights" / name
        if link.is_symlink() and link.resolve() != path.resolve():
            link.unlink()  # another weights folder was staged before: the model being built now uses this file
        if not link.is_symlink():
            link.symlink_to(path.resolve())
    os.environ["DEEPFACE_HOME"] = str(_STAGE)  # DeepFace reads it on every weight lookup


def borders(image: np.ndarray) -> tuple[int, int]:
    """DeepFace's padding: (height border, width border)."""
    return int(0.5 * image.shape[0]), int(0.5 * image.shape[1])


def pad(image: np.ndarray) -> np.ndarray:
    """The image padded with black the way DeepFace pads it before detection."""
    import cv2

    bh, bw = borders(image)
    return cv2.copyMakeBorder(image, bh, bh, bw, bw, cv2.BORDER_CONSTANT, value=[0, 0, 0])
