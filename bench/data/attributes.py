"""Per-image attributes (demographic group labels and the like) for a dataset's images.

Two sources, declared under a datasets.yaml entry's ``attributes:`` (paths relative to the dataset root):

* a CSV ``image_or_identity,attr,...`` -- ``attributes: attributes.csv``: the first column names an image (its path
  relative to the root, or its file name) or an identity (folder name); every other column is an attribute;
* label lists -- ``attributes: {gender: {female: female_names.txt, male: male_names.txt}}``: one image or identity
  a line, the list's key is the label.

An image-level label beats an identity-level one. An image given two different labels for one attribute (LFW's
gender lists put 5 images in both) is *conflicting* and left unlabelled, like an image no source names (3 in LFW):
unlabelled images carry no key for that attribute in :attr:`Image.attrs` and are reported as such, never guessed.
"""

from __future__ import annotations

import csv
import dataclasses
import random
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bench.data.datasets import Carries, Dataset, DatasetError, Pairs

UNLABELLED = "unlabelled"
"""The group name reported for images without a (consistent) label."""


@dataclass(frozen=True)
class CsvSource:
    """A CSV whose first column names an image or an identity and whose other columns are attributes."""

    path: Path


@dataclass(frozen=True)
class ListSource:
    """Label lists for one attribute: label -> file of image or identity names, one a line."""

    attribute: str
    lists: tuple[tuple[str, Path], ...]


Source = CsvSource | ListSource


@dataclass
class Labels:
    """What the sources say of a dataset's images."""

    values: list[dict[str, str]]  # per image (dataset order): attribute -> label
    conflicts: dict[str, list[str]] = field(default_factory=dict)  # attribute -> images given two labels
    unmatched: list[str] = field(default_factory=list)  # names in the sources that match no image

    def attributes(self) -> list[str]:
        """Every attribute some source declares, sorted."""
        return sorted({a for v in self.values for a in v} | set(self.conflicts))


def parse(raw: Any, root: Path, where: str) -> tuple[Source, ...]:
    """The ``attributes:`` value of a datasets.yaml entry as sources (paths resolved against ``root``)."""
    if isinstance(raw, str):
        return (CsvSource(root / raw),)
    if isinstance(raw, list):
        return tuple(s for item in raw for s in parse(item, root, where))
    if isinstance(raw, dict) and raw and all(isinstance(v, dict) and v for v in raw.values()):
        return tuple(
            ListSource(str(attr), tuple((str(label), root / str(path)) for label, path in lists.items()))
            for attr, lists in raw.items()
        )
    raise DatasetError(
        f"{where}: 'attributes:' must be a CSV file name, or a mapping attribute -> {{label: list file}}, "
        f"or a list of those; got {raw!r}"
    )


def _read_lines(path: Path) -> list[str]:
    try:
        return [line.strip() for line in path.read_text().splitlines() if line.strip()]
    except OSError as err:
        raise DatasetError(f"cannot read attribute list {path}: {err.strerror}") from err


def _entries(source: Source) -> Iterable[tuple[str, str, str]]:
    """(image or identity name, attribute, label) triples of one source."""
    if isinstance(source, ListSource):
        for label, path in source.lists:
            for name in _read_lines(path):
                yield name, source.attribute, label
        return
    try:
        with source.path.open(newline="") as handle:
            rows = list(csv.reader(handle))
    except OSError as err:
        raise DatasetError(f"cannot read attributes file {source.path}: {err.strerror}") from err
    if len(rows) < 1 or len(rows[0]) < 2:
        raise DatasetError(f"{source.path}: expected a header 'image_or_identity,attr,...' and rows")
    header = [h.strip() for h in rows[0]]
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            raise DatasetError(f"{source.path}:{number}: {len(row)} columns, the header has {len(header)}")
        for attr, value in zip(header[1:], row[1:]):
            if value.strip():
                yield row[0].strip(), attr, value.strip()


class _Names:
    """Resolves a name to image indices: as a relative path, a file name, or an identity (flagged)."""

    def __init__(self, dataset: Dataset) -> None:
        self.rel = dataset.index
        self.file: dict[str, list[int]] = {}
        self.identity: dict[str, list[int]] = {}
        for i, img in enumerate(dataset.images):
            self.file.setdefault(img.path.name, []).append(i)
            self.identity.setdefault(img.identity, []).append(i)

    def resolve(self, name: str) -> tuple[list[int], bool]:
        """(indices, is an identity-level name)."""
        if name in self.rel:
            return [self.rel[name]], False
        if name in self.file:
            return self.file[name], False
        return self.identity.get(name, []), True


def read(dataset: Dataset, sources: Sequence[Source]) -> Labels:
    """Each image's labels from ``sources``; conflicting images are left unlabelled and listed."""
    names = _Names(dataset)
    said: list[dict[tuple[str, bool], set[str]]] = [{} for _ in dataset.images]  # (attr, identity-level) -> labels
    unmatched: set[str] = set()
    for source in sources:
        for name, attr, label in _entries(source):
            indices, by_identity = names.resolve(name)
            if not indices:
                unmatched.add(name)
            for i in indices:
                said[i].setdefault((attr, by_identity), set()).add(label)
    values: list[dict[str, str]] = []
    conflicts: dict[str, list[str]] = {}
    for img, told in zip(dataset.images, said):
        chosen: dict[str, str] = {}
        for attr in sorted({a for a, _ in told}):
            labels = told.get((attr, False)) or told[(attr, True)]
            if len(labels) == 1:
                chosen[attr] = next(iter(labels))
            else:
                conflicts.setdefault(attr, []).append(img.rel)
        values.append(chosen)
    return Labels(values, conflicts, sorted(unmatched))


def attach(dataset: Dataset, sources: Sequence[Source]) -> Dataset:
    """The dataset with each image's labels in :attr:`Image.attrs` (existing keys kept unless relabelled)."""
    labels = read(dataset, sources)
    images = [dataclasses.replace(img, attrs={**img.attrs, **v}) for img, v in zip(dataset.images, labels.values)]
    return dataclasses.replace(dataset, images=images, carries=dataset.carries | {Carries.ATTRIBUTES})


def image_groups(dataset: Dataset, attribute: str) -> np.ndarray:
    """Each image's label for ``attribute`` (``UNLABELLED`` where it has none), as an object array."""
    return np.array([img.attrs.get(attribute, UNLABELLED) for img in dataset.images], dtype=object)


def coverage(dataset: Dataset, attribute: str) -> dict[str, int]:
    """Images per label of ``attribute``, and how many are unlabelled."""
    counts = Counter(image_groups(dataset, attribute).tolist())
    return {**dict(sorted((k, v) for k, v in counts.items() if k != UNLABELLED)), UNLABELLED: counts[UNLABELLED]}


def attributes_of(dataset: Dataset) -> list[str]:
    """The attributes any image of the dataset carries, sorted."""
    return sorted({a for img in dataset.images for a in img.attrs})


def sample_group_pairs(dataset: Dataset, n: int, attribute: str, seed: int = 0, impostors: str = "same-group") -> Pairs:
    """``n`` pairs of labelled images, genuine and impostor halves each split evenly over the groups.

    ``impostors="same-group"`` (the default) draws each impostor from two identities of one group: cross-group
    impostors are easy rejections and make a group's FMR look better than it is. ``impostors="all"`` draws the
    second image from any other labelled identity, so cross-group impostors appear in their natural share.
    Unlabelled images are not sampled. Seeded; no pair repeats; a group with too few pairs gives what it has.
    """
    if impostors not in ("same-group", "all"):
        raise DatasetError(f"impostors must be 'same-group' or 'all', got {impostors!r}")
    groups = image_groups(dataset, attribute)
    members: dict[str, list[int]] = {}
    for i, g in enumerate(groups):
        if g != UNLABELLED:
            members.setdefault(g, []).append(i)
    if len(members) < 2:
        raise DatasetError(f"{dataset.name}: sampling by '{attribute}' needs 2+ labelled groups, got {sorted(members)}")
    rng = random.Random(seed)
    labelled = [i for i, g in enumerate(groups) if g != UNLABELLED]
    share = [n // 2 // len(members) + (k < (n // 2) % len(members)) for k in range(len(members))]
    rows: list[tuple[int, int, bool]] = []
    taken: set[tuple[int, int]] = set()  # impostors drawn so far (with "all", two groups can draw one pair)
    for (_, images), want in zip(sorted(members.items()), share):
        rows += [(a, b, True) for a, b in _genuine(dataset, images, want, rng)]
        pool = images if impostors == "same-group" else labelled
        rows += [(a, b, False) for a, b in _impostors(dataset, images, pool, want, rng, taken)]
    left, right, same = (np.array(col) for col in zip(*rows))
    return Pairs(
        left.astype(int),
        right.astype(int),
        same.astype(bool),
        None,
        f"sampled by {attribute} n={n} seed={seed} impostors={impostors}",
    )


def _genuine(dataset: Dataset, images: list[int], want: int, rng: random.Random) -> list[tuple[int, int]]:
    by_id: dict[str, list[int]] = {}
    for i in images:
        by_id.setdefault(dataset.images[i].identity, []).append(i)
    pool = [(a, b) for ids in by_id.values() for k, a in enumerate(ids) for b in ids[k + 1 :]]
    return sorted(rng.sample(pool, min(want, len(pool))))


def _impostors(
    dataset: Dataset, images: list[int], pool: list[int], want: int, rng: random.Random, taken: set[tuple[int, int]]
) -> list[tuple[int, int]]:
    """Up to ``want`` new (a, b) not in ``taken``: a from ``images``, b from ``pool``, different identities."""
    chosen: set[tuple[int, int]] = set()
    for _ in range(50 * want):  # bounded: a tiny group may hold fewer distinct pairs than asked
        if len(chosen) == want:
            break
        a, b = rng.choice(images), rng.choice(pool)
        pair = (min(a, b), max(a, b))
        if dataset.images[a].identity != dataset.images[b].identity and pair not in taken:
            chosen.add(pair)
            taken.add(pair)
    return sorted(chosen)
