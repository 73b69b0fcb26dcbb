"""Reading image files: content hash and decoding to BGR uint8."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np


class UnreadableImage(Exception):
    """An image file that cannot be decoded; the message is the recorded reason."""


def file_sha256(path: Path) -> str:
    """sha256 of the file's bytes."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def decode(path: Path) -> np.ndarray:
    """The image as BGR uint8 (H, W, 3), EXIF orientation applied (as ``cv2.imread`` does)."""
    import cv2

    try:
        data = np.frombuffer(path.read_bytes(), dtype=np.uint8)
    except OSError as err:
        raise UnreadableImage(f"cannot read file: {err.strerror}") from err
    if data.size == 0:
        raise UnreadableImage("empty file")
    image = cv2.imdecode(data, cv2.IMREAD_COLOR)
    if image is None:
        raise UnreadableImage("not a decodable image")
    return image
