"""Operating points: FNMR at a fixed FMR, subject-level bootstrap intervals, DET geometry, subject-disjoint splits.

Pure numpy. Scores come with ``higher_is_more_similar`` (False: distances, a pair is accepted when
``score <= threshold``; True: similarities, accepted when ``score >= threshold``), as in :mod:`bench.protocol`.

The FMR rule: with N impostor scores, the threshold is the most permissive one at which at most ``floor(FMR x N)``
impostors are accepted -- never interpolated past the target, so the achieved FMR is always <= the target (the
nearest-FPR rule of insightface/TFace can overshoot it). The threshold reported lies halfway between the first
rejected impostor score and the next more similar score (``bench.measure.kfold.EXTREME_MARGIN`` beyond the ends), the
same midpoint convention as ``protocol.best_threshold``.

Every statistic has a weighted form: a weight matrix (B, n_pairs) of pair multiplicities evaluates B bootstrap
samples at once. :func:`subject_bootstrap` draws those weights by resampling subjects (identities) with
replacement and carrying their pairs along, because the pairs of one person are not independent.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from bench.measure.kfold import EXTREME_MARGIN

FMRS: tuple[float, ...] = (1e-1, 1e-2, 1e-3, 1e-4, 1e-5, 1e-6)
"""The false match rates reported by default."""

MIN_IMPOSTORS_PER_ERROR = 10
"""A figure at FMR f is ``insufficient`` with fewer than ``10 / f`` impostor comparisons (at least 10 errors)."""

LEVEL = 0.95
"""Default confidence level of the bootstrap intervals."""

CHUNK = 200
"""Bootstrap samples evaluated per block (bounds memory to ~CHUNK x n_pairs floats)."""


@dataclass(frozen=True)
class OperatingPoint:
    """The operating point for one FMR target; ``threshold`` in the metric's own units."""

    fmr_target: float
    threshold: float
    fmr: float  # achieved, always <= fmr_target
    fnmr: float
    n_impostor: int
    n_genuine: int
    insufficient: bool  # fewer than 10 / fmr_target impostor comparisons
    n_false_matches: int = 0  # impostors accepted at the threshold: what the achieved FMR rests on

    @property
    def tar(self) -> float:
        """True accept rate, 1 - FNMR (for those who think in TAR@FAR)."""
        return 1.0 - self.fnmr


def _labels(same: ArrayLike, n: int) -> np.ndarray:
    y = np.asarray(same)
    if y.shape != (n,):
        raise ValueError(f"same must have shape ({n},), got {y.shape}")
    if not np.isin(y, (0, 1)).all():
        raise ValueError("same must hold only booleans or 0/1")
    return y.astype(bool)


@dataclass(frozen=True)
class Grouped:
    """Scores as similarities grouped by distinct value, most similar first; the base of every weighted statistic.

    Candidate ``j`` (0..G) accepts the ``j`` most similar groups; ``candidates[j]`` is its threshold.
    """

    distinct: np.ndarray  # (G,) distinct similarities, descending
    group: np.ndarray  # (P,) group index of each pair
    same: np.ndarray  # (P,) bool
    higher_is_more_similar: bool
    order: np.ndarray  # (P,) pairs sorted by group
    ends: np.ndarray  # (G+1,) pairs in groups < j, for each candidate j

    @classmethod
    def of(cls, scores: ArrayLike, same: ArrayLike, higher_is_more_similar: bool) -> Grouped:
        """Validate and group; demands at least one genuine and one impostor pair."""
        s = np.asarray(scores, dtype=float)
        if s.ndim != 1 or len(s) == 0:
            raise ValueError(f"scores must be a non-empty 1-D array, got shape {s.shape}")
        if not np.all(np.isfinite(s)):
            raise ValueError("scores contain NaN or infinite values")
        y = _labels(same, len(s))
        if y.all() or not y.any():
            raise ValueError("need both genuine (same) and impostor (different) pairs")
        sim = s if higher_is_more_similar else -s
        distinct, inverse = np.unique(-sim, return_inverse=True)  # ascending in -sim: most similar first
        group = inverse.ravel()
        order = np.argsort(group, kind="stable")
        ends = np.searchsorted(group[order], np.arange(len(distinct) + 1), side="left")
        return cls(-distinct, group, y, higher_is_more_similar, order, ends)

    @property
    def candidates(self) -> np.ndarray:
        """(G+1,) thresholds in original units: above all, midpoints, below all."""
        d = self.distinct
        sim = np.concatenate(([d[0] + EXTREME_MARGIN], (d[:-1] + d[1:]) / 2, [d[-1] - EXTREME_MARGIN]))
        return sim if self.higher_is_more_similar else -sim

    def counts(self, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Cumulative (impostor, genuine) weight accepted by each candidate: two (B, G+1) arrays."""
        w = np.atleast_2d(weights).astype(float)[:, self.order]
        genuine = self.same[self.order]
        out = []
        for mask in (~genuine, genuine):
            cum = np.concatenate((np.zeros((len(w), 1)), np.cumsum(w * mask, axis=1)), axis=1)
            out.append(cum[:, self.ends])
        return out[0], out[1]


def _points(g: Grouped, weights: np.ndarray, fmrs: Sequence[float]) -> tuple[np.ndarray, ...]:
    """(threshold, fmr, fnmr, false matches, n_impostor, n_genuine) per sample and target: (B, F) arrays."""
    cum_imp, cum_gen = g.counts(weights)
    n_imp, n_gen = cum_imp[:, -1:], cum_gen[:, -1:]
    allowed = np.floor(np.asarray(fmrs, dtype=float)[None, :] * n_imp + 1e-9)  # (B, F)
    # Number of candidates (beyond j=0) whose accepted impostor weight stays within the allowance:
    # cum_imp is non-decreasing, so the last such candidate is the most permissive one.
    j = (cum_imp[:, None, 1:] <= allowed[:, :, None]).sum(axis=2)  # (B, F)
    false_matches = np.take_along_axis(cum_imp, j, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        fmr = false_matches / n_imp
        fnmr = 1.0 - np.take_along_axis(cum_gen, j, axis=1) / n_gen
    threshold = np.where((n_imp > 0) & (n_gen > 0), g.candidates[j], np.nan)  # a sample lacking a class: undefined
    return threshold, fmr, fnmr, false_matches, np.broadcast_to(n_imp, j.shape), np.broadcast_to(n_gen, j.shape)


def operating_points(
    scores: ArrayLike, same: ArrayLike, higher_is_more_similar: bool, fmrs: Sequence[float] = FMRS
) -> list[OperatingPoint]:
    """One :class:`OperatingPoint` per FMR target."""
    for f in fmrs:
        if not 0 < f <= 1:
            raise ValueError(f"fmr must be in (0, 1], got {f}")
    g = Grouped.of(scores, same, higher_is_more_similar)
    threshold, fmr, fnmr, fm, n_imp, n_gen = (a[0] for a in _points(g, np.ones((1, len(g.same))), fmrs))
    return [
        OperatingPoint(
            float(target),
            float(threshold[k]),
            float(fmr[k]),
            float(fnmr[k]),
            int(n_imp[k]),
            int(n_gen[k]),
            bool(n_imp[k] < MIN_IMPOSTORS_PER_ERROR / target),
            int(fm[k]),
        )
        for k, target in enumerate(fmrs)
    ]


def threshold_at_fmr(scores: ArrayLike, same: ArrayLike, fmr: float, higher_is_more_similar: bool) -> OperatingPoint:
    """The operating point at one FMR target (see the module docstring for the rule)."""
    return operating_points(scores, same, higher_is_more_similar, (fmr,))[0]


def accepted(scores: ArrayLike, threshold: float, higher_is_more_similar: bool) -> np.ndarray:
    """Which pairs a threshold accepts (``>=`` for similarities, ``<=`` for distances)."""
    s = np.asarray(scores, dtype=float)
    return s >= threshold if higher_is_more_similar else s <= threshold


def rates_at(scores: ArrayLike, same: ArrayLike, threshold: float, higher_is_more_similar: bool) -> tuple[float, float]:
    """(FMR, FNMR) at a fixed threshold; NaN for a class with no pairs."""
    accept = accepted(scores, threshold, higher_is_more_similar)
    fmr, fnmr = weighted_rates(accept, same, np.ones((1, len(accept))))
    return float(fmr[0]), float(fnmr[0])


def weighted_rates(accept: np.ndarray, same: ArrayLike, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(FMR, FNMR) per weight row for a fixed accept decision per pair: two (B,) arrays (NaN where undefined)."""
    y = _labels(same, len(accept))
    w = np.atleast_2d(weights).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        fmr = (w @ (accept & ~y)) / (w @ ~y)
        fnmr = (w @ (~accept & y)) / (w @ y)
    return fmr, fnmr


def weighted_auc(g: Grouped, weights: np.ndarray) -> np.ndarray:
    """ROC AUC per weight row (trapezoid over the grouped ROC: ties count half, as sklearn's)."""
    cum_imp, cum_gen = g.counts(weights)
    with np.errstate(invalid="ignore", divide="ignore"):
        fpr, tpr = cum_imp / cum_imp[:, -1:], cum_gen / cum_gen[:, -1:]
    return np.sum(np.diff(fpr, axis=1) * (tpr[:, 1:] + tpr[:, :-1]) / 2, axis=1)


def weighted_eer(g: Grouped, weights: np.ndarray) -> np.ndarray:
    """Equal error rate per weight row, linearly interpolated where FMR crosses FNMR (as ``protocol.eer``)."""
    cum_imp, cum_gen = g.counts(weights)
    with np.errstate(invalid="ignore", divide="ignore"):
        fpr, fnr = cum_imp / cum_imp[:, -1:], 1 - cum_gen / cum_gen[:, -1:]
        gap = fpr - fnr  # rises from -1 to 1
        i = np.maximum(np.argmax(gap >= 0, axis=1), 1)[:, None]
        lo_gap, hi_gap = np.take_along_axis(gap, i - 1, 1), np.take_along_axis(gap, i, 1)
        w = np.where(hi_gap > lo_gap, -lo_gap / (hi_gap - lo_gap), 0.0)
        lo, hi = np.take_along_axis(fpr, i - 1, 1), np.take_along_axis(fpr, i, 1)
    return (lo + w * (hi - lo))[:, 0]


def subject_index(left_subject: ArrayLike, right_subject: ArrayLike) -> tuple[np.ndarray, np.ndarray, int]:
    """Integer subject ids (0..S-1) for each pair's two sides, and S."""
    left, right = np.asarray(left_subject), np.asarray(right_subject)
    if left.shape != right.shape or left.ndim != 1:
        raise ValueError("left_subject and right_subject must be 1-D and of equal length")
    names, inverse = np.unique(np.concatenate([left, right]), return_inverse=True)
    inverse = inverse.ravel()
    return inverse[: len(left)], inverse[len(left) :], len(names)


def subject_weights(left_subject: ArrayLike, right_subject: ArrayLike, n: int, seed: int = 0) -> np.ndarray:
    """(n, n_pairs) pair multiplicities of ``n`` subject-level bootstrap samples.

    Each sample draws S subjects with replacement (S = distinct subjects in the pairs); subject ``a`` drawn
    ``c_a`` times carries its pairs ``c_a`` times. A pair between two subjects is carried once per drawn copy of
    each, ``c_a x c_b`` times (the vertex bootstrap for comparisons between clusters); a pair within one subject
    (genuine) ``c_a`` times.
    """
    left, right, n_subjects = subject_index(left_subject, right_subject)
    rng = np.random.default_rng(seed)
    counts = rng.multinomial(n_subjects, np.full(n_subjects, 1 / n_subjects), size=n).astype(float)
    return np.where(left == right, counts[:, left], counts[:, left] * counts[:, right])


def subject_bootstrap(
    statistic: Callable[[np.ndarray], np.ndarray],
    left_subject: ArrayLike,
    right_subject: ArrayLike,
    n: int,
    seed: int = 0,
) -> np.ndarray:
    """Bootstrap samples of ``statistic``: it gets a (b, n_pairs) weight block and returns (b, ...) values.

    Samples are drawn by :func:`subject_weights` (seeded: the same seed gives the same samples) and evaluated in
    blocks of :data:`CHUNK` rows; the result has ``n`` rows.
    """
    if n < 1:
        raise ValueError(f"need n >= 1 bootstrap samples, got {n}")
    weights = subject_weights(left_subject, right_subject, n, seed)
    return np.concatenate([np.asarray(statistic(weights[i : i + CHUNK])) for i in range(0, n, CHUNK)])


def interval(samples: ArrayLike, level: float = LEVEL) -> tuple[np.ndarray, np.ndarray]:
    """Percentile interval over axis 0, ignoring NaN samples (all NaN -> NaN)."""
    tail = 100 * (1 - level) / 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns give NaN
        lo, hi = np.nanpercentile(np.asarray(samples, dtype=float), [tail, 100 - tail], axis=0)
    return lo, hi


@dataclass(frozen=True)
class Intervals:
    """95 % subject-bootstrap intervals (lo, hi) of one combination's figures."""

    fnmr: np.ndarray  # (F, 2) per FMR target
    fmr: np.ndarray  # (F, 2) achieved FMR
    threshold: np.ndarray  # (F, 2)
    eer: tuple[float, float]
    auc: tuple[float, float]
    accuracy: tuple[float, float] | None  # of the per-pair correctness given, when given
    n_samples: int
    seed: int


def bootstrap_intervals(
    scores: ArrayLike,
    same: ArrayLike,
    higher_is_more_similar: bool,
    left_subject: ArrayLike,
    right_subject: ArrayLike,
    n: int,
    seed: int = 0,
    fmrs: Sequence[float] = FMRS,
    correct: ArrayLike | None = None,
    level: float = LEVEL,
) -> Intervals:
    """Intervals for FNMR/FMR/threshold at each FMR, EER, AUC and (given ``correct``, each pair's correctness
    under fixed thresholds, e.g. its k-fold test fold's; NaN for a pair left out of the accuracy) accuracy -- all
    from the same bootstrap samples."""
    g = Grouped.of(scores, same, higher_is_more_similar)
    n_f = len(fmrs)
    given = None if correct is None else np.asarray(correct, dtype=float)
    counted = None if given is None else (~np.isnan(given)).astype(float)  # NaN: a pair the accuracy leaves out
    right_ok = None if given is None else np.nan_to_num(given, nan=0.0)

    def statistic(w: np.ndarray) -> np.ndarray:
        threshold, fmr, fnmr, *_ = _points(g, w, fmrs)
        columns = [threshold, fmr, fnmr, weighted_eer(g, w)[:, None], weighted_auc(g, w)[:, None]]
        if right_ok is not None:
            with np.errstate(invalid="ignore", divide="ignore"):
                columns.append(((w @ right_ok) / (w @ counted))[:, None])
        return np.concatenate(columns, axis=1)

    lo, hi = interval(subject_bootstrap(statistic, left_subject, right_subject, n, seed), level)
    both = np.stack([lo, hi], axis=1)
    return Intervals(
        fnmr=both[2 * n_f : 3 * n_f],
        fmr=both[n_f : 2 * n_f],
        threshold=both[:n_f],
        eer=(float(lo[3 * n_f]), float(hi[3 * n_f])),
        auc=(float(lo[3 * n_f + 1]), float(hi[3 * n_f + 1])),
        accuracy=None if right_ok is None else (float(lo[-1]), float(hi[-1])),
        n_samples=n,
        seed=seed,
    )


def det_curve(
    scores: ArrayLike, same: ArrayLike, higher_is_more_similar: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(FMR, FNMR, threshold) at every candidate threshold, from accepting nothing to accepting everything."""
    g = Grouped.of(scores, same, higher_is_more_similar)
    cum_imp, cum_gen = g.counts(np.ones((1, len(g.same))))
    return cum_imp[0] / cum_imp[0, -1], 1 - cum_gen[0] / cum_gen[0, -1], g.candidates


def normal_deviate(p: ArrayLike, floor: float = 1e-7) -> np.ndarray:
    """The DET axes' probit transform, with rates clipped to [floor, 1 - floor] so 0 and 1 stay plottable."""
    from scipy.stats import norm

    return np.asarray(norm.ppf(np.clip(np.asarray(p, dtype=float), floor, 1 - floor)))


def subject_split(
    left_subject: ArrayLike, right_subject: ArrayLike, dev_fraction: float = 0.5, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """(dev, eval) pair masks from a seeded split of the subjects: no identity is in both halves.

    A pair goes to the half holding both its subjects; pairs across the halves are in neither (count them as
    ``~(dev | eval)``).
    """
    if not 0 < dev_fraction < 1:
        raise ValueError(f"dev_fraction must be in (0, 1), got {dev_fraction}")
    left, right, n_subjects = subject_index(left_subject, right_subject)
    in_dev = np.zeros(n_subjects, bool)
    in_dev[np.random.default_rng(seed).permutation(n_subjects)[: round(dev_fraction * n_subjects)]] = True
    return in_dev[left] & in_dev[right], ~in_dev[left] & ~in_dev[right]
