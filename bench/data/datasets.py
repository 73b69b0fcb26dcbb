"""Datasets: identity-per-folder images, pair lists, and the named entries of datasets.yaml."""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import json
import os
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bench.data.faces import Face
from bench.data.images import bytes_sha256, file_sha256
from bench.errors import BenchError

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".pgm", ".ppm", ".tif", ".tiff", ".gif"}


class DatasetError(BenchError):
    """A dataset, pairs file or datasets.yaml entry that cannot be used as given."""


class Carries(enum.StrEnum):
    """What a dataset brings besides pixels; an evaluation names what it needs of these (``EvaluationSpec.needs``)."""

    IDENTITIES = "identities"  # every image's identity is known (its folder, a label file)
    PAIR_LABELS = "pair labels"  # a list of image pairs marked same / different
    FOLDS = "given folds"  # the pair list assigns each pair to a fold
    TEMPLATES = "templates"  # images grouped into templates, with template pairs (IJB)
    GALLERY = "a probe/gallery split"  # 1:N roles given by the benchmark (TinyFace)
    LANDMARKS = "landmarks"  # a face box and 5 points per image
    ATTRIBUTES = "attributes"  # group labels per image (datasets.yaml attributes:, RFW groups)
    ROLES = "image roles"  # reference / edited per image, and the edit (an edited-face set's manifest)


NEEDS = {
    "identities": (Carries.IDENTITIES,),
    "pairs": (Carries.PAIR_LABELS, Carries.IDENTITIES),  # given pairs, or pairs sampled from identities
    "attributes": (Carries.ATTRIBUTES,),
    "templates": (Carries.TEMPLATES,),
    "gallery": (Carries.GALLERY,),
    "roles": (Carries.ROLES,),
}
"""An evaluation's need -> the capabilities that satisfy it (any one of them)."""

NEED_WORDS = {
    "identities": "identities",
    "pairs": "pair labels (nor identities to sample pairs from)",
    "attributes": "attributes",
    "templates": "templates",
    "gallery": "probe/gallery split",
    "roles": "image roles (reference / edited; read an edited set with --protocol edits)",
}
"""How a message names a missing need."""


@dataclass(frozen=True)
class Image:
    """One image of a dataset."""

    rel: str  # path relative to the dataset root, with forward slashes (for container members: a member key)
    identity: str  # "" where the dataset does not say (then it does not carry Carries.IDENTITIES)
    path: Path
    attrs: dict[str, str] = field(default_factory=dict, compare=False, hash=False)  # group labels, subject, media...
    data: bytes | None = field(default=None, repr=False, compare=False)  # encoded bytes of a container member
    face: Face | None = field(default=None, compare=False)  # the face the dataset gives (box, 5 points), if any

    def sha256(self, file_hash: Callable[[Path], str] = file_sha256) -> str:
        """Content key: the encoded bytes' sha256 (of a file: by ``file_hash``), extended by the dataset-given face
        when there is one (a detection result then depends on that annotation, not only on the pixels)."""
        sha = file_hash(self.path) if self.data is None else bytes_sha256(self.data)
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
    notes: tuple[str, ...] = ()  # what sampling could not do as asked (too few pairs, unbalanced classes)

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
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (rel, reason): files found but not used
    notes: tuple[str, ...] = ()  # what the reader found that the results depend on (probes without a gallery mate)
    files_found: int = 0  # files the reader found (images + skipped) before any subset; 0: not counted
    carries: frozenset[Carries] = field(kw_only=True)  # what the reader found besides pixels: no default
    index: dict[str, int] = field(init=False)

    def __post_init__(self) -> None:
        self.index = {img.rel: i for i, img in enumerate(self.images)}

    def lacks(self, needs: frozenset[str]) -> list[str]:
        """The needs (``NEEDS`` keys) none of whose capabilities this dataset carries, sorted."""
        unknown = needs - set(NEEDS)
        if unknown:
            raise ValueError(f"unknown needs {sorted(unknown)}; known: {sorted(NEEDS)}")
        return sorted(n for n in needs if not any(c in self.carries for c in NEEDS[n]))

    def describe_carries(self) -> str:
        """``"pair labels and given folds"`` / ``"nothing but images"``: for messages."""
        names = [c.value for c in Carries if c in self.carries]
        if not names:
            return "nothing but images"
        return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]

    def file_counts(self) -> dict[str, int]:
        """Files the reader found, used as images, and ignored (each with its reason in ``skipped``), as read
        (a subset of the images, e.g. :func:`restrict`, does not change them)."""
        found = self.files_found or len(self.images) + len(self.skipped)
        return {"found": found, "used": found - len(self.skipped), "ignored": len(self.skipped)}

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
    return subset, Pairs(remap[pairs.left], remap[pairs.right], pairs.same, pairs.folds, pairs.source, pairs.notes)


IMAGE_MAGIC = (
    b"\xff\xd8\xff",
    b"\x89PNG\r\n\x1a\n",
    b"GIF87a",
    b"GIF89a",
    b"BM",
    b"II*\x00",
    b"MM\x00*",
    *(b"P%d" % k for k in range(1, 7)),
)
"""Leading bytes of JPEG, PNG, GIF, BMP, TIFF and PBM/PGM/PPM files (WebP is RIFF....WEBP)."""


def sniff_image(path: Path) -> bool:
    """Whether the file's first bytes are those of an image format (for files without a known suffix)."""
    try:
        with path.open("rb") as handle:
            head = handle.read(12)
    except OSError:
        return False
    return head.startswith(IMAGE_MAGIC) or (head[:4] == b"RIFF" and head[8:12] == b"WEBP")


def not_an_image(path: Path) -> str | None:
    """None for a file to use as an image, else why it is not one (hidden files and folders are not listed)."""
    if path.suffix.lower() in IMAGE_SUFFIXES or not path.exists():  # broken links stay: decoding records why
        return None
    if sniff_image(path):
        return None
    return f"not an image: suffix {path.suffix or '(none)'!r} unknown and content not JPEG/PNG/GIF/BMP/TIFF/PNM/WebP"


def _entries(folder: str, dirs: bool) -> list[os.DirEntry[str]]:
    """The folder's sub-folders (``dirs``) or its other entries, hidden ones left out, sorted as their Paths sort
    (one scandir, no stat per entry)."""
    found = [e for e in os.scandir(folder) if _is_dir(e) == dirs and not e.name.startswith(".")]
    return sorted(found, key=lambda e: os.path.normcase(e.name))


def _is_dir(entry: os.DirEntry[str]) -> bool:
    """Whether ``entry`` is a folder; a link that cannot be followed (a loop, a dangling link) is not."""
    try:
        return entry.is_dir()
    except OSError:
        return False


def _walk(folder: str, rel: str, above: frozenset[str] = frozenset()) -> Iterator[tuple[Path, str]]:
    """Every file under ``folder`` at any depth as (path, rel), hidden ones left out, a folder's own files before
    its sub-folders'; a link back to a folder above (a loop) is not followed."""
    above = above | {os.path.realpath(folder)}
    for entry in _entries(folder, dirs=False):
        yield Path(entry.path), f"{rel}/{entry.name}"
    for sub in _entries(folder, dirs=True):
        if os.path.realpath(sub.path) not in above:
            yield from _walk(sub.path, f"{rel}/{sub.name}", above)


AT_ROOT = "at the dataset root, not in an identity folder"


def scan(root: Path, name: str = "", pairs_file: Path | None = None, description: str = "") -> Dataset:
    """Read an identity-per-folder tree: ``root/<identity>/<image>``, images at any depth below the identity folder
    (``<identity>/<session>/<image>``: the identity is the top folder, ``rel`` the whole relative path).

    Files are used by content, not by name: one with an unknown or no suffix is used when its first bytes are an
    image format's, and otherwise listed in ``Dataset.skipped`` with the reason (failures.csv reports it), as are
    images lying at the root itself. The root's other files (pair lists, notes) are the dataset's, not images.
    """
    if not root.is_dir():
        raise DatasetError(f"dataset folder {root} does not exist; pass a folder of identity sub-folders")
    images, skipped = [], []
    for folder in _entries(str(root), dirs=True):
        for path, rel in _walk(folder.path, folder.name, frozenset({os.path.realpath(root)})):
            why = not_an_image(path)
            if why is None:
                images.append(Image(rel, folder.name, path))
            else:
                skipped.append((rel, why))
    loose = [entry.name for entry in _entries(str(root), dirs=False) if not_an_image(Path(entry.path)) is None]
    if not images:
        raise DatasetError(_no_images(root, len(loose)))
    skipped += [(rel, AT_ROOT) for rel in loose]
    return Dataset(
        name or root.name,
        root,
        images,
        pairs_file,
        description,
        skipped=skipped,
        files_found=len(images) + len(skipped),
        carries=frozenset({Carries.IDENTITIES}),
    )


def _no_images(root: Path, loose: int) -> str:
    if loose:
        return (
            f"{root} holds {loose} images but none in identity folders; put each identity's images in its own "
            f"folder: {root}/<identity>/<image>.jpg"
        )
    return f"no images found in {root}; expected {root}/<identity>/<image>.jpg"


def _safe_rel(root: Path, rel: str, pairs_path: Path) -> str:
    """``rel`` normalised, refusing paths that leave the dataset root."""
    norm = os.path.normpath(rel).replace(os.sep, "/")
    if norm.startswith("../") or norm == ".." or os.path.isabs(norm):
        raise DatasetError(f"{pairs_path}: pair path {rel!r} leaves the dataset root {root}")
    return norm


PairRow = tuple[str, str, bool]
"""(image a, image b, same identity), paths relative to the dataset root."""


def pairs_from_rows(
    dataset: Dataset, rows: list[PairRow], folds: list[int] | None, path: Path, places: list[str] | None = None
) -> Pairs:
    """Pairs resolved against ``dataset``'s images. An empty list, paths that leave the root or are missing, an image
    paired with itself and a pair listed twice with opposite labels are errors; ``places`` (``file:line`` per row)
    says where a row is."""
    if not rows:
        raise DatasetError(f"{path}: lists no pairs; a pair list needs at least one 'image image label' pair")
    places = places or [f"{path}: pair {k}" for k in range(1, len(rows) + 1)]
    index = []
    skipped = dict(dataset.skipped)
    for (a, b, _), where in zip(rows, places):
        for rel in (a, b):
            key = _safe_rel(dataset.root, rel, path)
            if key in skipped:
                raise DatasetError(f"{where}: image {rel} cannot be used: {skipped[key]}")
            if key not in dataset.index:
                raise DatasetError(f"{where}: image {rel} is not in dataset {dataset.root}; fix the path or add it")
            index.append(dataset.index[key])
    ids = np.array(index, dtype=int).reshape(-1, 2)
    same = np.array([s for _, _, s in rows], dtype=bool)
    _refuse_bad_pairs(ids, same, rows, places)
    fold_arr = np.array(folds, dtype=int) if folds is not None else None
    return Pairs(ids[:, 0], ids[:, 1], same, fold_arr, str(path))


def _refuse_bad_pairs(ids: np.ndarray, same: np.ndarray, rows: list[PairRow], places: list[str]) -> None:
    """An image paired with itself, or a pair of images (in either order) listed both as same and as different:
    an error naming the place (both places)."""
    first: dict[tuple[int, int], int] = {}
    for k, (a, b) in enumerate(ids.tolist()):
        if a == b:
            raise DatasetError(f"{places[k]}: pairs image {rows[k][0]} with itself; a pair needs two images")
        seen = first.setdefault((min(a, b), max(a, b)), k)
        if same[seen] != same[k]:
            word = {True: "same", False: "different"}
            raise DatasetError(
                f"{places[k]}: pair {rows[k][0]} {rows[k][1]} is labelled {word[bool(same[k])]} here but "
                f"{word[bool(same[seen])]} at {places[seen]}; correct the wrong one"
            )


def _as_pairs(same: list[tuple[int, int]], diff: list[tuple[int, int]], source: str, notes: list[str]) -> Pairs:
    rows = [(a, b, True) for a, b in same] + [(a, b, False) for a, b in diff]
    return Pairs(
        np.array([r[0] for r in rows], dtype=int),
        np.array([r[1] for r in rows], dtype=int),
        np.array([r[2] for r in rows], dtype=bool),
        None,
        source,
        tuple(notes),
    )


def _shortfall(n: int, n_same: int, n_diff: int, have_same: int, have_diff: int) -> list[str]:
    """Notes for a sample that could not give ``n`` pairs, half of each class, from what exists."""
    notes = []
    if n_same + n_diff < n:
        notes.append(
            f"asked for {n} pairs but only {have_same} same + {have_diff} different exist: using all {n_same + n_diff}"
        )
    if n_same != n_diff and min(n_same, n_diff) < n // 2:
        notes.append(
            f"cannot balance: {n_same} same + {n_diff} different pairs (too few "
            f"{'same' if n_same < n_diff else 'different'} pairs exist)"
        )
    return notes


def sample_pairs(dataset: Dataset, n: int, seed: int = 0) -> Pairs:
    """``n`` pairs, half same-identity and half different, drawn without repeats (seeded).

    Where a class has too few pairs, all of them are used and the other class fills up to ``n``; where both
    run out, every pair is used. ``Pairs.notes`` says so.
    """
    rng = random.Random(seed)
    by_id: dict[str, list[int]] = {}
    for i, img in enumerate(dataset.images):
        by_id.setdefault(img.identity, []).append(i)
    same_pool = [(a, b) for ids in by_id.values() for k, a in enumerate(ids) for b in ids[k + 1 :]]
    if not same_pool or len(by_id) < 2:
        raise DatasetError(f"{dataset.root}: sampling pairs needs 2+ identities and one with 2+ images")
    names = sorted(by_id)
    sizes = [len(by_id[x]) for x in names]
    n_diff_pool = (sum(sizes) ** 2 - sum(k * k for k in sizes)) // 2
    n_same = min(n // 2, len(same_pool))
    n_diff = min(n - n_same, n_diff_pool)
    n_same = min(n - n_diff, len(same_pool))
    chosen_same = rng.sample(same_pool, n_same)
    if 2 * n_diff > n_diff_pool:  # dense: draw from the full list
        pool = [(a, b) for i, x in enumerate(names) for y in names[i + 1 :] for a in by_id[x] for b in by_id[y]]
        diff = sorted(rng.sample(pool, n_diff))
    else:
        found: set[tuple[int, int]] = set()
        while len(found) < n_diff:
            x, y = rng.sample(names, 2)
            a, b = rng.choice(by_id[x]), rng.choice(by_id[y])
            found.add((min(a, b), max(a, b)))
        diff = sorted(found)
    notes = _shortfall(n, n_same, n_diff, len(same_pool), n_diff_pool)
    return _as_pairs(chosen_same, diff, f"sampled n={n} seed={seed}", notes)


def subsample(pairs: Pairs, n: int, seed: int = 0) -> Pairs:
    """``n`` pairs of a pair list, half of each class where it has enough (seeded), in list order, folds kept."""
    rng = random.Random(seed)
    same, diff = np.flatnonzero(pairs.same).tolist(), np.flatnonzero(~pairs.same).tolist()
    n_same = min(n // 2, len(same))
    n_diff = min(n - n_same, len(diff))
    n_same = min(n - n_diff, len(same))
    keep = np.sort(np.array(rng.sample(same, n_same) + rng.sample(diff, n_diff), dtype=int))
    folds = pairs.folds[keep] if pairs.folds is not None else None
    notes = _shortfall(n, n_same, n_diff, len(same), len(diff))
    return Pairs(
        pairs.left[keep],
        pairs.right[keep],
        pairs.same[keep],
        folds,
        f"{pairs.source}: {len(keep)} pairs sampled (n={n}, seed={seed})",
        (*pairs.notes, *notes),
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
