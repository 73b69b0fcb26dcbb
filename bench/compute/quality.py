"""Face quality per image: the cached computation of :class:`~bench.measures.QualityMeasure` s, and the combined score.

A measure is computed once per image per detector (and per model where it needs one) and cached in the store
beside the detections (kind ``quality``), keyed by the detection's (or embedding's) namespace, the image content,
the face, and the measure's name and version. Images without a detected face get NaN: nothing to measure.

The combined ``quality`` of ``--drop-lowest-quality`` (higher is better) is 0.5 + half the mean of the percentile
ranks of detector confidence, sharpness and face size among the images with a detected face, so in (0.5, 1]; an
image without one (no face, whole-image fallback, unreadable) gets 0. Equal qualities are dropped in name order.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from bench.compute.executors import build
from bench.compute.pipeline import Detection, Pipeline
from bench.compute.store import Store
from bench.data.datasets import Dataset, Pairs
from bench.data.faces import Face, Recognizer
from bench.data.images import UnreadableImage, decode
from bench.measures import QualityMeasure, Sample
from bench.registry import DetectorSpec, RecognizerSpec

KIND = "quality"
"""Store kind of cached quality values."""


def _lazy(spec: RecognizerSpec, weights_dir: Path) -> Callable[[], Recognizer]:
    built: list[Recognizer] = []

    def get() -> Recognizer:
        if not built:
            built.append(build(spec, weights_dir))
        return built[0]

    return get


def face_key(image_sha: str, face: Face) -> str:
    """The cache key of one face of one image (the face-selection policy may pick another face of it)."""
    return f"{image_sha}-{face.key()}"


def _values(
    store: Store, namespace: str, shas: list[str], samples: list[Sample | None], measures: list[QualityMeasure]
) -> dict[str, np.ndarray]:
    """Each measure's value per image: from the cache, else computed and cached (one record per image and face)."""
    values = {m.name: np.full(len(shas), np.nan) for m in measures}
    for i, (sha, sample) in enumerate(zip(shas, samples)):
        if sample is None:
            continue
        key = face_key(sha, sample.face)
        record = store.get_json(KIND, namespace, key) or {}
        missing = [m for m in measures if m.key not in record]
        for m in missing:
            try:
                value = float(m.measure(sample))
            except UnreadableImage:
                value = float("nan")
            record[m.key] = value if np.isfinite(value) else None
        if missing:
            store.put_json(KIND, namespace, key, record)
        for m in measures:
            values[m.name][i] = np.nan if record[m.key] is None else record[m.key]
    return values


def image_qualities(
    pipeline: Pipeline,
    dataset: Dataset,
    detector: DetectorSpec,
    detections: list[Detection],
    measures: list[QualityMeasure],
) -> pd.DataFrame:
    """One row per image, one column per image measure (``needs_model`` False); NaN where no face was found."""
    chosen = [m for m in measures if not m.needs_model]
    samples = [
        Sample(img.path, d.face, weights_dir=pipeline.weights_dir) if d.status == "ok" and d.face is not None else None
        for img, d in zip(dataset.images, detections)
    ]
    values = _values(pipeline.store, pipeline.detection_namespace(detector), pipeline.hashes(dataset), samples, chosen)
    return pd.DataFrame({"image": [img.rel for img in dataset.images], **values})


def model_qualities(
    pipeline: Pipeline,
    dataset: Dataset,
    detector: DetectorSpec,
    detections: list[Detection],
    model: RecognizerSpec,
    vectors: np.ndarray,
    measures: list[QualityMeasure],
) -> pd.DataFrame:
    """One row per image, one column per model measure; NaN where no face was found or embedded."""
    chosen = [m for m in measures if m.needs_model]
    namespace = pipeline.embedding_namespace(model, detector)
    shas = pipeline.hashes(dataset)
    recognizer = _lazy(model, pipeline.weights_dir)
    keys = [face_key(sha, d.face) for sha, d in zip(shas, detections) if d.face is not None]
    stored = pipeline.store.embedded(namespace, keys)
    samples: list[Sample | None] = []
    for img, sha, d, vector in zip(dataset.images, shas, detections, vectors):
        if d.status != "ok" or d.face is None or np.isnan(vector).any():
            samples.append(None)
            continue
        entry = stored.get(face_key(sha, d.face))
        quality = None if entry is None else entry.quality
        samples.append(Sample(img.path, d.face, vector, quality, model, pipeline.weights_dir, recognizer))
    values = _values(pipeline.store, namespace, shas, samples, chosen)
    return pd.DataFrame({"image": [img.rel for img in dataset.images], **values})


def face_box(image: np.ndarray, face: Face) -> np.ndarray:
    """The face box of ``image`` clipped to it (may be empty)."""
    h, w = image.shape[:2]
    x0, y0 = max(0, int(face.x)), max(0, int(face.y))
    x1, y1 = min(w, int(np.ceil(face.x + face.w))), min(h, int(np.ceil(face.y + face.h)))
    return image[y0 : max(y0, y1), x0 : max(x0, x1)]


def sharpness(image: np.ndarray, face: Face) -> float:
    """Variance of the Laplacian of the grey face box (clipped to the image)."""
    import cv2

    box = face_box(image, face)
    if box.shape[0] < 3 or box.shape[1] < 3:
        return 0.0
    return float(cv2.Laplacian(cv2.cvtColor(box, cv2.COLOR_BGR2GRAY), cv2.CV_64F).var())


def _measure_one(dataset: Dataset, i: int, detection: Detection) -> dict[str, object]:
    face = detection.face
    row: dict[str, object] = {
        "image": dataset.images[i].rel,
        "detected": detection.status == "ok",
        "confidence": np.nan,
        "sharpness": np.nan,
        "face_px": np.nan,
    }
    if face is None:
        return row
    try:
        row["sharpness"] = sharpness(decode(dataset.images[i].path, dataset.images[i].data), face)
    except UnreadableImage:
        return row
    row["confidence"] = face.confidence if detection.status == "ok" else 0.0
    row["face_px"] = float(np.sqrt(face.area))
    return row


COMBINED_OF = ("confidence", "sharpness", "face_px")
"""The columns the combined score ranks."""


def combined(frame: pd.DataFrame) -> pd.Series:
    """0.5 + half the mean percentile rank of :data:`COMBINED_OF` where all are measured, else 0."""
    measured = frame[list(COMBINED_OF)].notna().all(axis=1)
    score = pd.Series(0.0, index=frame.index)
    score[measured] = 0.5 + frame.loc[measured, list(COMBINED_OF)].rank(pct=True).mean(axis=1) / 2
    return score


def measure(dataset: Dataset, detections: list[Detection]) -> pd.DataFrame:
    """One row per image: confidence, sharpness, face_px (sqrt of the box area), and the combined quality."""
    frame = pd.DataFrame([_measure_one(dataset, i, d) for i, d in enumerate(detections)])
    return frame.assign(quality=combined(frame[frame.detected]).reindex(frame.index, fill_value=0.0))


def lowest(quality: pd.Series, percent: float, names: Sequence[str]) -> np.ndarray:
    """Mask of the ``percent``% lowest-quality images (rounded to whole images); of equal qualities (e.g. every
    image without a face, all 0) the first by name is dropped first, whatever the order of the images."""
    n_drop = round(len(quality) * percent / 100)
    mask = np.zeros(len(quality), bool)
    mask[np.lexsort((np.asarray(names, dtype=str), quality.to_numpy()))[:n_drop]] = True
    return mask


def without(pairs: Pairs, dropped: np.ndarray) -> Pairs:
    """The pairs neither of whose images is dropped."""
    keep = ~(dropped[pairs.left] | dropped[pairs.right])
    folds = pairs.folds[keep] if pairs.folds is not None else None
    return Pairs(pairs.left[keep], pairs.right[keep], pairs.same[keep], folds, pairs.source)
