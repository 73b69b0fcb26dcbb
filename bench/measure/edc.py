"""Error-versus-discard characteristic (EDC, ISO/IEC 29794-1 / 29794-5), pure numpy.

A quality measure is judged by how fast a recognizer's error falls when the comparisons of lowest *pairwise*
quality (the minimum of the two images' qualities) are discarded, at a threshold fixed once on all comparisons
-- never recomputed after discarding, which would hold the error constant by construction.

Scores are similarities here (a match when ``score >= threshold``); callers flip distances first. A pair
quality of NaN (not measurable, e.g. no face) counts as the lowest, so it is discarded first.

Discarding can only cut between distinct quality values, so the curve is a step function: after discarding the
fraction ``x_j`` (every comparison below the j-th distinct quality), the error is ``e_j`` until ``x_{j+1}``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

PAUC_LIMIT = 0.2
"""pAUC is the area under the EDC from no discard to this discard fraction."""
MAX_DISCARD = 0.5
"""The curve is reported up to this discard fraction."""


@dataclass(frozen=True)
class Curve:
    """One EDC: discard fractions (ascending, from 0) and the error after discarding each."""

    discard: np.ndarray
    error: np.ndarray

    def at(self, fractions: np.ndarray) -> np.ndarray:
        """The error after discarding as close to each fraction as the quality ties allow, without exceeding it."""
        steps = np.searchsorted(self.discard, np.asarray(fractions, dtype=float), side="right") - 1
        return self.error[np.clip(steps, 0, None)]


def pair_quality(quality: np.ndarray, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """The pairwise quality of each comparison: the lower of its two images' (NaN -> -inf, discarded first)."""
    q = np.where(np.isnan(quality), -np.inf, np.asarray(quality, dtype=float))
    return np.minimum(q[left], q[right])


def threshold_at_fnmr(scores: np.ndarray, same: np.ndarray, fnmr: float) -> float:
    """The threshold at which ``round(fnmr * n_genuine)`` genuine comparisons score below it (FNMR ~ ``fnmr``)."""
    genuine = np.sort(np.asarray(scores, dtype=float)[np.asarray(same, dtype=bool)])
    if not 0 <= fnmr < 1 or len(genuine) == 0:
        raise ValueError(f"need genuine comparisons and 0 <= fnmr < 1, got {len(genuine)} and {fnmr}")
    return float(genuine[round(fnmr * len(genuine))])


def threshold_at_fmr(scores: np.ndarray, same: np.ndarray, fmr: float) -> float:
    """The lowest threshold at which at most ``floor(fmr * n_impostor)`` impostor comparisons reach it."""
    impostor = np.sort(np.asarray(scores, dtype=float)[~np.asarray(same, dtype=bool)])[::-1]
    if not 0 <= fmr < 1 or len(impostor) == 0:
        raise ValueError(f"need impostor comparisons and 0 <= fmr < 1, got {len(impostor)} and {fmr}")
    return float(np.nextafter(impostor[int(np.floor(fmr * len(impostor)))], np.inf))


def curve(errors: np.ndarray, quality: np.ndarray) -> Curve:
    """The EDC of comparisons flagged ``errors`` (bool) with pairwise ``quality``: the error rate among those
    kept after discarding every comparison below each distinct quality value."""
    order = np.argsort(quality, kind="stable")
    q, wrong = np.asarray(quality, dtype=float)[order], np.asarray(errors, dtype=bool)[order]
    n = len(q)
    if n == 0:
        raise ValueError("no comparisons")
    starts = np.flatnonzero(np.r_[True, q[1:] != q[:-1]])  # first index of each distinct quality = count discarded
    wrong_from = np.r_[np.cumsum(wrong[::-1])[::-1], 0]  # errors among q[i:]
    return Curve(starts / n, wrong_from[starts] / (n - starts))


def fnmr_curve(scores: np.ndarray, same: np.ndarray, quality: np.ndarray, threshold: float) -> Curve:
    """FNMR EDC over the genuine comparisons: a false non-match scores below ``threshold``."""
    same = np.asarray(same, dtype=bool)
    return curve(np.asarray(scores)[same] < threshold, np.asarray(quality)[same])


def fmr_curve(scores: np.ndarray, same: np.ndarray, quality: np.ndarray, threshold: float) -> Curve:
    """FMR EDC over the impostor comparisons: a false match scores at or above ``threshold``."""
    same = np.asarray(same, dtype=bool)
    return curve(np.asarray(scores)[~same] >= threshold, np.asarray(quality)[~same])


def pauc(edc: Curve, limit: float = PAUC_LIMIT) -> float:
    """Area under the step curve from discard fraction 0 to ``limit`` (lower is better)."""
    ends = np.minimum(np.r_[edc.discard[1:], np.inf], limit)
    widths = np.clip(ends - edc.discard, 0, None)
    return float(np.sum(edc.error * widths))


def pauc_draws(errors: np.ndarray, quality: np.ndarray, draws: np.ndarray, limit: float = PAUC_LIMIT) -> np.ndarray:
    """The pAUC of the EDC of each bootstrap draw (a row of indices into the comparisons)."""
    errors, quality = np.asarray(errors, dtype=bool), np.asarray(quality, dtype=float)
    return np.array([pauc(curve(errors[d], quality[d]), limit) for d in draws])


def ideal_pauc(start_error: float, limit: float = PAUC_LIMIT) -> float:
    """pAUC of the theoretical best curve, which discards errors first: ``max(0, (E - x) / (1 - x))``.

    Its integral is ``x + (1 - E) ln(1 - x)`` from 0 to ``min(E, limit)``, then 0.
    """
    end = min(start_error, limit)
    return float(end + (1 - start_error) * np.log1p(-end))


def ideal_curve(start_error: float, fractions: np.ndarray) -> np.ndarray:
    """The theoretical best EDC at ``fractions`` (every discarded comparison was an error)."""
    x = np.asarray(fractions, dtype=float)
    return np.clip((start_error - x) / (1 - x), 0, None)
