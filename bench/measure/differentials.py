"""Demographic differentials at one operational threshold, the ISO/IEC 19795-10 way. Pure numpy.

One global threshold is set at a target FMR on *all* impostor comparisons
(:func:`bench.measure.operating.threshold_at_fmr`); at that threshold each group gets its own error rates:

* FMR over the group's within-group impostors (both images labelled with the group); impostors whose images carry
  different labels are *cross-group* and reported apart -- they are easy rejections, and mixing them in would make
  every group's FMR look better than it is; pairs with an unlabelled image are counted, never assigned;
* FNMR over the group's genuine pairs;
* failure-to-detect rate over the group's images;
* the per-group threshold that would give the group the target FMR on its own impostors.

Summary differentials across the groups' rates (a smaller differential is fairer):

* max/min ratio of FMR and of FNMR (inf when some group has no error and another has);
* GARBE, the Gini Aggregation Rate for Biometric Equitability (Howard, Laird, Sirotin, Rubin, Tipton & Vemury,
  "Evaluating proposed fairness models for face recognition algorithms", 2022, arXiv:2203.05051; used in NIST
  FRTE demographic reporting): ``GARBE = alpha * G(FMR) + (1 - alpha) * G(FNMR)`` with the small-sample Gini
  coefficient ``G(x) = n / (n - 1) * sum_i sum_j |x_i - x_j| / (2 n^2 mean(x))`` over the n groups' rates
  (0 = equal rates; 1 = all error in one group);
* FDR, the Fairness Discrepancy Rate (de Freitas Pereira & Marcel, "Fairness in biometrics: a figure of merit to
  assess biometric verification systems", IEEE T-BIOM 2021, arXiv:2011.02395):
  ``FDR = 1 - (alpha * A + (1 - alpha) * B)`` with ``A = max_ij |FMR_i - FMR_j|`` and ``B = max_ij |FNMR_i -
  FNMR_j|`` (1 = fair).

``alpha`` weighs false matches against false non-matches; both papers leave it to the user; 0.5 here by default.

Uncertainty: subject-level bootstrap (:func:`bench.measure.operating.subject_bootstrap`: identities resampled with
replacement, carrying their pairs) of every rate and differential *at the fixed threshold* -- the threshold is the
operational input, the intervals are the sampling uncertainty of what it yields.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from bench.data.attributes import UNLABELLED
from bench.measure.operating import (
    LEVEL,
    MIN_IMPOSTORS_PER_ERROR,
    accepted,
    interval,
    subject_bootstrap,
    subject_weights,
    threshold_at_fmr,
)

CROSS = "cross-group"
"""The pseudo-group of impostor pairs whose two images carry different labels."""

ALL = "all"
"""The row of every pair together (the global operating point)."""

ALPHA = 0.5
"""Default weight of the FMR term in GARBE and FDR."""


def pair_groups(left: Sequence[str] | np.ndarray, right: Sequence[str] | np.ndarray) -> np.ndarray:
    """Per pair: the shared label, :data:`CROSS` for two different labels, ``UNLABELLED`` if a side has none."""
    a, b = np.asarray(left, dtype=object), np.asarray(right, dtype=object)
    unlabelled = (a == UNLABELLED) | (b == UNLABELLED)
    return np.where(unlabelled, UNLABELLED, np.where(a == b, a, CROSS)).astype(object)


def groups_of(pair_group: np.ndarray) -> list[str]:
    """The demographic groups present (sorted), without the cross-group and unlabelled pseudo-groups."""
    return sorted(set(pair_group.tolist()) - {CROSS, UNLABELLED})


def membership(pair_group: np.ndarray, names: Sequence[str]) -> np.ndarray:
    """(P, len(names)) bool: which pairs each named row counts; :data:`ALL` counts every pair."""
    return np.stack([np.ones(len(pair_group), bool) if g == ALL else pair_group == g for g in names], axis=1)


def group_rates(
    accept: np.ndarray, same: np.ndarray, member: np.ndarray, weights: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(FMR, FNMR) per weight row and group at a fixed accept decision: two (B, k) arrays, NaN where undefined.

    ``member`` is (P, k) from :func:`membership`. FMR of group g: accepted impostors of g over impostors of g
    (within-group impostors for a label); FNMR: rejected genuine pairs of g over genuine pairs of g.
    """
    m = np.asarray(member, dtype=float)
    w = np.atleast_2d(weights).astype(float)
    y = np.asarray(same, dtype=bool)
    with np.errstate(invalid="ignore", divide="ignore"):
        fmr = (w @ (m * (accept & ~y)[:, None])) / (w @ (m * ~y[:, None]))
        fnmr = (w @ (m * (~accept & y)[:, None])) / (w @ (m * y[:, None]))
    return fmr, fnmr


def max_min_ratio(rates: np.ndarray) -> np.ndarray:
    """max / min over the last axis; inf when the smallest is 0 and the largest is not; NaN if all are 0."""
    x = np.asarray(rates, dtype=float)
    hi, lo = x.max(axis=-1), x.min(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(hi == 0, np.nan, hi / lo)


def gini(rates: np.ndarray) -> np.ndarray:
    """Small-sample Gini coefficient over the last axis, ``n/(n-1) * sum|x_i - x_j| / (2 n^2 mean)``; 0 if all 0."""
    x = np.asarray(rates, dtype=float)
    n = x.shape[-1]
    if n < 2:
        raise ValueError("the Gini coefficient of group rates needs at least 2 groups")
    spread = np.abs(x[..., :, None] - x[..., None, :]).sum(axis=(-2, -1))
    mean = x.mean(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(mean == 0, 0.0, n / (n - 1) * spread / (2 * n**2 * mean))


def garbe(fmr: np.ndarray, fnmr: np.ndarray, alpha: float = ALPHA) -> np.ndarray:
    """GARBE (Howard et al. 2022): ``alpha * G(FMR) + (1 - alpha) * G(FNMR)`` over the groups (last axis)."""
    return alpha * gini(fmr) + (1 - alpha) * gini(fnmr)


def fdr(fmr: np.ndarray, fnmr: np.ndarray, alpha: float = ALPHA) -> np.ndarray:
    """FDR (de Freitas Pereira & Marcel 2021): ``1 - (alpha * max|dFMR| + (1 - alpha) * max|dFNMR|)``."""

    def spread(x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=float)
        return x.max(axis=-1) - x.min(axis=-1)  # the largest pairwise |difference|

    return 1 - (alpha * spread(fmr) + (1 - alpha) * spread(fnmr))


DIFFERENTIALS = ("fmr_ratio", "fnmr_ratio", "garbe", "fdr")
"""The summary differentials, in table column order."""


def differentials(fmr: np.ndarray, fnmr: np.ndarray, alpha: float = ALPHA) -> np.ndarray:
    """(..., 4): the :data:`DIFFERENTIALS` of per-group rates (groups on the last axis)."""
    return np.stack([max_min_ratio(fmr), max_min_ratio(fnmr), garbe(fmr, fnmr, alpha), fdr(fmr, fnmr, alpha)], -1)


def _interval(samples: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    """Percentile interval that keeps inf (a ratio with a zero denominator) as inf rather than NaN."""
    big = np.finfo(float).max
    lo, hi = interval(np.where(np.isposinf(samples), big, samples), level)
    return np.where(lo == big, np.inf, lo), np.where(hi == big, np.inf, hi)


@dataclass(frozen=True)
class PairSet:
    """One combination's scored pairs with what the per-group analysis needs of each side."""

    scores: np.ndarray
    same: np.ndarray
    higher_is_more_similar: bool
    left_group: np.ndarray  # label of each pair's left image (``UNLABELLED`` where none)
    right_group: np.ndarray
    left_subject: np.ndarray  # identity of each side (the bootstrap's resampling unit)
    right_subject: np.ndarray


def _counts(accept: np.ndarray, same: np.ndarray, mask: np.ndarray) -> dict[str, int]:
    return {
        "n_genuine": int((mask & same).sum()),
        "n_impostor": int((mask & ~same).sum()),
        "n_false_match": int((mask & ~same & accept).sum()),
        "n_false_nonmatch": int((mask & same & ~accept).sum()),
    }


def _own_threshold(pairs: PairSet, mask: np.ndarray, fmr_target: float) -> dict[str, Any]:
    """The threshold giving this group the target FMR on its own impostors, and its FNMR there."""
    same = pairs.same[mask]
    if same.all() or not same.any():
        return {
            "group_threshold": None,
            "group_threshold_fmr": None,
            "group_threshold_fnmr": None,
            "group_threshold_insufficient": True,
        }
    point = threshold_at_fmr(pairs.scores[mask], same, fmr_target, pairs.higher_is_more_similar)
    return {
        "group_threshold": point.threshold,
        "group_threshold_fmr": point.fmr,
        "group_threshold_fnmr": point.fnmr,
        "group_threshold_insufficient": point.insufficient,
    }


def analyse(
    pairs: PairSet,
    fmr_target: float,
    n_bootstrap: int = 1000,
    seed: int = 0,
    alpha: float = ALPHA,
    level: float = LEVEL,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Per-group rows and one differentials row at the global threshold for ``fmr_target``.

    Group rows (``group``: each label, then :data:`ALL`, :data:`CROSS`, ``UNLABELLED``) hold the counts, FMR and
    FNMR with ``*_ci_low`` / ``*_ci_high`` (NaN without bootstrap), ``n_subjects`` (identities in the group's
    pairs: the bootstrap's resampling units -- with few, the interval means little), ``group_insufficient``
    (fewer than 10 / target impostors of that group: its FMR rests on fewer than 10 expected false matches), and
    for each label its own threshold. ``insufficient`` is the same rule for the global threshold (all impostors).
    """
    point = threshold_at_fmr(pairs.scores, pairs.same, fmr_target, pairs.higher_is_more_similar)
    accept = accepted(pairs.scores, point.threshold, pairs.higher_is_more_similar)
    pair_group = pair_groups(pairs.left_group, pairs.right_group)
    groups = groups_of(pair_group)
    if len(groups) < 2:
        raise ValueError(f"per-group rates need 2+ labelled groups among the pairs, found {groups}")
    rows_of = [*groups, ALL, CROSS]
    member = membership(pair_group, rows_of)
    k = len(groups)

    def statistic(w: np.ndarray) -> np.ndarray:
        fmr, fnmr = group_rates(accept, pairs.same, member, w)
        return np.concatenate([fmr, fnmr, differentials(fmr[:, :k], fnmr[:, :k], alpha)], axis=1)

    estimate = statistic(np.ones((1, len(accept))))[0]
    if n_bootstrap > 0:
        samples = subject_bootstrap(statistic, pairs.left_subject, pairs.right_subject, n_bootstrap, seed)
        lo, hi = _interval(samples, level)
    else:
        lo = hi = np.full(len(estimate), np.nan)
    n_rows = len(rows_of)
    operating: dict[str, Any] = {
        "fmr_target": fmr_target,
        "threshold": point.threshold,
        "fmr_achieved": point.fmr,
        "n_false_match_all": point.n_false_matches,
        "insufficient": point.insufficient,
    }
    rows = []
    for r, (name, mask) in enumerate(zip(rows_of, member.T)):
        counts = _counts(accept, pairs.same, mask)
        subjects = len(set(pairs.left_subject[mask].tolist()) | set(pairs.right_subject[mask].tolist()))
        row = {**operating, "group": name, **counts, "n_subjects": subjects}
        row["group_insufficient"] = counts["n_impostor"] < MIN_IMPOSTORS_PER_ERROR / fmr_target
        for col, offset in (("fmr", 0), ("fnmr", n_rows)):
            row.update({col: estimate[offset + r], f"{col}_ci_low": lo[offset + r], f"{col}_ci_high": hi[offset + r]})
        rows.append({**row, **(_own_threshold(pairs, mask, fmr_target) if r < k else {})})
    unlabelled = pair_group == UNLABELLED
    rows.append({**operating, "group": UNLABELLED, **_counts(accept, pairs.same, unlabelled)})
    summary: dict[str, Any] = {
        **operating,
        "groups": ",".join(groups),
        "alpha": alpha,
        "n_bootstrap": n_bootstrap,
        "seed": seed,
    }
    for d, name in enumerate(DIFFERENTIALS):
        at = 2 * n_rows + d
        summary.update({name: estimate[at], f"{name}_ci_low": lo[at], f"{name}_ci_high": hi[at]})
    return rows, summary


def detection_by_group(
    groups: np.ndarray,
    failed: np.ndarray,
    subjects: np.ndarray,
    n_bootstrap: int = 1000,
    seed: int = 0,
    level: float = LEVEL,
) -> list[dict[str, Any]]:
    """Failure-to-detect rate per image group (and over all images), with subject-bootstrap intervals.

    ``groups``, ``failed`` and ``subjects`` are per image (the images the pairs use). Resampling draws the same
    subjects as :func:`analyse` does for the same seed (each image is a one-subject item).
    """
    labels = [*sorted(set(groups.tolist()) - {UNLABELLED}), ALL, UNLABELLED]
    member = membership(np.asarray(groups, dtype=object), labels)
    fails = member * np.asarray(failed, dtype=bool)[:, None]

    def statistic(w: np.ndarray) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            return (w @ fails) / (w @ member)

    rate = statistic(np.ones((1, len(groups))))[0]
    if n_bootstrap > 0:
        lo, hi = interval(statistic(subject_weights(subjects, subjects, n_bootstrap, seed)), level)
    else:
        lo = hi = np.full(len(labels), np.nan)
    return [
        {
            "group": g,
            "n_images": int(member[:, i].sum()),
            "n_failed_detection": int(fails[:, i].sum()),
            "ftd_rate": rate[i],
            "ftd_ci_low": lo[i],
            "ftd_ci_high": hi[i],
        }
        for i, g in enumerate(labels)
    ]
