"""Template-based 1:1 verification (IJB-B / IJB-C): templates pooled from media, TAR at FAR on many pairs.

Pooling follows insightface's IJB evaluation: each image's embedding is L2-normalised (optionally weighted by its
faceness score), averaged within each media (a video's frames, or one still), the media averages summed across
the template's media, and the sum L2-normalised. Pair scores are computed in blocks of pairs, so millions of
template pairs need memory for one block only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from bench.metrics import Metric

FARS = (1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1)
BLOCK = 1 << 14


@dataclass(frozen=True)
class Templates:
    """Pooled templates: ``ids[k]`` (sorted) is the template id of row ``k`` of ``vectors`` (NaN row: no embedding)."""

    ids: np.ndarray
    vectors: np.ndarray

    def rows(self, template_ids: np.ndarray) -> np.ndarray:
        """Row of each template id (-1 where the id has no template); ``ids`` are sorted (``np.unique``)."""
        found = np.clip(np.searchsorted(self.ids, template_ids), 0, len(self.ids) - 1)
        return np.where(self.ids[found] == template_ids, found, -1)


def pool(
    vectors: np.ndarray, templates: np.ndarray, medias: np.ndarray, weights: np.ndarray | None = None
) -> Templates:
    """Templates from image embeddings ``vectors`` (N, D; NaN rows are left out), each image's template id and
    media id, and optional per-image weights (faceness scores)."""
    vectors = np.asarray(vectors, dtype=np.float64)
    ok = ~np.isnan(vectors).any(axis=1)
    unit = np.zeros_like(vectors)
    unit[ok] = vectors[ok] / np.linalg.norm(vectors[ok], axis=1, keepdims=True)
    if weights is not None:
        unit *= np.asarray(weights, dtype=np.float64)[:, None]
    ids, t_index = np.unique(np.asarray(templates), return_inverse=True)
    _, m_code = np.unique(np.asarray(medias), return_inverse=True)
    keys, media = np.unique(np.stack([t_index, m_code]), axis=1, return_inverse=True)
    media = media.ravel()
    sums = np.zeros((keys.shape[1], vectors.shape[1]))
    np.add.at(sums, media[ok], unit[ok])
    counts = np.bincount(media[ok], minlength=keys.shape[1])
    pooled = np.zeros((len(ids), vectors.shape[1]))
    has = counts > 0
    np.add.at(pooled, keys[0][has], sums[has] / counts[has, None])
    norms = np.linalg.norm(pooled, axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        pooled = np.where(norms > 0, pooled / norms, np.nan)
    return Templates(ids, pooled)


def pair_scores(
    vectors: np.ndarray, left: np.ndarray, right: np.ndarray, metric: Metric, block: int = BLOCK
) -> np.ndarray:
    """``metric`` scores of rows ``left[i]`` vs ``right[i]``, computed ``block`` pairs at a time."""
    scores = np.empty(len(left))
    for start in range(0, len(left), block):
        end = start + block
        scores[start:end] = metric.pairs(vectors, left[start:end], right[start:end])
    return scores


def tar_at_fars(
    scores: np.ndarray, same: np.ndarray, fars: Sequence[float], higher_is_more_similar: bool
) -> dict[float, float | None]:
    """TAR at the most permissive threshold whose FAR is <= each FAR (as :func:`bench.measure.kfold.tar_at_far`),
    found by partial selection (O(n) per FAR, no full ROC); None where there are fewer than 1/FAR impostors."""
    s = np.asarray(scores, dtype=np.float64) if higher_is_more_similar else -np.asarray(scores, dtype=np.float64)
    same = np.asarray(same, dtype=bool)
    genuine, impostor = s[same], s[~same]
    out: dict[float, float | None] = {}
    for far in fars:
        n = len(impostor)
        if n == 0 or len(genuine) == 0 or n < 1 / far:
            out[far] = None
            continue
        k = int(np.floor(far * n * (1 + 1e-12)))  # impostors allowed above the threshold
        if k >= n:
            out[far] = 1.0
            continue
        cut = np.partition(impostor, n - k - 1)[n - k - 1]  # the (k+1)-th highest impostor: must be rejected
        out[far] = float(np.mean(genuine > cut))
    return out


def verify(
    templates: Templates,
    left_ids: np.ndarray,
    right_ids: np.ndarray,
    same: np.ndarray,
    metric: Metric,
    fars: Sequence[float] = FARS,
    block: int = BLOCK,
) -> dict[str, float | int | None]:
    """TAR@FAR (``tar_at_far_1e-06`` ...) over the template pairs whose two templates have a vector."""
    left, right = templates.rows(np.asarray(left_ids)), templates.rows(np.asarray(right_ids))
    valid = np.isfinite(templates.vectors).all(axis=1)
    keep = (left >= 0) & (right >= 0)
    keep[keep] &= valid[left[keep]] & valid[right[keep]]
    scores = pair_scores(templates.vectors, left[keep], right[keep], metric, block)
    labels = np.asarray(same, dtype=bool)[keep]
    tars = tar_at_fars(scores, labels, fars, metric.higher_is_more_similar)
    return {
        **{f"tar_at_far_{far:.0e}": tar for far, tar in tars.items()},
        "n_template_pairs": len(keep),
        "n_pairs_scored": int(keep.sum()),
        "n_genuine": int(labels.sum()),
        "n_impostor": int((~labels).sum()),
        "n_templates": len(templates.ids),
        "n_templates_empty": int((~valid).sum()),
    }
