"""Face quality per image: detector confidence, sharpness of the face region, and face size.

The combined ``quality`` (higher is better) is 0.5 + half the mean of the three percentile ranks among the images
with a detected face, so in (0.5, 1]; an image without one (no face, whole-image fallback, unreadable) gets 0.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from bench.datasets import Dataset, Pairs
from bench.faces import Face
from bench.images import UnreadableImage, decode
from bench.pipeline import Detection


def sharpness(image: np.ndarray, face: Face) -> float:
    """Variance of the Laplacian of the grey face box (clipped to the image)."""
    import cv2

    h, w = image.shape[:2]
    x0, y0 = max(0, int(face.x)), max(0, int(face.y))
    x1, y1 = min(w, int(np.ceil(face.x + face.w))), min(h, int(np.ceil(face.y + face.h)))
    if x1 - x0 < 3 or y1 - y0 < 3:
        return 0.0
    grey = cv2.cvtColor(image[y0:y1, x0:x1], cv2.COLOR_BGR2GRAY)
    return float(cv2.Laplacian(grey, cv2.CV_64F).var())


def _measure_one(dataset: Dataset, i: int, detection: Detection) -> dict[str, object]:
    face = detection.face
    row: dict[str, object] = {"image": dataset.images[i].rel, "detected": detection.status == "ok",
                              "confidence": np.nan, "sharpness": np.nan, "face_px": np.nan}
    if face is None:
        return row
    try:
        row["sharpness"] = sharpness(decode(dataset.images[i].path, dataset.images[i].data), face)
    except UnreadableImage:
        return row
    row["confidence"] = face.confidence if detection.status == "ok" else 0.0
    row["face_px"] = float(np.sqrt(face.area))
    return row


def measure(dataset: Dataset, detections: list[Detection]) -> pd.DataFrame:
    """One row per image: confidence, sharpness, face_px (sqrt of the box area), and the combined quality."""
    frame = pd.DataFrame([_measure_one(dataset, i, d) for i, d in enumerate(detections)])
    detected = frame[frame.detected & frame.sharpness.notna()]
    frame["quality"] = 0.0
    frame.loc[detected.index, "quality"] = 0.5 + detected[["confidence", "sharpness", "face_px"]].rank(pct=True).mean(
        axis=1) / 2
    return frame


def lowest(quality: pd.Series, percent: float) -> np.ndarray:
    """Mask of the ``percent``% lowest-quality images (rounded to whole images; ties broken by order)."""
    n_drop = round(len(quality) * percent / 100)
    mask = np.zeros(len(quality), bool)
    mask[np.argsort(quality.to_numpy(), kind="stable")[:n_drop]] = True
    return mask


def without(pairs: Pairs, dropped: np.ndarray) -> Pairs:
    """The pairs neither of whose images is dropped."""
    keep = ~(dropped[pairs.left] | dropped[pairs.right])
    folds = pairs.folds[keep] if pairs.folds is not None else None
    return Pairs(pairs.left[keep], pairs.right[keep], pairs.same[keep], folds, pairs.source)
