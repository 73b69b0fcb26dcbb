"""The cached stages: hash -> detect (once per image per detector) -> embed (once per face per model)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from bench.datasets import Dataset
from bench.faces import Detector, Face, Recognizer
from bench.images import UnreadableImage, decode, file_sha256
from bench.registry import DetectorSpec, RecognizerSpec
from bench.store import Store, key_of
from bench.weights import MissingWeights, sha256

NO_FACE_POLICIES = ("whole", "skip", "error")


class NoFaceError(Exception):
    """``--on-no-face error`` met an image without a face."""


class PluginLoadError(Exception):
    """A plugin whose weights are present could not be loaded (corrupt file, incompatible package...)."""


def _build(spec: DetectorSpec | RecognizerSpec, weights_dir: Path):  # type: ignore[no-untyped-def]
    try:
        return spec.build(weights_dir)
    except MissingWeights:
        raise
    except Exception as err:
        raise PluginLoadError(f"{spec.name} failed to load: {type(err).__name__}: {err}".splitlines()[0]) from err


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

    def as_dict(self) -> dict[str, float]:
        """JSON-safe view, with milliseconds per computed item."""
        per = 1000 * self.seconds / self.computed if self.computed else 0.0
        return {**self.__dict__, "ms_per_item": round(per, 2)}


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
    """Runs the cached stages for one dataset; loads a plugin only when the cache misses."""

    store: Store
    weights_dir: Path
    policy: str = "whole"
    quiet: bool = False
    stats: dict[str, StageStats] = field(default_factory=dict)
    _hashes: dict[Path, str] = field(default_factory=dict)
    _loaded: dict[str, Any] = field(default_factory=dict)

    def _bar(self, items: list, desc: str) -> Iterator:  # type: ignore[type-arg]
        return iter(tqdm(items, desc=desc, disable=self.quiet or len(items) == 0, unit="img", leave=False))

    def hashes(self, dataset: Dataset) -> list[str]:
        """Content sha256 per image (memoised for the process)."""
        for img in dataset.images:
            if img.path not in self._hashes:
                self._hashes[img.path] = file_sha256(img.path)
        return [self._hashes[img.path] for img in dataset.images]

    def _plugin(self, stage: str, spec: DetectorSpec | RecognizerSpec) -> Any:
        """The loaded plugin for a stage ("detect" or "embed"), built on first use and timed."""
        key = f"{stage}:{spec.name}"
        if key not in self._loaded:
            start = time.perf_counter()
            self._loaded[key] = _build(spec, self.weights_dir)
            self.stats.setdefault(key, StageStats()).load_seconds += time.perf_counter() - start
        return self._loaded[key]

    def _detect_one(self, spec: DetectorSpec, namespace: str, sha: str, path: Path) -> Detection:
        stats = self.stats.setdefault(f"detect:{spec.name}", StageStats())
        record = self.store.get_json("detections", namespace, sha)
        if record is None:
            try:
                image = decode(path)
            except UnreadableImage as err:
                stats.failed += 1
                return Detection(0, None, "unreadable", str(err))
            detector: Detector = self._plugin("detect", spec)
            start = time.perf_counter()
            try:
                faces = detector.detect(image)
            except Exception as err:  # noqa: BLE001 — one image the detector chokes on is data, not a crash
                stats.failed += 1
                return Detection(0, None, "detector_failed", f"{type(err).__name__}: {err}".splitlines()[0])
            finally:
                stats.seconds += time.perf_counter() - start
            stats.computed += 1
            record = {"faces": [f.to_json() for f in faces], "height": image.shape[0], "width": image.shape[1]}
            self.store.put_json("detections", namespace, sha, record)
        else:
            stats.cached += 1
        faces = [Face.from_json(f) for f in record["faces"]]
        face = choose(faces, record["height"], record["width"], self.policy)
        if not faces:
            if self.policy == "error":
                raise NoFaceError(f"no face found by {spec.name} in {path} (use --on-no-face whole or skip)")
            return Detection(0, face, "no_face", f"no face found; policy {self.policy}")
        return Detection(len(faces), face, "ok")

    def detect(self, dataset: Dataset, spec: DetectorSpec) -> list[Detection]:
        """One :class:`Detection` per dataset image, computing only cache misses."""
        namespace = f"{spec.name}-{key_of(plugin_key(spec, self.weights_dir))}"
        shas = self.hashes(dataset)
        items = list(zip(shas, [img.path for img in dataset.images]))
        return [self._detect_one(spec, namespace, sha, p) for sha, p in self._bar(items, f"detect {spec.name}")]

    def embed(
        self, dataset: Dataset, det_spec: DetectorSpec, detections: list[Detection], spec: RecognizerSpec
    ) -> tuple[np.ndarray, list[str]]:
        """Embeddings (N, D) with NaN rows where there is no face, and a failure reason per image ("" if ok)."""
        namespace = "-".join(
            [
                f"{spec.name}-{key_of(plugin_key(spec, self.weights_dir))}",
                f"{det_spec.name}-{key_of(plugin_key(det_spec, self.weights_dir))}",
            ]
        )
        shas = self.hashes(dataset)
        vectors = np.full((len(shas), spec.dim), np.nan, dtype=np.float32)
        reasons = [d.reason if d.face is None else "" for d in detections]
        stats = self.stats.setdefault(f"embed:{spec.name}", StageStats())
        todo = []
        for i, (sha, det) in enumerate(zip(shas, detections)):
            if det.face is None:
                continue
            cached = self.store.get_vector(namespace, sha)
            if cached is not None and cached.shape == (spec.dim,):
                vectors[i] = cached
                stats.cached += 1
            else:
                todo.append(i)
        for batch in _batches(todo, spec.batch_size, self.quiet, f"embed {spec.name}/{det_spec.name}"):
            self._embed_batch(dataset, shas, detections, spec, namespace, batch, vectors, reasons, stats)
        return vectors, reasons

    def _embed_batch(
        self,
        dataset: Dataset,
        shas: list[str],
        detections: list[Detection],
        spec: RecognizerSpec,
        namespace: str,
        batch: list[int],
        vectors: np.ndarray,
        reasons: list[str],
        stats: StageStats,
    ) -> None:
        recognizer: Recognizer = self._plugin("embed", spec)
        crops, kept = [], []
        start = time.perf_counter()
        for i in batch:
            face = detections[i].face
            assert face is not None
            try:
                crops.append(recognizer.crop(decode(dataset.images[i].path), face))
                kept.append(i)
            except Exception as err:  # noqa: BLE001 — a face the model cannot take is data, not a crash
                reasons[i] = f"crop failed: {err}"
                stats.failed += 1
        try:
            out = np.asarray(recognizer.embed(np.stack(crops)), dtype=np.float32) if kept else []
        except Exception as err:  # noqa: BLE001 — a batch the model rejects: record it for each face and go on
            out, reason = [], f"embedding failed: {type(err).__name__}: {err}".splitlines()[0]
            for i in kept:
                reasons[i] = reason
            stats.failed += len(kept)
        for i, vector in zip(kept, out):
            if not np.isfinite(vector).all():
                reasons[i] = "embedding has non-finite values"
                stats.failed += 1
                continue
            vectors[i] = vector
            self.store.put_vector(namespace, shas[i], vector)
            stats.computed += 1
        stats.seconds += time.perf_counter() - start


def _batches(items: list[int], size: int, quiet: bool, desc: str) -> Iterator[list[int]]:
    with tqdm(total=len(items), desc=desc, disable=quiet or not items, unit="face", leave=False) as bar:
        for start in range(0, len(items), size):
            chunk = items[start : start + size]
            yield chunk
            bar.update(len(chunk))
