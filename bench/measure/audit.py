"""Dataset audit from one model's embeddings: mislabel suspects, near-duplicates across identities, face counts.

Distances are cosine distances (1 - cos) between L2-normalised embeddings; an identity's centre is the mean of
its images' unit vectors, and an image is compared with its own identity's centre *without itself*
(leave-one-out), so a lone wrong image cannot pull the centre towards itself.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd

BLOCK = 1024
"""Rows per block of the all-against-all products (bounds memory on large datasets)."""


def unit(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to length 1 (NaN rows stay NaN)."""
    vectors = np.asarray(vectors, dtype=np.float64)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def _blocks(n: int) -> Iterator[slice]:
    for start in range(0, n, BLOCK):
        yield slice(start, min(n, start + BLOCK))


def mislabel_suspects(vectors: np.ndarray, identities: list[str]) -> pd.DataFrame:
    """Every embedded image of an identity with 2+ embedded images, with its distance to its own identity's centre
    (leave-one-out) and to the nearest other identity's centre; ``margin`` = own - nearest, > 0 when it is closer
    to another identity (a suspect). Sorted by margin, largest first. ``nearest_image``: that identity's image
    closest to it; ``own_image``: its own identity's closest other image (for a side-by-side look)."""
    u = unit(vectors)
    ok = ~np.isnan(u).any(axis=1)
    names = np.asarray(identities)
    labels, index = np.unique(names[ok], return_inverse=True)
    rows_ok = np.flatnonzero(ok)
    sums = np.zeros((len(labels), u.shape[1]))
    np.add.at(sums, index, u[ok])
    counts = np.bincount(index, minlength=len(labels))
    centres = unit(sums)
    out = []
    for block in _blocks(len(rows_ok)):
        rows, own = rows_ok[block], index[block]
        to_centres = 1 - u[rows] @ centres.T
        to_centres[np.arange(len(rows)), own] = np.inf
        nearest = np.argmin(to_centres, axis=1)
        loo = sums[own] - u[rows]
        with np.errstate(invalid="ignore", divide="ignore"):
            own_distance = 1 - np.sum(u[rows] * unit(loo), axis=1)
        for k, i in enumerate(rows):
            if counts[own[k]] < 2:
                continue
            out.append(
                {
                    "image": int(i),
                    "identity": labels[own[k]],
                    "own_distance": float(own_distance[k]),
                    "nearest_identity": labels[nearest[k]],
                    "nearest_distance": float(to_centres[k, nearest[k]]),
                }
            )
    frame = pd.DataFrame(out, columns=["image", "identity", "own_distance", "nearest_identity", "nearest_distance"])
    frame["margin"] = frame.own_distance - frame.nearest_distance
    members = {label: rows_ok[index == k] for k, label in enumerate(labels)}
    frame["own_image"] = [_closest(u, members[who], i, exclude=i) for i, who in zip(frame.image, frame.identity)]
    frame["nearest_image"] = [_closest(u, members[who], i) for i, who in zip(frame.image, frame.nearest_identity)]
    return frame.sort_values("margin", ascending=False, kind="stable").reset_index(drop=True)


def _closest(u: np.ndarray, members: np.ndarray, i: int, exclude: int = -1) -> int:
    """The image among ``members`` closest to image ``i`` (other than ``exclude``)."""
    members = members[members != exclude]
    return int(members[np.argmax(u[members] @ u[i])])


def near_duplicates(vectors: np.ndarray, identities: list[str], max_distance: float) -> pd.DataFrame:
    """Pairs of images filed under different identities whose embeddings are within ``max_distance``."""
    u = unit(vectors).astype(np.float32)
    ok = np.flatnonzero(~np.isnan(u).any(axis=1))
    names = np.asarray(identities)[ok]
    found = []
    for block in _blocks(len(ok)):
        distance = 1 - u[ok[block]] @ u[ok].T
        a, b = np.nonzero(distance <= max_distance)
        a_global = a + block.start
        keep = (b > a_global) & (names[a_global] != names[b])
        for x, y in zip(a_global[keep], b[keep]):
            found.append(
                {
                    "image": int(ok[x]),
                    "identity": names[x],
                    "other_image": int(ok[y]),
                    "other_identity": names[y],
                    "distance": max(0.0, float(distance[x - block.start, y])),
                }
            )
    frame = pd.DataFrame(found, columns=["image", "identity", "other_image", "other_identity", "distance"])
    return frame.sort_values("distance", kind="stable").reset_index(drop=True)


def duplicate_threshold(vectors: np.ndarray, identities: list[str], fraction: float = 0.25) -> float:
    """A near-duplicate distance for this model: ``fraction`` of the median distance between two different images
    of one identity (on the model's own scale, so one default fits every model)."""
    u = unit(vectors)
    names = np.asarray(identities)
    distances = []
    for who in np.unique(names):
        members = np.flatnonzero((names == who) & ~np.isnan(u).any(axis=1))[:50]
        if len(members) > 1:
            d = 1 - u[members] @ u[members].T
            distances.append(d[np.triu_indices(len(members), 1)])
    if not distances:
        return 0.0
    return float(fraction * np.median(np.concatenate(distances)))


def face_counts(n_faces: list[int], statuses: list[str]) -> pd.DataFrame:
    """Images with no usable face or several (``n_faces``: faces left after the detector's screening; the
    face-selection policy picked the one used)."""
    frame = pd.DataFrame({"image": range(len(n_faces)), "n_faces": n_faces, "status": statuses})
    return frame[frame.n_faces != 1].sort_values(["n_faces", "image"], kind="stable").reset_index(drop=True)
