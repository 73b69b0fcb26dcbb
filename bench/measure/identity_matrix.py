"""Identity-by-identity similarity, exact at any dataset size: the mean score over every image pair of each cell.

The N x N score matrix is never held: it is computed in blocks of at most ``block`` x ``block`` with the metric's
all-against-all form (BLAS), and each block is summed straight into the identity x identity totals with
``np.add.reduceat`` over images sorted by identity (the indicator-matrix product, without the matrix). Memory is
bounded by the block size plus the k x k totals. Same-identity cells exclude self-pairs; every cell is the exact
mean over all its ordered image pairs (for a symmetric metric, the mean over unordered pairs).

Blocks are scored by a :data:`Scorer` (image indices x image indices -> scores): :func:`vector_scorer` for
plain embeddings, or a combination's own cross form, under which an image with several faces scores its
closest face pair (the every-face policy).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from bench.measure.ranks import competition
from bench.metrics import Metric

BLOCK = 2048
"""Rows (and columns) of one block of the score matrix: 2048 x 2048 float64 is 32 MiB per temporary."""

Scorer = Callable[[np.ndarray, np.ndarray], np.ndarray]
"""(image indices a, image indices b) -> (len(a), len(b)) scores in the metric's units."""


def vector_scorer(vectors: np.ndarray, metric: Metric) -> Scorer:
    """Blocks of ``metric``'s all-against-all form on one embedding per image."""
    return lambda rows, cols: metric.all_against(vectors[rows], vectors[cols])


def spans(starts: np.ndarray, n: int, size: int) -> Iterator[tuple[int, int]]:
    """Consecutive [lo, hi) ranges over ``n`` rows, cut only at ``starts`` (group starts), each at most ``size``
    rows unless one group alone is longer."""
    bounds = np.r_[starts, n]
    lo = 0
    while lo < n:
        limit = bounds[bounds <= lo + size]
        hi = int(limit[-1]) if limit[-1] > lo else int(bounds[bounds > lo][0])
        yield lo, hi
        lo = hi


def _group_starts(labels: np.ndarray) -> np.ndarray:
    """Indices where a sorted label array changes value (always starting at 0)."""
    return np.flatnonzero(np.r_[True, labels[1:] != labels[:-1]]) if len(labels) else np.zeros(0, int)


@dataclass
class IdentityTotals:
    """Score sums and ordered-pair counts per (identity a, identity b); ``identities`` sorted."""

    identities: list[str]
    n_images: np.ndarray  # images with an embedding, per identity
    sums: np.ndarray  # (k, k) float64
    counts: np.ndarray  # (k, k) int64, ordered image pairs

    @cached_property
    def means(self) -> np.ndarray:
        """(k, k) symmetric mean score per cell over the pairs of both orders (for a symmetric metric, equal to
        either order's); NaN where a cell has no pair (an identity's only image against itself)."""
        sums, counts = self.sums + self.sums.T, self.counts + self.counts.T
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)

    def pair_counts(self) -> np.ndarray:
        """Image pairs per cell as a person counts them: unordered, each pair once."""
        return np.where(np.eye(len(self.identities), dtype=bool), self.counts // 2, self.counts)


def identity_totals(scorer: Scorer, identity: list[str], embedded: np.ndarray, block: int = BLOCK) -> IdentityTotals:
    """Exact per-identity score sums over every pair of distinct embedded images.

    ``identity``: per image; ``embedded``: mask of the images that have an embedding (the others are left out).
    """
    images = np.flatnonzero(embedded)
    names = sorted({identity[i] for i in images})
    code = {name: c for c, name in enumerate(names)}
    labels = np.array([code[identity[i]] for i in images], dtype=np.int64)
    order = np.argsort(labels, kind="stable")  # identities contiguous
    images, labels = images[order], labels[order]
    starts = _group_starts(labels)
    k = len(names)
    sums, n_images = np.zeros((k, k)), np.bincount(labels, minlength=k)
    for r0, r1 in spans(starts, len(images), block):
        rs = _group_starts(labels[r0:r1])
        for c0, c1 in spans(starts, len(images), block):
            scores = scorer(images[r0:r1], images[c0:c1])
            if r0 == c0:
                np.fill_diagonal(scores, 0.0)  # an image against itself is no pair
            cs = _group_starts(labels[c0:c1])
            cell = np.add.reduceat(np.add.reduceat(scores, rs, axis=0), cs, axis=1)
            sums[np.ix_(labels[r0:r1][rs], labels[c0:c1][cs])] += cell
    counts = np.outer(n_images, n_images) - np.diag(n_images)
    return IdentityTotals(names, n_images, sums, counts.astype(np.int64))


def _first(values: np.ndarray, top: int) -> np.ndarray:
    """Indices of the ``top`` lowest values (0 < top < len); of equal values at the cut, the first in index order."""
    cut = np.partition(values, top - 1)[top - 1]
    below = np.flatnonzero(values < cut)
    return np.r_[below, np.flatnonzero(values == cut)[: top - len(below)]]


def most_confused(totals: IdentityTotals, metric: Metric, top: int) -> pd.DataFrame:
    """The ``top`` cross-identity cells whose mean score is the most similar, most similar first; equal scores
    share a ``rank`` and go in identity name order (at the cut too)."""
    means = totals.means
    k = len(totals.identities)
    a, b = np.triu_indices(k, 1)  # cells in name order (identities are sorted)
    dissimilar = -metric.similarity(means[a, b])
    dissimilar = np.where(np.isnan(dissimilar), np.inf, dissimilar)
    top = min(top, len(a))
    picked = _first(dissimilar, top) if 0 < top < len(a) else np.arange(top)
    picked = picked[np.lexsort((b[picked], a[picked], dissimilar[picked]))]
    a, b = a[picked], b[picked]
    names, same = np.asarray(totals.identities, dtype=object), np.diag(means)
    return pd.DataFrame(
        {
            "rank": competition(dissimilar[picked]),
            "identity_a": names[a],
            "identity_b": names[b],
            "mean_score": means[a, b],
            "n_pairs": (totals.counts[a, b] + totals.counts[b, a]) // 2,
            "same_mean_a": same[a],
            "same_mean_b": same[b],
            "n_images_a": totals.n_images[a],
            "n_images_b": totals.n_images[b],
        }
    )


def per_identity(totals: IdentityTotals, metric: Metric) -> pd.DataFrame:
    """One row per identity: its images, its same-identity mean, and the other identity it is closest to."""
    means = totals.means
    cross = -metric.similarity(means)
    np.fill_diagonal(cross, np.inf)
    cross = np.where(np.isnan(cross), np.inf, cross)
    nearest = cross.argmin(axis=1) if len(cross) > 1 else np.zeros(len(cross), int)
    found = np.isfinite(cross[np.arange(len(cross)), nearest])
    names = np.asarray(totals.identities, dtype=object)
    return pd.DataFrame(
        {
            "identity": names,
            "n_images": totals.n_images,
            "same_mean": np.diag(means),
            "same_pairs": np.diag(totals.counts) // 2,
            "nearest_identity": np.where(found, names[nearest], ""),
            "nearest_mean": np.where(found, means[np.arange(len(means)), nearest], np.nan),
        }
    )


def summary(totals: IdentityTotals) -> dict[str, float]:
    """Means over every same-identity pair and every cross-identity pair (pair-weighted, exact)."""
    diag = np.eye(len(totals.identities), dtype=bool)
    same_n, cross_n = totals.counts[diag].sum(), totals.counts[~diag].sum()
    return {
        "n_identities": len(totals.identities),
        "n_images": int(totals.n_images.sum()),
        "same_identity_mean": float(totals.sums[diag].sum() / same_n) if same_n else float("nan"),
        "cross_identity_mean": float(totals.sums[~diag].sum() / cross_n) if cross_n else float("nan"),
        "same_pairs": int(same_n // 2),
        "cross_pairs": int(cross_n // 2),
    }


def long_rows(totals: IdentityTotals, cells: tuple[np.ndarray, np.ndarray] | None = None) -> pd.DataFrame:
    """Long rows (identity_a, identity_b, mean_distance, n_pairs, cell) for every cell, or the (a, b) in ``cells``."""
    k = len(totals.identities)
    a, b = (np.repeat(np.arange(k), k), np.tile(np.arange(k), k)) if cells is None else cells
    names = np.asarray(totals.identities, dtype=object)
    return pd.DataFrame(
        {
            "identity_a": names[a],
            "identity_b": names[b],
            "mean_distance": totals.means[a, b],
            "n_pairs": totals.pair_counts()[a, b],
            "cell": np.where(a == b, "same", "cross"),
        }
    )


def cluster_order(means: np.ndarray, metric: Metric) -> np.ndarray:
    """An order of the identities that puts mutually similar ones next to each other (average linkage)."""
    from scipy.cluster.hierarchy import leaves_list, linkage
    from scipy.spatial.distance import squareform

    if len(means) < 3:
        return np.arange(len(means))
    dissimilar = -metric.similarity(means)
    finite = np.isfinite(dissimilar)
    fill = dissimilar[finite].max() if finite.any() else 0.0
    dissimilar = np.where(finite, dissimilar, fill)
    dissimilar = (dissimilar + dissimilar.T) / 2 - dissimilar.min()
    np.fill_diagonal(dissimilar, 0.0)
    return leaves_list(linkage(squareform(dissimilar, checks=False), "average"))
