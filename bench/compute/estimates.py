"""Estimated attributes (:class:`~bench.measures.AttributeEstimator`): each image's label from its detected face,
cached in the store (kind ``attributes``) per detector, estimator version, image content and face.

Images without a detected face get no label (they are reported ``unlabelled``, never guessed). The labels go into
:attr:`Image.attrs` under the estimator's ``attribute`` name (``gender (estimated)``).
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from typing import Any

from bench.compute.pipeline import Pipeline
from bench.compute.quality import face_key
from bench.data.datasets import Carries, Dataset
from bench.data.images import UnreadableImage, decode
from bench.measures import AttributeEstimator
from bench.registry import DetectorSpec

KIND = "attributes"
"""Store kind of cached estimated labels."""


def labels(
    pipeline: Pipeline, dataset: Dataset, detector: DetectorSpec, estimator: AttributeEstimator
) -> list[str | None]:
    """Each image's estimated label (None: no face, or unreadable), computing only what the cache lacks."""
    namespace = f"{pipeline.detection_namespace(detector)}-{estimator.key}"
    out: list[str | None] = []
    todo: list[tuple[int, str, Any, Any]] = []  # (index, cache key, image, face)
    for i, (img, sha, d) in enumerate(
        zip(dataset.images, pipeline.hashes(dataset), pipeline.detect(dataset, detector))
    ):
        out.append(None)
        if d.status != "ok" or d.face is None:
            continue
        key = face_key(sha, d.face)
        record = pipeline.store.get_json(KIND, namespace, key)
        if record is not None:
            out[i] = record["label"]
            continue
        try:
            todo.append((i, key, decode(img.path, img.data), d.face))
        except UnreadableImage:
            continue
    if todo:
        found = estimator.estimate([t[2] for t in todo], [t[3] for t in todo], pipeline.weights_dir)
        for (i, key, _, _), label in zip(todo, found):
            pipeline.store.put_json(KIND, namespace, key, {"label": label})
            out[i] = label
    return out


def attach(pipeline: Pipeline, dataset: Dataset, detector: DetectorSpec, estimator: AttributeEstimator) -> Dataset:
    """The dataset with each image's estimated label under ``estimator.attribute`` (no key where there is none)."""
    found = labels(pipeline, dataset, detector, estimator)
    images = [
        dataclasses.replace(img, attrs={**img.attrs, estimator.attribute: label}) if label is not None else img
        for img, label in zip(dataset.images, found)
    ]
    return dataclasses.replace(dataset, images=images, carries=dataset.carries | {Carries.ATTRIBUTES})


def agreement(dataset: Dataset, declared: str, estimated: str) -> dict[str, Any]:
    """How the estimated labels agree with the declared ones, over images carrying both: accuracy, per-class recall
    (of each declared label, the share estimated as it) and the counts they rest on."""
    both = [
        (img.attrs[declared], img.attrs[estimated]) for img in dataset.images if {declared, estimated} <= set(img.attrs)
    ]
    if not both:
        return {"n_images": 0}
    per_class = Counter(truth for truth, _ in both)
    hits = Counter(truth for truth, guess in both if truth == guess)
    return {
        "n_images": len(both),
        "accuracy": sum(hits.values()) / len(both),
        "recall": {label: hits[label] / n for label, n in sorted(per_class.items())},
        "n_per_class": dict(sorted(per_class.items())),
    }
