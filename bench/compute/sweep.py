"""The sweep: dataset x detector x model, yielding embeddings per available combination."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bench.compute.executors import PluginLoadError
from bench.compute.pipeline import Detection, Pipeline, StageStats
from bench.compute.weights import MissingWeights
from bench.data.datasets import Carries, Dataset
from bench.errors import BenchError
from bench.metrics import Metric
from bench.registry import DetectorSpec, RecognizerSpec
from bench.selection import FaceSelector


class NothingScored(BenchError):
    """Combinations ran, but none could score anything: every image failed (no face, unreadable, failed)."""


@dataclass
class Combination:
    """Embeddings of every dataset image for one detector, one model and one face-selection policy.

    Score pairs and image sets through :meth:`pair_scores` and :meth:`cross_scores`, never from ``vectors``
    directly: under an every-face policy (``--face deepface``) an image has several faces and a comparison scores
    its closest face pair, as ``DeepFace.verify`` does; otherwise each image has one face and both methods are the
    metric on ``vectors``.
    """

    dataset: Dataset
    detector: DetectorSpec
    model: RecognizerSpec
    detections: list[Detection]
    vectors: np.ndarray  # (N, D): each image's first face (the policy's choice); NaN row: no embedding
    reasons: list[str]  # why an image has no embedding ("" if it has one)
    face_vectors: list[np.ndarray] = field(default_factory=list)  # (k_i, D) per image; default: ``vectors`` rows
    selector: FaceSelector | None = None

    def __post_init__(self) -> None:
        if not self.face_vectors:
            self.face_vectors = [row[None] if np.isfinite(row).all() else row[None][:0] for row in self.vectors]

    @property
    def every_face(self) -> bool:
        """Whether images are compared over all their faces (the closest face pair wins)."""
        return self.selector is not None and self.selector.every_face

    def embedded(self) -> np.ndarray:
        """Mask of the images with at least one embedding."""
        return np.array([len(f) > 0 for f in self.face_vectors], dtype=bool)

    def n_faces(self) -> np.ndarray:
        """Faces the detector found per image (before screening and selection)."""
        return np.array([d.n_faces for d in self.detections], dtype=int)

    def pair_scores(self, metric: Metric, left: np.ndarray, right: np.ndarray) -> np.ndarray:
        """``metric`` score of each image pair (left[k], right[k]) in the metric's own units; NaN where an image
        has no embedding. Every-face policy: the most similar of all face pairs (min distance / max similarity)."""
        left, right = np.asarray(left, dtype=int), np.asarray(right, dtype=int)
        if not self.every_face:
            return metric.pairs(self.vectors, left, right)
        stacked, starts, counts = self._stacked()
        n_left, n_right = counts[left], counts[right]
        per_pair = n_left * n_right
        pair = np.repeat(np.arange(len(left)), per_pair)
        within = np.arange(per_pair.sum()) - np.repeat(np.cumsum(per_pair) - per_pair, per_pair)
        rows = starts[left][pair] + within // n_right[pair]
        cols = starts[right][pair] + within % n_right[pair]
        dissimilarity = -metric.similarity(metric.pairs(stacked, rows, cols))
        best = np.full(len(left), np.inf)
        np.minimum.at(best, pair, dissimilarity)
        best[per_pair == 0] = np.nan
        return -best if metric.higher_is_more_similar else best

    def cross_scores(self, metric: Metric, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """(len(rows), len(cols)) ``metric`` scores of images ``rows`` against images ``cols`` (identification,
        similarity matrices), by the same rule as :meth:`pair_scores`; NaN rows/columns for images without one."""
        rows, cols = np.asarray(rows, dtype=int), np.asarray(cols, dtype=int)
        if not self.every_face:
            return metric.all_against(self.vectors[rows], self.vectors[cols])
        out = np.full((len(rows), len(cols)), np.nan)
        ok_rows, ok_cols = np.flatnonzero(self.embedded()[rows]), np.flatnonzero(self.embedded()[cols])
        if not len(ok_rows) or not len(ok_cols):
            return out
        a = [self.face_vectors[i] for i in rows[ok_rows]]
        b = [self.face_vectors[j] for j in cols[ok_cols]]
        dissimilarity = -metric.similarity(metric.all_against(np.concatenate(a), np.concatenate(b)))
        row_starts = np.cumsum([0] + [len(f) for f in a[:-1]])
        col_starts = np.cumsum([0] + [len(f) for f in b[:-1]])
        best = np.minimum.reduceat(np.minimum.reduceat(dissimilarity, row_starts, axis=0), col_starts, axis=1)
        out[np.ix_(ok_rows, ok_cols)] = -best if metric.higher_is_more_similar else best
        return out

    def _stacked(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """All face vectors stacked (F, D), each image's first row in it, and its face count."""
        counts = np.array([len(f) for f in self.face_vectors], dtype=int)
        starts = np.cumsum(counts) - counts
        dim = self.vectors.shape[1]
        stacked = np.concatenate([f.reshape(-1, dim) for f in self.face_vectors]) if len(counts) else np.zeros((0, dim))
        return stacked, starts, counts


@dataclass
class Sweep:
    """Iterates the available combinations and remembers the unavailable ones and every failure."""

    pipeline: Pipeline
    detectors: list[DetectorSpec]
    models: list[RecognizerSpec]
    unavailable: list[dict[str, str]] = field(default_factory=list)
    datasets: list[Dataset] = field(default_factory=list)
    failures: list[dict[str, object]] = field(default_factory=list)
    metrics: list[Metric] = field(default_factory=list)
    detection_counts: list[dict[str, object]] = field(default_factory=list)  # per dataset and detector (manifest)
    embedded_counts: list[int] = field(default_factory=list)  # images with an embedding, per combination run

    def _skip(self, dataset: Dataset, detector: str, model: str, reason: str) -> None:
        self.unavailable.append({"dataset": dataset.name, "detector": detector, "model": model, "reason": reason})

    def _available(self, spec: DetectorSpec | RecognizerSpec) -> str | None:
        return spec.unavailable_reason(self.pipeline.weights_dir)

    def run(self, dataset: Dataset) -> Iterator[Combination]:
        """Each available (detector, model) on ``dataset``; unavailable ones are recorded, not raised."""
        self.datasets.append(dataset)
        for rel, why in dataset.skipped:
            self.failures.append(
                {
                    "dataset": dataset.name,
                    "detector": "",
                    "model": "",
                    "image": rel,
                    "status": "unreadable",
                    "reason": why,
                    "policy": self.pipeline.policy,
                    "face": self.pipeline.selector.name,
                    "n_faces": 0,
                    "n_rejected": 0,
                }
            )
        models = [(m, self._available(m)) for m in self.models]
        for det in self.detectors:
            reason = self._available(det)
            if reason is None:
                try:
                    detections = self.pipeline.detect(dataset, det)
                except (MissingWeights, PluginLoadError) as err:
                    reason = str(err)
            if reason is not None:
                for model, _ in models:
                    self._skip(dataset, det.name, model.name, f"detector unavailable: {reason}")
                continue
            self._record_detection_failures(dataset, det, detections)
            for model, model_reason in models:
                if model_reason is not None:
                    self._skip(dataset, det.name, model.name, f"model unavailable: {model_reason}")
                    continue
                try:
                    embedded = self.pipeline.embed(dataset, det, detections, model)
                except (MissingWeights, PluginLoadError) as err:
                    self._skip(dataset, det.name, model.name, f"model unavailable: {err}")
                    continue
                self._record_embed_failures(dataset, det, model, detections, embedded.reasons)
                self.embedded_counts.append(sum(len(f) > 0 for f in embedded.faces))
                yield Combination(
                    dataset,
                    det,
                    model,
                    detections,
                    embedded.vectors,
                    embedded.reasons,
                    embedded.faces,
                    self.pipeline.selector,
                )

    def _failure(
        self, dataset: Dataset, det: DetectorSpec, model: str, image: str, d: Detection | None, status: str, reason: str
    ) -> None:
        self.failures.append(
            {
                "dataset": dataset.name,
                "detector": det.name,
                "model": model,
                "image": image,
                "status": status,
                "reason": reason,
                "policy": self.pipeline.policy,
                "face": self.pipeline.selector.name,
                "n_faces": d.n_faces if d else 0,
                "n_rejected": d.n_rejected if d else 0,
            }
        )

    def _record_detection_failures(self, dataset: Dataset, det: DetectorSpec, detections: list[Detection]) -> None:
        for img, d in zip(dataset.images, detections):
            if d.status != "ok":
                self._failure(dataset, det, "", img.rel, d, d.status, d.reason)
        counts = np.bincount(np.asarray([d.n_faces for d in detections], dtype=int), minlength=2)
        self.detection_counts.append(
            {
                "dataset": dataset.name,
                "detector": det.name,
                "face": self.pipeline.selector.name,
                "images_by_faces_found": {str(k): int(n) for k, n in enumerate(counts) if n},
                "statuses": {s: sum(d.status == s for d in detections) for s in sorted({d.status for d in detections})},
                "faces_rejected": sum(d.n_rejected for d in detections),
            }
        )

    def _record_embed_failures(
        self,
        dataset: Dataset,
        det: DetectorSpec,
        model: RecognizerSpec,
        detections: list[Detection],
        reasons: list[str],
    ) -> None:
        for img, d, reason in zip(dataset.images, detections, reasons):
            if d.face is not None and reason:
                self._failure(dataset, det, model.name, img.rel, d, "embed_failed", reason)

    def stage_stats(self, stage: str, plugin: str) -> StageStats | None:
        """The timings of ``stage`` ("detect", "embed") for one plugin, if it ran."""
        return self.pipeline.stats.get(f"{stage}:{plugin}")

    def timings(self) -> dict[str, dict[str, Any]]:
        """Every stage's timings, for the manifest."""
        return {k: v.as_dict() for k, v in self.pipeline.stats.items()}

    def dataset_record(self, dataset: Dataset) -> dict[str, object]:
        """What the manifest says of a dataset: root, what it carries, sizes, content hash of its images."""
        return {
            "name": dataset.name,
            "root": str(dataset.root),
            "pairs_file": str(dataset.pairs_file or ""),
            "carries": sorted(c.value for c in dataset.carries),
            "n_images": len(dataset.images),
            "files": dataset.file_counts(),  # found / used / ignored (reasons in failures.csv)
            "notes": list(dataset.notes),
            "n_identities": len(dataset.identities()) if Carries.IDENTITIES in dataset.carries else None,
            "content_sha256": dataset.content_hash(self.pipeline.hashes(dataset)),
        }

    def sample_record(self) -> list[dict[str, object]]:
        """The same of each dataset as swept: the images the evaluations used (sampled, restricted to pairs)."""
        return [self.dataset_record(d) for d in self.datasets]

    def check_scored(self, failures_file: Path) -> None:
        """Raise :class:`NothingScored` when combinations ran but not one image of any has an embedding."""
        if not self.embedded_counts or any(self.embedded_counts):
            return
        causes = Counter(str(f["status"]) for f in self.failures)
        first = next((f for f in self.failures if f["detector"]), None)  # not an image the dataset skipped
        example = f"; e.g. {first['image']}: {first['reason']}" if first else ""
        listed = ", ".join(f"{n} {cause}" for cause, n in causes.most_common())
        raise NothingScored(
            f"nothing could be scored: no image has an embedding ({listed}{example}); every image in {failures_file}"
        )

    def failures_frame(self) -> pd.DataFrame:
        """Failures table (one row per image and stage that yielded no usable face)."""
        columns = [
            "dataset",
            "detector",
            "model",
            "image",
            "status",
            "reason",
            "policy",
            "face",
            "n_faces",
            "n_rejected",
        ]
        return pd.DataFrame(self.failures, columns=columns)

    def unavailable_lines(self) -> list[str]:
        """One line per model or detector that could not run, with its reason (not one per combination)."""
        lines: dict[tuple[str, str], str] = {}
        for row in self.unavailable:
            kind, _, why = row["reason"].partition(" unavailable: ")
            lines.setdefault((kind, row[kind]), why)
        return [f"{kind} {name} unavailable: {why}" for (kind, name), why in lines.items()]

    def unavailable_frame(self) -> pd.DataFrame:
        """Combinations that could not run, with the reason."""
        return pd.DataFrame(self.unavailable, columns=["dataset", "detector", "model", "reason"])
