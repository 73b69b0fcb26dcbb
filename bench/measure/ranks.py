"""Ranks: image-level 1:N ranks against a large gallery (TinyFace), and rankings of items with their uncertainty.

A probe's rank is 1 + the number of non-mated gallery images scoring at least as well as its best mated one (ties
count against the probe, as in :mod:`bench.identify`); a probe with no mated gallery image or no embedding is a
miss (rank infinite). Gallery images without an embedding are left out.

Items (quality measures, models...) are ranked by :func:`rank_items`: the rule is :data:`BOOTSTRAP_RULE` (or
:data:`OVERLAP_RULE` where only each item's interval is known). Identical estimates always share a rank; the
output never depends on the order of the input.
"""

from __future__ import annotations

import string
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from bench.metrics import Metric

CELLS = 1 << 22
"""Probe x gallery scores held at once (a block of probes against the whole gallery)."""
BOOTSTRAP, SEED, LEVEL = 200, 0, 0.95
"""Paired bootstrap draws, their seed and the interval level of a ranking."""
_TAIL = "equal rank or a shared group letter: not distinguishable; rows best first by rank, then estimate, then name"
BOOTSTRAP_RULE = (
    f"rank = 1 + number of items significantly better than this one and all of equal estimate (95 % paired "
    f"bootstrap of the difference, {BOOTSTRAP} draws, seed {SEED}, excludes 0); {_TAIL}"
)
OVERLAP_RULE = f"rank = 1 + number of items whose 95 % interval lies wholly better than all of equal estimate; {_TAIL}"
LETTERS = string.ascii_lowercase + string.ascii_uppercase


def probe_ranks(
    probes: np.ndarray,
    probe_ids: np.ndarray,
    gallery: np.ndarray,
    gallery_ids: np.ndarray,
    metric: Metric,
    cells: int = CELLS,
) -> np.ndarray:
    """Rank of each probe's identity in the gallery (float, ``inf`` for a miss)."""
    keep = ~np.isnan(gallery).any(axis=1)
    gallery, gallery_ids = gallery[keep], np.asarray(gallery_ids)[keep]
    probe_ids = np.asarray(probe_ids)
    ranks = np.full(len(probes), np.inf)
    usable = np.flatnonzero(~np.isnan(probes).any(axis=1))
    step = max(1, cells // max(len(gallery), 1))
    for start in range(0, len(usable), step):
        rows = usable[start : start + step]
        sims = metric.similarity(metric.all_against(probes[rows], gallery))
        mated = gallery_ids[None, :] == probe_ids[rows, None]
        best = np.where(mated, sims, -np.inf).max(axis=1, initial=-np.inf)
        better = ((sims >= best[:, None]) & ~mated).sum(axis=1)
        ranks[rows] = np.where(mated.any(axis=1), 1 + better, np.inf)
    return ranks


def rank_rates(ranks: np.ndarray, ks: Sequence[int] = (1, 5, 20)) -> dict[str, float]:
    """``rank<k>``: share of probes whose identity is within the first k."""
    return {f"rank{k}": float(np.mean(ranks <= k)) for k in ks}


def competition(values: np.ndarray) -> np.ndarray:
    """Rank of each value, lowest first: 1 + the number of values strictly lower (equal values share it; NaN last)."""
    values = np.asarray(values, dtype=float)
    return 1 + np.searchsorted(np.sort(values), values, side="left")


def resamples(n: int, n_boot: int = BOOTSTRAP, seed: int = SEED) -> np.ndarray:
    """``n_boot`` x ``n`` indices drawn with replacement; score every item on the same draws (a paired bootstrap)."""
    return np.random.default_rng(seed).integers(0, n, size=(n_boot, n))


def interval(replicates: np.ndarray, level: float = LEVEL) -> tuple[np.ndarray, np.ndarray]:
    """Percentile interval over the last axis of ``replicates`` (items x draws)."""
    lo, hi = np.quantile(np.asarray(replicates, dtype=float), [(1 - level) / 2, (1 + level) / 2], axis=-1)
    return lo, hi


def apart_by_replicates(replicates: np.ndarray, level: float = LEVEL) -> np.ndarray:
    """Items x items: True where the interval of the paired difference (same draws) excludes 0."""
    replicates = np.asarray(replicates, dtype=float)
    lo, hi = interval(replicates[:, None, :] - replicates[None, :, :], level)
    return (lo > 0) | (hi < 0)


def apart_by_intervals(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Items x items: True where the two intervals do not overlap."""
    lo, hi = np.asarray(lo, dtype=float), np.asarray(hi, dtype=float)
    return disjoint(lo[:, None], hi[:, None], lo[None, :], hi[None, :])


def disjoint(lo_a: np.ndarray, hi_a: np.ndarray, lo_b: np.ndarray, hi_b: np.ndarray) -> np.ndarray:
    """True where interval a and interval b do not overlap (False where either is NaN)."""
    return (np.asarray(lo_a) > np.asarray(hi_b)) | (np.asarray(hi_a) < np.asarray(lo_b))


@dataclass(frozen=True)
class Ranking:
    """Item indices best first (``order``); ``rank`` and ``group`` (letters) per item in input order."""

    order: np.ndarray
    rank: np.ndarray
    group: list[str]


def rank_items(names: Sequence[str], estimate: np.ndarray, apart: np.ndarray, lower_is_better: bool) -> Ranking:
    """Rank = 1 + the number of items with a better estimate ``apart`` from this one and from every item of the
    same estimate (equal estimates are never apart; NaN is worst and apart from every number); rows by (rank,
    estimate, name); groups by :func:`letters`."""
    value = np.asarray(estimate, dtype=float)
    missing = np.isnan(value)
    key = np.where(missing, np.inf, value if lower_is_better else -value)
    tie = key[:, None] == key[None, :]
    apart = (np.asarray(apart, dtype=bool) | (missing[:, None] != missing[None, :])) & ~tie
    near_a_tie = (~apart).astype(int) @ tie.astype(int) > 0  # [i, j]: i is not apart from some item tied with j
    rank = 1 + ((key[:, None] < key[None, :]) & ~near_a_tie).sum(axis=0)
    order = np.lexsort((np.asarray(names, dtype=str), key, rank))
    return Ranking(order, rank, letters(order, apart))


def letters(order: np.ndarray, apart: np.ndarray) -> list[str]:
    """Compact letter display: each maximal run of consecutive items (in ``order``) none of them apart gets a
    letter (``a``, ``b``...; ``(53)`` past ``Z``), so items sharing a letter are not distinguishable."""
    groups = [""] * len(order)
    runs, last_end = 0, 0
    for start in range(len(order)):
        end = start + 1
        while end < len(order) and not apart[order[end], order[start:end]].any():
            end += 1
        if end > last_end:
            label = LETTERS[runs] if runs < len(LETTERS) else f"({runs + 1})"
            for i in order[start:end]:
                groups[i] += label
            runs, last_end = runs + 1, end
    return groups
