"""Reading image files: content hash and decoding to BGR uint8."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from bench.errors import BenchError

MAX_SIDE = 2048
"""Longer images are downscaled to this side on decode: DeepFace's detectors pad an 8000x6000 photo to four times
its pixels and OpenCV's cascade then takes ~45 s on it; faces stay far above detection size at 2048."""


class UnreadableImage(BenchError):
    """An image file that cannot be decoded; the message is the recorded reason."""


UNREADABLE_KEY = "unreadable-"
"""Prefix of the key :func:`file_sha256` gives a file it could not read."""


def file_sha256(path: Path) -> str:
    """sha256 of the file's bytes; an unreadable file gets a key of its own path so it is never confused."""
    try:
        return bytes_sha256(path.read_bytes())
    except OSError:
        return UNREADABLE_KEY + hashlib.sha256(str(path).encode()).hexdigest()


def bytes_sha256(data: bytes) -> str:
    """sha256 of encoded image bytes held in memory (a member of a container such as a ``.bin``)."""
    return hashlib.sha256(data).hexdigest()


def _pillow_decode(data: bytes) -> np.ndarray | None:
    """Formats OpenCV lacks (GIF, some WebP/TIFF variants): first frame, RGB -> BGR."""
    import io

    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as image:
            rgb = ImageOps.exif_transpose(image).convert("RGB")
    except (UnidentifiedImageError, OSError, ValueError):
        return None
    return np.ascontiguousarray(np.asarray(rgb)[:, :, ::-1])


def decode(path: Path, data: bytes | None = None) -> np.ndarray:
    """The image as BGR uint8 (H, W, 3), EXIF orientation applied (as ``cv2.imread`` does).

    ``data``: the encoded bytes when they are held in memory (``path`` then only names their container).
    """
    import cv2

    if data is None:
        try:
            data = path.read_bytes()
        except OSError as err:
            raise UnreadableImage(f"cannot read file: {err.strerror or err}") from err
    if not data:
        raise UnreadableImage("empty file (0 bytes)")
    image = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        image = _pillow_decode(data)
    if image is None:
        raise UnreadableImage("not a decodable image (corrupt, truncated or not an image)")
    if min(image.shape[:2]) < 2:
        raise UnreadableImage(f"image too small ({image.shape[1]}x{image.shape[0]})")
    scale = MAX_SIDE / max(image.shape[:2])
    if scale < 1:
        size = (round(image.shape[1] * scale), round(image.shape[0] * scale))
        image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    return image
