"""Datasets: identity-per-folder images, pair lists, and the named entries of datasets.yaml."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import random
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bench.errors import BenchError
from bench.faces import Face
from bench.images import bytes_sha256, file_sha256

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".pgm", ".ppm", ".tif", ".tiff", ".gif"}


class DatasetError(BenchError):
    """A dataset, pairs file or datasets.yaml entry that cannot be used as given."""


@dataclass(frozen=True)
class Image:
    """One image of a dataset."""

    rel: str  # path relative to the dataset root, with forward slashes (for container members: a member key)
    identity: str
    path: Path
    attrs: dict[str, str] = field(default_factory=dict, compare=False, hash=False)  # group labels, subject, media...
    data: bytes | None = field(default=None, repr=False, compare=False)  # encoded bytes of a container member
    face: Face | None = field(default=None, compare=False)  # the face the dataset gives (box, 5 points), if any

    def sha256(self) -> str:
        """Content key: the encoded bytes' sha256, extended by the dataset-given face when there is one
        (a detection result then depends on that annotation, not only on the pixels)."""
        sha = file_sha256(self.path) if self.data is None else bytes_sha256(self.data)
        if self.face is None:
            return sha
        return bytes_sha256(f"{sha}\0{json.dumps(self.face.to_json(), sort_keys=True)}".encode())


@dataclass
class Pairs:
    """Verification pairs as index arrays into ``Dataset.images``."""

    left: np.ndarray
    right: np.ndarray
    same: np.ndarray  # bool
    folds: np.ndarray | None = None  # fold id per pair where the pair list defines folds
    source: str = ""

    def __len__(self) -> int:
        return len(self.left)


@dataclass
class Dataset:
    """Images (identity per folder) and optionally the pairs defined on them."""

    name: str
    root: Path
    images: list[Image]
    pairs_file: Path | None = None
    description: str = ""
    baseline: str = ""  # name of the clean dataset its results are reported against
    protocol: str = ""  # the registered reader of its pairs file ("" = sniffed)
    index: dict[str, int] = field(init=False)

    def __post_init__(self) -> None:
        self.index = {img.rel: i for i, img in enumerate(self.images)}

    def identities(self) -> list[str]:
        """Identity names, sorted."""
        return sorted({img.identity for img in self.images})

    def content_hash(self, image_hashes: list[str]) -> str:
        """sha256 over each image's relative path and content sha256 (given in image order)."""
        digest = hashlib.sha256()
        for img, sha in zip(self.images, image_hashes):
            digest.update(f"{img.rel}\0{sha}\n".encode())
        return digest.hexdigest()


def restrict(dataset: Dataset, pairs: Pairs) -> tuple[Dataset, Pairs]:
    """Only the images the pairs use (so nothing else is detected or embedded), pairs re-indexed."""
    used = np.unique(np.concatenate([pairs.left, pairs.right]))
    remap = np.full(len(dataset.images), -1, dtype=int)
    remap[used] = np.arange(len(used))
    subset = dataclasses.replace(dataset, images=[dataset.images[i] for i in used])
    return subset, Pairs(remap[pairs.left], remap[pairs.right], pairs.same, pairs.folds, pairs.source)


def _is_image(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_SUFFIXES and not path.name.startswith(".")


def scan(root: Path, name: str = "", pairs_file: Path | None = None, description: str = "") -> Dataset:
    """Read an identity-per-folder tree: ``root/<identity>/<image>``."""
    if not root.is_dir():
        raise DatasetError(f"dataset folder {root} does not exist; pass a folder of identity sub-folders")
    images = [
        Image(path.relative_to(root).as_posix(), folder.name, path)
        for folder in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
        for path in sorted(folder.iterdir())
        if _is_image(path) and not path.is_dir()  # broken links and loops stay: decoding records why
    ]
    if not images:
        raise DatasetError(f"no images found in {root}; expected {root}/<identity>/<image>.jpg")
    return Dataset(name or root.name, root, images, pairs_file, description)


def _safe_rel(root: Path, rel: str, pairs_path: Path) -> str:
    """``rel`` normalised, refusing paths that leave the dataset root."""
    norm = os.path.normpath(rel).replace(os.sep, "/")
    if norm.startswith("../") or norm == ".." or os.path.isabs(norm):
        raise DatasetError(f"{pairs_path}: pair path {rel!r} leaves the dataset root {root}")
    return norm


PairRow = tuple[str, str, bool]
"""(image a, image b, same identity), paths relative to the dataset root."""


def pairs_from_rows(dataset: Dataset, rows: list[PairRow], folds: list[int] | None, path: Path) -> Pairs:
    """Pairs resolved against ``dataset``'s images; paths that leave the root or are missing are errors."""
    index = []
    for a, b, _ in rows:
        for rel in (a, b):
            key = _safe_rel(dataset.root, rel, path)
            if key not in dataset.index:
                raise DatasetError(f"{path}: image {rel} is not in dataset {dataset.root}")
            index.append(dataset.index[key])
    ids = np.array(index, dtype=int).reshape(-1, 2)
    same = np.array([s for _, _, s in rows], dtype=bool)
    fold_arr = np.array(folds, dtype=int) if folds is not None else None
    return Pairs(ids[:, 0], ids[:, 1], same, fold_arr, str(path))


def sample_pairs(dataset: Dataset, n: int, seed: int = 0) -> Pairs:
    """``n`` pairs, half same-identity and half different, drawn without repeats (seeded)."""
    rng = random.Random(seed)
    by_id: dict[str, list[int]] = {}
    for i, img in enumerate(dataset.images):
        by_id.setdefault(img.identity, []).append(i)
    same_pool = [(a, b) for ids in by_id.values() for k, a in enumerate(ids) for b in ids[k + 1 :]]
    if not same_pool or len(by_id) < 2:
        raise DatasetError(f"{dataset.root}: sampling pairs needs 2+ identities and one with 2+ images")
    n_same = min(n // 2, len(same_pool))
    chosen_same = rng.sample(same_pool, n_same)
    names = sorted(by_id)
    diff: set[tuple[int, int]] = set()
    total = len(dataset.images) ** 2
    while len(diff) < n - n_same and len(diff) < total:
        x, y = rng.sample(names, 2)
        diff.add((rng.choice(by_id[x]), rng.choice(by_id[y])))
    rows = [(a, b, True) for a, b in chosen_same] + [(a, b, False) for a, b in sorted(diff)]
    return Pairs(
        np.array([r[0] for r in rows], dtype=int),
        np.array([r[1] for r in rows], dtype=int),
        np.array([r[2] for r in rows], dtype=bool),
        None,
        f"sampled n={n} seed={seed}",
    )


def sample_identities(dataset: Dataset, n: int | None, max_images: int | None, seed: int = 0) -> Dataset:
    """At most ``n`` identities (seeded) with at most ``max_images`` images each (seeded, per identity)."""
    by_id: dict[str, list[Image]] = {}
    for img in dataset.images:
        by_id.setdefault(img.identity, []).append(img)
    names = sorted(by_id)
    if n is not None and n < len(names):
        names = sorted(random.Random(seed).sample(names, n))
    chosen = []
    for name in names:
        images = by_id[name]
        if max_images is not None and len(images) > max_images:
            images = sorted(random.Random(f"{seed}:{name}").sample(images, max_images), key=lambda i: i.rel)
        chosen += images
    return dataclasses.replace(dataset, images=chosen)


def is_reference(image: Image) -> bool:
    """An identity's clean reference image: a file named ``original.*`` in its folder."""
    return Path(image.rel).stem.lower() == "original"


def reference_pairs(dataset: Dataset, seed: int = 0) -> Pairs:
    """Every other image against its identity's reference (same), and against another identity's (different)."""
    refs = {img.identity: i for i, img in enumerate(dataset.images) if is_reference(img)}
    probes = [i for i, img in enumerate(dataset.images) if img.identity in refs and not is_reference(img)]
    if len(refs) < 2 or not probes:
        raise DatasetError(f"{dataset.root}: reference pairs need 2+ identities with an original.* and other images")
    rng = random.Random(seed)
    names = sorted(refs)
    left, right, same = [], [], []
    for i in probes:
        other = rng.choice([n for n in names if n != dataset.images[i].identity])
        left += [refs[dataset.images[i].identity], refs[other]]
        right += [i, i]
        same += [True, False]
    source = f"reference pairs (original.* per identity), seed={seed}"
    return Pairs(np.array(left), np.array(right), np.array(same), None, source)
