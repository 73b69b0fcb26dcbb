"""The cached stages: hash -> detect (once per image per detector) -> embed (once per face per model)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bench import selection
from bench.compute.executors import Executor, Item, LocalExecutor, Outcome, Work
from bench.compute.store import FileHashes, Store, key_of
from bench.compute.weights import sha256
from bench.data.datasets import Dataset
from bench.data.faces import Face, screen
from bench.data.images import file_sha256
from bench.errors import BenchError
from bench.registry import DetectorSpec, RecognizerSpec
from bench.selection import FaceSelector


class NoFaceError(BenchError):
    """``--on-no-face error`` met an image without a face."""


class NotInCache(BenchError):
    """The executor reported an item computed, but the cache does not have it (removed or replaced meanwhile)."""


class WrongDim(BenchError):
    """A recognizer returned vectors of another size than the ``dim`` its plugin declares."""


def _not_in_cache(store: Store, stage: str, spec_name: str, path: Path) -> NotInCache:
    return NotInCache(
        f"{stage} {spec_name}: the result for {path} is not in {store.root} after computing it; "
        "is another process writing to it?"
    )


NO_FACE_STATUSES = ("no_face", "below_confidence", "face_too_small")
"""Statuses of an image whose detector ran but left no usable face (the last two: every face was screened out)."""


@dataclass(frozen=True)
class Detection:
    """What detection gave for one image: the faces used (by the face-selection policy), or why there are none.

    ``status`` is "ok", one of :data:`NO_FACE_STATUSES`, "unreadable" or "detector_failed".
    """

    n_faces: int  # faces the detector found, before screening
    face: Face | None  # the policy's first face, the whole image (``--on-no-face whole``), or None
    status: str
    reason: str = ""
    faces: tuple[Face, ...] = ()  # every face embedded, best first: one, or all under an every-face policy
    n_rejected: int = 0  # faces screened out (below min_confidence or min_face_size)


@dataclass
class Embeddings:
    """Embeddings of one dataset for one detector and model.

    ``faces[i]`` holds image i's vectors (k, D) in :attr:`Detection.faces` order, k = 0 when it has none;
    ``vectors[i]`` is its first face's vector (NaN row when none); ``reasons[i]`` says why it has none ("" if ok).
    """

    vectors: np.ndarray
    faces: list[np.ndarray]
    reasons: list[str]


@dataclass
class StageStats:
    """Work done by one stage for one plugin: items computed vs read from the cache, and seconds."""

    computed: int = 0
    cached: int = 0
    failed: int = 0
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    load_seconds: float = 0.0
    shipped: int = 0  # images sent as bytes to Ray nodes that could not read them at their path
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
        self.cpu_seconds += outcome.cpu_seconds
        self.load_seconds += outcome.load_seconds
        self.shipped += outcome.shipped


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


def _default_selector() -> FaceSelector:
    from bench import plugins

    return plugins.load().face_selectors.get(selection.DEFAULT)


@dataclass
class Pipeline:
    """Runs the cached stages for one dataset: the executor computes the cache misses, then all is read back.

    The detection cache holds every face a detector found; screening (the detector's ``min_confidence`` and
    ``min_face_size``) and the face-selection policy ``selector`` apply after reading it, so switching policy
    costs no detection. Embeddings are cached per face (image sha256 + :meth:`Face.key`), so every policy reuses
    the faces another one embedded.
    """

    store: Store
    weights_dir: Path
    policy: str = "whole"
    executor: Executor = field(default_factory=LocalExecutor)
    selector: FaceSelector = field(default_factory=_default_selector)
    stats: dict[str, StageStats] = field(default_factory=dict)
    _hashes: dict[tuple[Path, str], str] = field(default_factory=dict)

    def _key(self, spec: DetectorSpec | RecognizerSpec) -> str:
        return f"{spec.name}-{key_of(plugin_key(spec, self.weights_dir))}"

    def detection_namespace(self, spec: DetectorSpec) -> str:
        """The cache folder of a detector's detections."""
        return self._key(spec)

    def embedding_namespace(self, spec: RecognizerSpec, det_spec: DetectorSpec) -> str:
        """The cache folder of a model's embeddings of a detector's faces (entries keyed per image and face, so
        every face-selection policy shares them)."""
        return "-".join([self._key(spec), self._key(det_spec)])

    def hashes(self, dataset: Dataset) -> list[str]:
        """Content key per image (:meth:`Image.sha256`), memoised for the process by container path and member,
        and a file's sha256 across runs while the file is unchanged (:class:`~bench.compute.store.FileHashes`)."""
        missing = [img for img in dataset.images if (img.path, img.rel) not in self._hashes]
        if missing:
            kept = FileHashes(self.store.root / "file_hashes.json")
            for img in missing:
                self._hashes[img.path, img.rel] = img.sha256(lambda path: kept.sha256(path, file_sha256))
            kept.save()
        return [self._hashes[img.path, img.rel] for img in dataset.images]

    def _compute(
        self,
        stage: str,
        spec: DetectorSpec | RecognizerSpec,
        namespace: str,
        items: list[Item],
        n_images: int,
        detector: str,
        batch_size: int = 1,
    ) -> Outcome:
        """Have the executor compute the misses (one per distinct image); the other images count as cached.

        Stats go to ``stage:NAME``, and with ``detector`` also to ``stage:NAME@DETECTOR`` (embedding per detector,
        so a detector whose faces were all cached shows as cached in the speed table)."""
        misses = tuple({item.sha: item for item in items}.values())
        work = Work(stage, spec.name, self.store, self.weights_dir, namespace, misses, batch_size)
        outcome = self.executor.run(work, spec)
        keys = [f"{stage}:{spec.name}", *([f"{stage}:{spec.name}@{detector}"] if stage == "embed" else [])]
        for key in keys:
            stats = self.stats.setdefault(key, StageStats())
            stats.add(outcome)
            stats.cached += n_images - len(misses)
        if outcome.computed:
            self.store.add_timing(namespace, outcome.computed, outcome.seconds, outcome.cpu_seconds)
        timing = self.store.timing(namespace)
        if timing and timing["computed"]:
            for key in keys:
                self.stats[key].cache_ms_per_item[detector] = round(1000 * timing["seconds"] / timing["computed"], 2)
        return outcome

    def detect(self, dataset: Dataset, spec: DetectorSpec) -> list[Detection]:
        """One :class:`Detection` per dataset image, computing only cache misses."""
        namespace = self.detection_namespace(spec)
        shas = self.hashes(dataset)
        records = [self.store.get_json("detections", namespace, sha) for sha in shas]
        misses = [
            Item(sha, img.path, img.face, img.data)
            for sha, img, rec in zip(shas, dataset.images, records)
            if rec is None
        ]
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
        found = [Face.from_json(f) for f in record["faces"]]
        height, width = record["height"], record["width"]
        kept, rejected = screen(
            found, height, width, spec.settings.get("min_confidence", 0.0), spec.settings.get("min_face_size", 0)
        )
        if kept:
            used = tuple(kept[i] for i in self.selector.used(kept, height, width))
            return Detection(len(found), used[0], "ok", "", used, len(rejected))
        if rejected:
            status = max(rejected, key=lambda r: r[0].confidence)[1]  # why the most confident face went
            counts = {why: sum(r[1] == why for r in rejected) for why in dict.fromkeys(r[1] for r in rejected)}
            found_text = f"{len(found)} face(s) found, rejected: " + ", ".join(f"{n} {w}" for w, n in counts.items())
        else:
            status, found_text = "no_face", "no face found"
        if self.policy == "error":
            raise NoFaceError(f"{found_text} by {spec.name} in {path} (use --on-no-face whole or skip)")
        face = Face.whole(height, width) if self.policy == "whole" else None
        faces = (face,) if face is not None else ()
        return Detection(len(found), face, status, f"{found_text}; policy {self.policy}", faces, len(rejected))

    def embed(
        self, dataset: Dataset, det_spec: DetectorSpec, detections: list[Detection], spec: RecognizerSpec
    ) -> Embeddings:
        """Every used face's embedding, computing only cache misses (one per distinct image and face)."""
        namespace = self.embedding_namespace(spec, det_spec)
        shas = self.hashes(dataset)
        keys = [[f"{shas[i]}-{face.key()}" for face in d.faces] for i, d in enumerate(detections)]
        distinct = list(dict.fromkeys(key for per_image in keys for key in per_image))
        cached = self._vectors(spec, namespace, distinct)
        misses = [
            Item(key, dataset.images[i].path, face, dataset.images[i].data)
            for i, d in enumerate(detections)
            for key, face in zip(keys[i], d.faces)
            if key not in cached
        ]
        failures = self._compute(
            "embed", spec, namespace, misses, len(distinct), det_spec.name, spec.batch_size
        ).failures
        cached.update(self._vectors(spec, namespace, [m.sha for m in misses if m.sha not in failures]))
        faces, reasons = [], []
        for i, d in enumerate(detections):
            vectors, why = [], d.reason if not d.faces else ""
            for key in keys[i]:
                if key in failures:
                    why = why or failures[key][1]
                    continue
                if key not in cached:
                    raise self._missing_vector(spec, namespace, key, dataset.images[i].path)
                vectors.append(cached[key])
            faces.append(np.asarray(vectors, dtype=np.float32).reshape(len(vectors), spec.dim))
            reasons.append("" if vectors else why)
        first = np.full((len(shas), spec.dim), np.nan, dtype=np.float32)
        for i, face_vectors in enumerate(faces):
            if len(face_vectors):
                first[i] = face_vectors[0]
        return Embeddings(first, faces, reasons)

    def _missing_vector(self, spec: RecognizerSpec, namespace: str, key: str, path: Path) -> BenchError:
        """Why a computed embedding cannot be read back: a wrong declared ``dim``, else a cache not shared."""
        stored = self.store.embedded(namespace, [key]).get(key)
        if stored is not None:
            return WrongDim(
                f"model {spec.name} declares dim={spec.dim} but returned vectors of {stored.vector.shape[-1]} "
                f"values (for {path}); fix the plugin's RecognizerSpec(dim=...)"
            )
        return _not_in_cache(self.store, "embed", spec.name, path)

    def _vectors(self, spec: RecognizerSpec, namespace: str, keys: list[str]) -> dict[str, np.ndarray]:
        """The cached embeddings of ``keys`` of the model's declared size."""
        found = self.store.embedded(namespace, keys)
        return {key: e.vector for key, e in found.items() if e.vector.shape == (spec.dim,)}
