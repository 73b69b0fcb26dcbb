"""The cached stages: hash -> detect (once per image per detector) -> embed (once per face per model)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bench.datasets import Dataset
from bench.errors import BenchError
from bench.executors import Executor, Item, LocalExecutor, Outcome, Work
from bench.faces import Face
from bench.registry import DetectorSpec, RecognizerSpec
from bench.selection import FaceSelector
from bench.store import Store, key_of
from bench.weights import sha256


class NoFaceError(BenchError):
    """``--on-no-face error`` met an image without a face."""


class NotInCache(BenchError):
    """The executor reported an item computed, but the cache does not have it (a cache folder not shared)."""


def _not_in_cache(store: Store, stage: str, spec_name: str, path: Path) -> NotInCache:
    return NotInCache(f"{stage} {spec_name}: the result for {path} is not in {store.root} after computing it; "
                      "with --executor ray the cache folder must be the same path on a filesystem all nodes share")


@dataclass(frozen=True)
class Detection:
    """What detection gave for one image: the face used, or why there is none."""

    n_faces: int
    face: Face | None  # the largest face, the whole image (policy ``whole``), or None
    status: str  # "ok", "no_face" or "unreadable"
    reason: str = ""


@dataclass
class StageStats:
    """Work done by one stage for one plugin: items computed vs read from the cache, and seconds."""

    computed: int = 0
    cached: int = 0
    failed: int = 0
    seconds: float = 0.0
    load_seconds: float = 0.0
    # detector name -> ms per item over every item ever computed into that cache entry (so warm runs have it too)
    cache_ms_per_item: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """JSON-safe view, with milliseconds per computed item."""
        per = 1000 * self.seconds / self.computed if self.computed else 0.0
        return {**self.__dict__, "ms_per_item": round(per, 2)}

    def add(self, outcome: Outcome) -> None:
        """Count what an executor computed."""
        self.computed += outcome.computed
        self.failed += outcome.failed
        self.seconds += outcome.seconds
        self.load_seconds += outcome.load_seconds


def plugin_key(spec: DetectorSpec | RecognizerSpec, weights_dir: Path) -> dict[str, object]:
    """Everything that determines a plugin's output: name, settings, weight file names and hashes."""
    files = spec.resolve_weights(weights_dir)
    return {
        "name": spec.name,
        "settings": spec.settings,
        "weights": {name: {"file": path.name, "sha256": sha256(path)} for name, path in files.items()},
    }


def choose(faces: list[Face], height: int, width: int, policy: str) -> Face | None:
    """The largest face; else the whole image under policy ``whole``; else None."""
    if faces:
        return max(faces, key=lambda f: f.area)
    return Face.whole(height, width) if policy == "whole" else None


@dataclass
class Pipeline:
    """Runs the cached stages for one dataset: the executor computes the cache misses, then all is read back."""

    store: Store
    weights_dir: Path
    policy: str = "whole"
    executor: Executor = field(default_factory=LocalExecutor)
    stats: dict[str, StageStats] = field(default_factory=dict)
    selector: FaceSelector | None = None  # which face of a multi-face image (default: the largest)
    _hashes: dict[tuple[Path, str], str] = field(default_factory=dict)

    def _key(self, spec: DetectorSpec | RecognizerSpec) -> str:
        return f"{spec.name}-{key_of(plugin_key(spec, self.weights_dir))}"

    def detection_namespace(self, spec: DetectorSpec) -> str:
        """The cache folder of a detector's detections."""
        return self._key(spec)

    def embedding_namespace(self, spec: RecognizerSpec, det_spec: DetectorSpec) -> str:
        """The cache folder of a model's embeddings of a detector's faces (and the policy that picked them)."""
        selector = [f"face-{self.selector.name}"] if self.selector is not None else []
        return "-".join([self._key(spec), self._key(det_spec), *selector])

    def hashes(self, dataset: Dataset) -> list[str]:
        """Content key per image (:meth:`Image.sha256`), memoised for the process by container path and member."""
        for img in dataset.images:
            if (img.path, img.rel) not in self._hashes:
                self._hashes[img.path, img.rel] = img.sha256()
        return [self._hashes[img.path, img.rel] for img in dataset.images]

    def _compute(
        self, stage: str, spec: DetectorSpec | RecognizerSpec, namespace: str, items: list[Item], n_images: int,
        detector: str, batch_size: int = 1,
    ) -> Outcome:
        """Have the executor compute the misses (one per distinct image); the other images count as cached."""
        misses = tuple({item.sha: item for item in items}.values())
        work = Work(stage, spec.name, self.store, self.weights_dir, namespace, misses, batch_size)
        outcome = self.executor.run(work, spec)
        stats = self.stats.setdefault(f"{stage}:{spec.name}", StageStats())
        stats.add(outcome)
        stats.cached += n_images - len(misses)
        if outcome.computed:
            self.store.add_timing(namespace, outcome.computed, outcome.seconds)
        timing = self.store.timing(namespace)
        if timing and timing["computed"]:
            stats.cache_ms_per_item[detector] = round(1000 * timing["seconds"] / timing["computed"], 2)
        return outcome

    def detect(self, dataset: Dataset, spec: DetectorSpec) -> list[Detection]:
        """One :class:`Detection` per dataset image, computing only cache misses."""
        namespace = self.detection_namespace(spec)
        shas = self.hashes(dataset)
        records = [self.store.get_json("detections", namespace, sha) for sha in shas]
        misses = [Item(sha, img.path, img.face, img.data)
                  for sha, img, rec in zip(shas, dataset.images, records) if rec is None]
        failures = self._compute("detect", spec, namespace, misses, len(shas), spec.name).failures
        detections = []
        for sha, img, record in zip(shas, dataset.images, records):
            if sha in failures:
                detections.append(Detection(0, None, *failures[sha]))
                continue
            record = record or self.store.get_json("detections", namespace, sha)
            if record is None:
                raise _not_in_cache(self.store, "detect", spec.name, img.path)
            detections.append(self._detection(spec, img.path, record))
        return detections

    def _detection(self, spec: DetectorSpec, path: Path, record: dict[str, Any]) -> Detection:
        faces = [Face.from_json(f) for f in record["faces"]]
        if faces and self.selector is not None:
            faces = [faces[i] for i in self.selector.choose(faces, record["height"], record["width"])]
        face = choose(faces[:1] if self.selector is not None else faces, record["height"], record["width"],
                      self.policy)
        if not faces:
            if self.policy == "error":
                raise NoFaceError(f"no face found by {spec.name} in {path} (use --on-no-face whole or skip)")
            return Detection(0, face, "no_face", "no face found")
        return Detection(len(faces), face, "ok")

    def embed(
        self, dataset: Dataset, det_spec: DetectorSpec, detections: list[Detection], spec: RecognizerSpec
    ) -> tuple[np.ndarray, list[str]]:
        """Embeddings (N, D) with NaN rows where there is no face, and a failure reason per image ("" if ok)."""
        namespace = self.embedding_namespace(spec, det_spec)
        shas = self.hashes(dataset)
        found = {i: self._vector(spec, namespace, shas[i]) for i, d in enumerate(detections) if d.face is not None}
        misses = [Item(shas[i], dataset.images[i].path, detections[i].face, dataset.images[i].data)
                  for i, v in found.items() if v is None]
        failures = self._compute(
            "embed", spec, namespace, misses, len(found), det_spec.name, spec.batch_size
        ).failures
        vectors = np.full((len(shas), spec.dim), np.nan, dtype=np.float32)
        reasons = [d.reason if d.face is None else "" for d in detections]
        for i, vector in found.items():
            if shas[i] in failures:
                reasons[i] = failures[shas[i]][1]
                continue
            vector = self._vector(spec, namespace, shas[i]) if vector is None else vector
            if vector is None:
                raise _not_in_cache(self.store, "embed", spec.name, dataset.images[i].path)
            vectors[i] = vector
        return vectors, reasons

    def _vector(self, spec: RecognizerSpec, namespace: str, sha: str) -> np.ndarray | None:
        cached = self.store.get_vector(namespace, sha)
        return cached if cached is not None and cached.shape == (spec.dim,) else None
