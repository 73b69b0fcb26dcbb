"""insightface's verification ``.bin`` (lfw, cfp_fp, cfp_ff, agedb_30, calfw, cplfw, vgg2_fp): read and write.

A ``.bin`` is a pickled ``(images, issame)``: ``images`` holds two encoded, pre-aligned 112x112 crops per pair
(pair ``i`` is images ``2i`` and ``2i+1``), ``issame`` one bool per pair; the pairs fall in 10 folds of
consecutive pairs (insightface's ``KFold(n_splits=10, shuffle=False)``). It is read with
:mod:`bench.safe_pickle`, never ``pickle.load``. Images stay in memory, keyed by their bytes' sha256.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np

from bench.data.datasets import Carries, Dataset, DatasetError, Image, Pairs
from bench.data.safe_pickle import UnsafePickle, load_verification_bin
from bench.errors import BenchError

N_FOLDS = 10


def consecutive_folds(n_pairs: int, k: int = N_FOLDS) -> np.ndarray:
    """Fold id per pair for ``k`` folds of consecutive pairs, the first ``n % k`` folds one pair longer
    (exactly scikit-learn's unshuffled ``KFold``, which insightface's verification uses)."""
    sizes = np.full(k, n_pairs // k) + (np.arange(k) < n_pairs % k)
    return np.repeat(np.arange(k), sizes)


def pair_groups(n_images: int, left: np.ndarray, right: np.ndarray, same: np.ndarray) -> list[int]:
    """Per image, a group id joining images linked by same-identity pairs (union-find): the identities a
    pair list implies when it names none."""
    parent = list(range(n_images))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for a, b in zip(left[same], right[same]):
        parent[root(int(a))] = root(int(b))
    return [root(i) for i in range(n_images)]


def sniff_bin(path: Path) -> bool:
    """A file starting with a pickle protocol 2-5 header (``\\x80\\x02`` .. ``\\x80\\x05``)."""
    try:
        with path.open("rb") as handle:
            head = handle.read(2)
    except OSError:
        return False
    return len(head) == 2 and head[0] == 0x80 and 2 <= head[1] <= 5


def read_bin(path: Path, dataset: Dataset | None = None) -> tuple[Dataset, Pairs]:
    """The ``.bin`` as a Dataset of in-memory images (``<stem>/<index>``, identity: the group linked by
    same pairs) and its pairs in 10 consecutive folds. ``dataset`` is not needed (the images are inside)."""
    try:
        blobs, issame = load_verification_bin(path)
    except UnsafePickle:
        raise
    except BenchError as err:
        raise DatasetError(str(err)) from None
    n_pairs = len(issame)
    left, right = np.arange(0, 2 * n_pairs, 2), np.arange(1, 2 * n_pairs, 2)
    images = [Image(f"{path.stem}/{i:05d}", "", path, data=blob) for i, blob in enumerate(blobs)]
    data = Dataset(
        path.stem,
        path.parent,
        images,
        path,
        f"insightface verification .bin: {n_pairs} pairs",
        carries=frozenset({Carries.PAIR_LABELS}),
    )
    return data, Pairs(left, right, issame.copy(), consecutive_folds(n_pairs), str(path))


def write_bin(path: Path, images: list[bytes], issame: list[bool]) -> None:
    """Write ``(images, issame)`` as insightface does (``pickle.dump``, highest protocol)."""
    if len(images) != 2 * len(issame):
        raise ValueError(f"{len(images)} images for {len(issame)} pairs; expected two per pair")
    with path.open("wb") as handle:
        pickle.dump(([bytes(b) for b in images], [bool(s) for s in issame]), handle, protocol=pickle.HIGHEST_PROTOCOL)
