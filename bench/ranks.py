"""Image-level 1:N ranks against a large gallery (TinyFace): every probe against every gallery image, in blocks.

A probe's rank is 1 + the number of non-mated gallery images scoring at least as well as its best mated one (ties
count against the probe, as in :mod:`bench.identify`); a probe with no mated gallery image or no embedding is a
miss (rank infinite). Gallery images without an embedding are left out.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from bench.metrics import Metric

CELLS = 1 << 22
"""Probe x gallery scores held at once (a block of probes against the whole gallery)."""


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
