"""The sweep: dataset x detector x model, yielding embeddings per available combination."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from bench.datasets import Dataset
from bench.executors import PluginLoadError
from bench.metrics import Metric
from bench.pipeline import Detection, Pipeline
from bench.registry import DetectorSpec, RecognizerSpec
from bench.weights import MissingWeights


@dataclass
class Combination:
    """Embeddings of every dataset image for one detector and one model (NaN rows: no face)."""

    dataset: Dataset
    detector: DetectorSpec
    model: RecognizerSpec
    detections: list[Detection]
    vectors: np.ndarray
    reasons: list[str]


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

    def _skip(self, dataset: Dataset, detector: str, model: str, reason: str) -> None:
        self.unavailable.append({"dataset": dataset.name, "detector": detector, "model": model, "reason": reason})

    def _available(self, spec: DetectorSpec | RecognizerSpec) -> str | None:
        return spec.unavailable_reason(self.pipeline.weights_dir)

    def run(self, dataset: Dataset) -> Iterator[Combination]:
        """Each available (detector, model) on ``dataset``; unavailable ones are recorded, not raised."""
        self.datasets.append(dataset)
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
                    vectors, reasons = self.pipeline.embed(dataset, det, detections, model)
                except (MissingWeights, PluginLoadError) as err:
                    self._skip(dataset, det.name, model.name, f"model unavailable: {err}")
                    continue
                self._record_embed_failures(dataset, det, model, detections, reasons)
                yield Combination(dataset, det, model, detections, vectors, reasons)

    def _record_detection_failures(self, dataset: Dataset, det: DetectorSpec, detections: list[Detection]) -> None:
        for img, d in zip(dataset.images, detections):
            if d.status != "ok":
                self.failures.append(
                    {"dataset": dataset.name, "detector": det.name, "model": "", "image": img.rel,
                     "status": d.status, "reason": d.reason, "policy": self.pipeline.policy}
                )

    def _record_embed_failures(
        self, dataset: Dataset, det: DetectorSpec, model: RecognizerSpec, detections: list[Detection], reasons: list[str]
    ) -> None:
        for img, d, reason in zip(dataset.images, detections, reasons):
            if d.face is not None and reason:
                self.failures.append(
                    {"dataset": dataset.name, "detector": det.name, "model": model.name, "image": img.rel,
                     "status": "embed_failed", "reason": reason, "policy": self.pipeline.policy}
                )

    def dataset_record(self) -> list[dict[str, object]]:
        """What the manifest says of each dataset swept: root, sizes, content hash of the images used."""
        return [
            {"name": d.name, "root": str(d.root), "pairs_file": str(d.pairs_file or ""), "n_images": len(d.images),
             "n_identities": len(d.identities()), "content_sha256": d.content_hash(self.pipeline.hashes(d))}
            for d in self.datasets
        ]

    def failures_frame(self) -> pd.DataFrame:
        """Failures table (one row per image and stage that yielded no usable face)."""
        columns = ["dataset", "detector", "model", "image", "status", "reason", "policy"]
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
