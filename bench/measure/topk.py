"""Exact top-k search of a large gallery in blocks: bounded memory, BLAS for the scores.

For 1:N at scale (a million gallery vectors): probes x gallery scores are never held whole. Each block of
``probe_block`` probes is scored against ``gallery_block`` gallery rows at a time (one float32 matmul), the block's
best ``k`` kept with ``np.argpartition`` and merged into the running best. Memory is the inputs plus about
``3 * 4 * probe_block * gallery_block`` bytes (the scores and argpartition's index array), whatever the gallery size.
"""

from __future__ import annotations

import numpy as np

PROBE_BLOCK = 1024
GALLERY_BLOCK = 32768


def top_k(
    probes: np.ndarray,
    gallery: np.ndarray,
    k: int,
    probe_block: int = PROBE_BLOCK,
    gallery_block: int = GALLERY_BLOCK,
) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` gallery rows of largest inner product (cosine on L2-normalised rows) per probe, best first.

    Returns (indices (P, k) int64, scores (P, k) float32); equal scores are ordered by gallery index (of rows tied
    at the k-th place, which ones are kept is unspecified). With fewer than ``k`` gallery rows, k is their number.
    """
    probes = np.ascontiguousarray(probes, dtype=np.float32)
    gallery = np.ascontiguousarray(gallery, dtype=np.float32)
    k = min(k, len(gallery))
    indices = np.zeros((len(probes), k), dtype=np.int64)
    scores = np.zeros((len(probes), k), dtype=np.float32)
    for p0 in range(0, len(probes), probe_block):
        block = probes[p0 : p0 + probe_block]
        indices[p0 : p0 + len(block)], scores[p0 : p0 + len(block)] = _search(block, gallery, k, gallery_block)
    return indices, scores


def _search(probes: np.ndarray, gallery: np.ndarray, k: int, gallery_block: int) -> tuple[np.ndarray, np.ndarray]:
    best_idx = np.zeros((len(probes), 0), dtype=np.int64)
    best = np.zeros((len(probes), 0), dtype=np.float32)
    for g0 in range(0, len(gallery), gallery_block):
        scores = probes @ gallery[g0 : g0 + gallery_block].T
        idx, top = _best(scores, k)
        best_idx, best = _best_of(np.hstack([best_idx, idx + g0]), np.hstack([best, top]), k)
    order = np.lexsort((best_idx, -best), axis=1)  # best first; ties by gallery index
    return np.take_along_axis(best_idx, order, 1), np.take_along_axis(best, order, 1)


def _best(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Column indices and values of each row's ``k`` largest scores (unordered)."""
    if k >= scores.shape[1]:
        idx = np.broadcast_to(np.arange(scores.shape[1], dtype=np.int64), scores.shape)
        return idx, scores
    idx = np.argpartition(scores, scores.shape[1] - k, axis=1)[:, -k:].astype(np.int64)
    return idx, np.take_along_axis(scores, idx, 1)


def _best_of(idx: np.ndarray, scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` best of candidate (index, score) columns; of equal scores, the lower gallery index."""
    if idx.shape[1] <= k:
        return idx, scores
    order = np.lexsort((idx, -scores), axis=1)[:, :k]
    return np.take_along_axis(idx, order, 1), np.take_along_axis(scores, order, 1)


def mate_ranks(indices: np.ndarray, scores: np.ndarray, mates: np.ndarray) -> np.ndarray:
    """Rank (1 = best) of each probe's mate gallery row in its top-k, +inf where it is not in the top-k (or the
    probe has none, ``mates`` -1). Ties count against the probe: a row scoring the same as the mate ranks first."""
    found = indices == mates[:, None]
    inside = found.any(axis=1) & (mates >= 0)
    mate_score = np.where(inside, scores[np.arange(len(scores)), found.argmax(axis=1)], np.inf)
    ranks = ((scores >= mate_score[:, None]) & ~found).sum(axis=1) + 1.0
    return np.where(inside, ranks, np.inf)
