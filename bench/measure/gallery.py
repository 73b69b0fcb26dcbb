"""Identification (1:N): a seeded gallery/probe split, closed-set rank-k and CMC, open-set TPIR at FPIR.

Everything works on distances (lower = closer). Ties count against the probe: a true identity tied with
another one is not ranked ahead of it. A mated probe without an embedding, or whose identity has no usable
gallery image, is a miss; a distractor probe without an embedding is left out of the FPIR (a failed search
is not a correct rejection).
"""

from __future__ import annotations

import functools
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from bench.compute.sweep import Combination
from bench.measure.identity_matrix import BLOCK, Scorer, spans, vector_scorer
from bench.metrics import Metric

FPIRS = (0.5, 0.2, 0.1, 0.05, 0.01, 0.001)


@dataclass(frozen=True)
class Split:
    """Gallery and probe image indices; labels number the enrolled identities, -1 marks a distractor."""

    gallery: np.ndarray
    gallery_label: np.ndarray  # non-decreasing
    probes: np.ndarray
    probe_label: np.ndarray
    enrolled: list[str]  # identity name per label

    def describe(self) -> dict[str, int]:
        """Sizes, for the manifest and the result rows."""
        return {
            "n_enrolled": len(self.enrolled),
            "n_gallery_images": len(self.gallery),
            "n_mated_probes": int((self.probe_label >= 0).sum()),
            "n_distractor_probes": int((self.probe_label < 0).sum()),
        }


def split(identities: Sequence[str], per_identity: int = 1, seed: int = 0) -> Split:
    """Per identity with more than ``per_identity`` images: that many gallery images (seeded per identity,
    so adding an identity changes no other split), the rest probes. Other identities are distractors."""
    groups: dict[str, list[int]] = {}
    for i, name in enumerate(identities):
        groups.setdefault(name, []).append(i)
    enrolled = sorted(n for n, idx in groups.items() if len(idx) > per_identity)
    gallery, gallery_label, probes, probe_label = [], [], [], []
    for label, name in enumerate(enrolled):
        order = np.random.default_rng([seed, zlib.crc32(name.encode())]).permutation(groups[name])
        gallery.append(np.sort(order[:per_identity]))
        gallery_label.append(np.full(per_identity, label))
        probes.append(np.sort(order[per_identity:]))
        probe_label.append(np.full(len(order) - per_identity, label))
    for name in sorted(set(groups) - set(enrolled)):
        probes.append(np.array(groups[name]))
        probe_label.append(np.full(len(groups[name]), -1))
    return Split(_join(gallery), _join(gallery_label), _join(probes), _join(probe_label), enrolled)


def _join(parts: list[np.ndarray]) -> np.ndarray:
    return np.concatenate(parts).astype(int) if parts else np.zeros(0, int)


def identity_distances(
    vectors: np.ndarray, s: Split, metric: Metric, block: int = BLOCK, scorer: Scorer | None = None
) -> np.ndarray:
    """(probes, enrolled identities): dissimilarity (the score, negated where higher is more similar) to each
    identity's closest gallery image.

    Computed in blocks of at most ``block`` probes x ``block`` gallery images (cut at identity boundaries), so
    memory is the output plus one block. ``scorer`` scores image index blocks (default: ``metric`` on
    ``vectors``; a combination's own cross form under the every-face policy). NaN rows for probes without an
    embedding; +inf columns for identities without a usable gallery image.
    """
    scorer = scorer or vector_scorer(vectors, metric)
    out = np.full((len(s.probes), len(s.enrolled)), np.inf)
    usable = np.isfinite(vectors[s.gallery]).all(axis=1)
    gallery, labels = s.gallery[usable], s.gallery_label[usable]
    starts = np.flatnonzero(np.r_[True, np.diff(labels) != 0]) if len(labels) else np.zeros(0, int)
    for r0, r1 in spans(np.arange(len(s.probes)), len(s.probes), block):
        for c0, c1 in spans(starts, len(gallery), block):
            dist = -metric.similarity(scorer(s.probes[r0:r1], gallery[c0:c1]))
            local = starts[(starts >= c0) & (starts < c1)]
            out[r0:r1, labels[local]] = np.minimum.reduceat(dist, local - c0, axis=1)
    out[~np.isfinite(vectors[s.probes]).all(axis=1)] = np.nan
    return out


def true_ranks(dist: np.ndarray, own: np.ndarray) -> np.ndarray:
    """Rank (1 = best) of each mated probe's own identity (at distance ``own``); +inf where it cannot be found."""
    with np.errstate(invalid="ignore"):
        ranks = (dist <= own[:, None]).sum(axis=1).astype(float)
    ranks[~np.isfinite(own)] = np.inf
    return ranks


def cmc(ranks: np.ndarray, n_identities: int) -> np.ndarray:
    """Identification rate at ranks 1..n_identities."""
    if len(ranks) == 0:
        return np.full(n_identities, np.nan)
    return (ranks[:, None] <= np.arange(1, n_identities + 1)[None, :]).mean(axis=0)


def tpir_at_fpir(hits: np.ndarray, nonmated: np.ndarray, fpir: float) -> tuple[float, float] | None:
    """(TPIR, threshold) at the most permissive threshold whose FPIR is <= ``fpir``; accept ``<= threshold``.

    ``hits``: per mated probe, its rank-1 distance when rank 1 is its own identity, else +inf.
    ``nonmated``: per distractor probe, its closest distance. None with fewer than 1/fpir distractors.
    """
    n = len(nonmated)
    if n == 0 or n * fpir < 1 - 1e-9 or len(hits) == 0:
        return None
    allowed = int(np.floor(n * fpir + 1e-9))
    ordered = np.sort(nonmated)
    threshold = np.inf if allowed >= n else float(np.nextafter(ordered[allowed], -np.inf))
    return float(np.mean(hits <= threshold)), threshold


def identification(
    vectors: np.ndarray, s: Split, metric: Metric, scorer: Scorer | None = None
) -> tuple[dict[str, float | None], np.ndarray]:
    """Every identification figure for one metric, and the CMC (``scorer``: see :func:`identity_distances`)."""
    dist = identity_distances(vectors, s, metric, scorer=scorer)
    mated = s.probe_label >= 0
    own = dist[mated][np.arange(mated.sum()), s.probe_label[mated]]
    ranks = true_ranks(dist[mated], own)
    curve = cmc(ranks, len(s.enrolled))
    searched = np.isfinite(dist).any(axis=1)
    row: dict[str, float | None] = {
        **s.describe(),
        "n_probes_failed": int((~searched).sum()),
        "rank1": float(curve[0]) if len(curve) else None,
        "rank5": float(curve[4]) if len(curve) >= 5 else None,  # undefined with fewer than 5 enrolled
    }
    hits = np.where(ranks == 1, own, np.inf)
    nonmated = dist[~mated & searched].min(axis=1) if len(s.enrolled) else np.zeros(0)
    for fpir in FPIRS:
        found = tpir_at_fpir(hits, nonmated, fpir)
        tpir, threshold = found if found else (None, None)
        if threshold is not None and metric.higher_is_more_similar:
            threshold = -threshold  # back in the metric's own units
        row[f"tpir_at_fpir_{fpir:g}"], row[f"threshold_at_fpir_{fpir:g}"] = tpir, threshold
    return row, curve


def evaluate(combo: Combination, s: Split, metrics: list[Metric]) -> tuple[list[dict[str, Any]], pd.DataFrame]:
    """One row per metric, and the CMC curves in long form (rank, identification_rate)."""
    base = {"dataset": combo.dataset.name, "model": combo.model.name, "detector": combo.detector.name}
    rows, curves = [], []
    for metric in metrics:
        row, curve = identification(combo.vectors, s, metric, functools.partial(combo.cross_scores, metric))
        rows.append({**base, "metric": metric.name, **row})
        curves.append(
            pd.DataFrame(
                {**base, "metric": metric.name, "rank": np.arange(1, len(curve) + 1), "identification_rate": curve}
            )
        )
    return rows, pd.concat(curves, ignore_index=True)
