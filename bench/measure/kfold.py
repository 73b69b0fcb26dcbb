"""Verification protocol: accuracy, k-fold accuracy, ROC, AUC, EER and TAR@FAR.

Every function takes ``scores`` with a ``higher_is_more_similar`` flag: ``False``
for distances (a pair is predicted "same" when ``score <= threshold``), ``True``
for similarities (``score >= threshold``). Internally scores become similarities
``s = score`` or ``s = -score`` so one code path serves both; thresholds are
always reported back in the original score units.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

EXTREME_MARGIN = 1.0
"""How far below the lowest and above the highest score the extreme candidate thresholds lie."""


ONE_CLASS = "one class"
"""Why a fold is left out of the mean: its pairs are all same or all different."""
UNTRAINED = "no threshold: the other folds lack a class"
"""Why a fold is left out of the mean: no threshold can be chosen on the other folds."""


@dataclass(frozen=True)
class FoldResult:
    """K-fold verification accuracy: per fold in fold-id order its threshold (original units) and accuracy (NaN
    both where the other folds lack a class); mean and std over the folds not ``left_out`` (fold id -> why), NaN
    when every fold is."""

    accuracy_mean: float
    accuracy_std: float
    thresholds: list[float]
    fold_accuracies: list[float]
    left_out: dict[int, str]

    def describe_left_out(self) -> str:
        """e.g. ``3 (one class); 7 (one class)``, empty when every fold is averaged."""
        return "; ".join(f"{k} ({why})" for k, why in self.left_out.items())


def _similarities(scores: ArrayLike, higher_is_more_similar: bool) -> np.ndarray:
    """Validated 1-D float scores, sign-flipped into similarities."""
    s = np.asarray(scores, dtype=float)
    if s.ndim != 1:
        raise ValueError(f"scores must be 1-D, got shape {s.shape}")
    if not np.all(np.isfinite(s)):
        raise ValueError("scores contain NaN or infinite values")
    return s if higher_is_more_similar else -s


def _labels(same: ArrayLike, n: int) -> np.ndarray:
    """Validated 1-D boolean labels of length ``n``."""
    y = np.asarray(same)
    if y.ndim != 1:
        raise ValueError(f"same must be 1-D, got shape {y.shape}")
    if len(y) != n:
        raise ValueError(f"scores and same differ in length: {n} != {len(y)}")
    if not np.isin(y, (0, 1)).all():
        raise ValueError("same must hold only booleans or 0/1")
    return y.astype(bool)


def _prepare(
    scores: ArrayLike, same: ArrayLike, higher_is_more_similar: bool, both_classes: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Similarities and labels, checked; ``both_classes`` demands same and different pairs."""
    s = _similarities(scores, higher_is_more_similar)
    y = _labels(same, len(s))
    if len(s) == 0:
        raise ValueError("no pairs given")
    if both_classes and not y.any():
        raise ValueError("no same (genuine) pairs given")
    if both_classes and y.all():
        raise ValueError("no different (impostor) pairs given")
    return s, y


def _original(threshold: float, higher_is_more_similar: bool) -> float:
    """A similarity-space threshold in the original score units (negation is its own inverse)."""
    return float(threshold if higher_is_more_similar else -threshold)


def accuracy_at(scores: ArrayLike, same: ArrayLike, threshold: float, higher_is_more_similar: bool) -> float:
    """Fraction of pairs classified correctly at ``threshold`` (original units).

    Unlike the other functions, it accepts pairs of a single class (a k-fold test fold may be).
    """
    s, y = _prepare(scores, same, higher_is_more_similar, both_classes=False)
    t = _original(threshold, higher_is_more_similar)
    return float(np.mean((s >= t) == y))


def best_threshold(scores: ArrayLike, same: ArrayLike, higher_is_more_similar: bool) -> tuple[float, float]:
    """(threshold, accuracy) maximizing accuracy on these very pairs (an optimistic figure).

    Accuracy is a step function of the threshold; where several thresholds reach the maximum the threshold is the
    middle of the optimal plateau: of the runs of consecutive optimal steps (a run spans tied scores whose flips
    cancel), the middle run ((number of runs - 1) // 2, counted from the most permissive), and the midpoint of its
    two ends. An end is a score value, or ``2 * EXTREME_MARGIN`` beyond the lowest/highest score where the run is
    open; a single optimal step between two adjacent scores gives their midpoint.
    """
    s, y = _prepare(scores, same, higher_is_more_similar)
    order = np.argsort(s, kind="stable")
    s, y = s[order], y[order]
    distinct, starts = np.unique(s, return_index=True)
    # Step j predicts "different" for the j lowest distinct values: split at index bounds[j]; it covers the
    # thresholds between edges[j] and edges[j + 1].
    bounds = np.append(starts, len(s))
    diff_below = np.concatenate(([0], np.cumsum(~y)))[bounds]
    same_above = y.sum() - np.concatenate(([0], np.cumsum(y)))[bounds]
    accuracies = (diff_below + same_above) / len(s)
    edges = np.concatenate(([distinct[0] - 2 * EXTREME_MARGIN], distinct, [distinct[-1] + 2 * EXTREME_MARGIN]))
    best = np.flatnonzero(accuracies == accuracies.max())
    runs = np.split(best, np.flatnonzero(np.diff(best) > 1) + 1)
    run = runs[(len(runs) - 1) // 2]
    threshold = (edges[run[0]] + edges[run[-1] + 1]) / 2
    return _original(threshold, higher_is_more_similar), float(accuracies[run[0]])


def kfold_accuracy(scores: ArrayLike, same: ArrayLike, folds: ArrayLike, higher_is_more_similar: bool) -> FoldResult:
    """Per given fold: best threshold on the other folds, accuracy on this one (see :func:`over_folds`)."""
    s, y = _prepare(scores, same, higher_is_more_similar)
    folds = np.asarray(folds)
    if folds.shape != s.shape:
        raise ValueError(f"folds must have shape {s.shape}, got {folds.shape}")
    return over_folds(
        folds,
        y,
        np.ones(len(y), bool),
        lambda train: best_threshold(s[train], y[train], True)[0],
        lambda test, threshold: accuracy_at(s[test], y[test], threshold, True),
        higher_is_more_similar,
    )


def over_folds(
    folds: np.ndarray,
    y: np.ndarray,
    usable: np.ndarray,
    fit: Callable[[np.ndarray], float],
    score: Callable[[np.ndarray, float], float],
    higher_is_more_similar: bool,
) -> FoldResult:
    """Per given fold (in id order): ``fit`` a similarity threshold on the ``usable`` pairs of the other folds,
    ``score`` this fold's pairs at it; mean and std (ddof=0) over the folds :func:`fold_problem` passes, the rest
    reported in ``left_out``, not averaged."""
    fold_ids = np.unique(folds)
    thresholds, accuracies, left_out = [], [], {}
    for k in fold_ids:
        test, train = folds == k, (folds != k) & usable
        why = fold_problem(y[test], y[train])
        threshold = np.nan if why == UNTRAINED else fit(train)
        thresholds.append(_original(threshold, higher_is_more_similar))
        accuracies.append(np.nan if why == UNTRAINED else score(test, threshold))
        if why:
            left_out[k.item()] = why
    kept = [a for k, a in zip(fold_ids, accuracies) if k.item() not in left_out]
    mean, std = (float(np.mean(kept)), float(np.std(kept))) if kept else (np.nan, np.nan)
    return FoldResult(mean, std, thresholds, accuracies, left_out)


def fold_problem(test: np.ndarray, train: np.ndarray) -> str | None:
    """Why a fold (its test labels and the other folds' training labels) is left out of the k-fold mean, or None."""
    if train.all() or not train.any():
        return UNTRAINED
    if test.all() or not test.any():
        return ONE_CLASS
    return None


def with_failures(
    scores: ArrayLike,
    same: ArrayLike,
    folds: ArrayLike,
    higher_is_more_similar: bool,
    default_threshold: float | None = None,
) -> dict[str, float | str | None]:
    """Accuracy figures over every listed pair, a pair without a score (NaN: an image had no embedding) counting
    as a non-match at every threshold (failure to enrol as rejection, ISO/IEC 19795-1): it is right when the
    pair is different and wrong when it is the same person. Thresholds are chosen on the scored pairs only (the
    unscored ones add the same count at every threshold), fold by fold on the given ``folds`` of the full list.
    Keys end in ``_fail_as_nonmatch``; ``folds_left_out_...`` names the folds left out of the mean.
    """
    raw = np.asarray(scores, dtype=float)
    y = _labels(same, len(raw))
    folds = np.asarray(folds)
    scored = np.isfinite(raw)
    sim = np.where(scored, raw if higher_is_more_similar else -raw, -np.inf)  # unscored: never accepted

    def accuracy(mask: np.ndarray, threshold: float) -> float:  # threshold in similarity units
        return float(np.mean((sim[mask] >= threshold) == y[mask]))

    def fit(mask: np.ndarray) -> float:
        return best_threshold(sim[mask], y[mask], True)[0]

    kfold = over_folds(folds, y, scored, fit, accuracy, higher_is_more_similar)
    everything = np.ones(len(raw), dtype=bool)
    return {
        "acc_kfold_mean_fail_as_nonmatch": kfold.accuracy_mean,
        "acc_kfold_std_fail_as_nonmatch": kfold.accuracy_std,
        "folds_left_out_fail_as_nonmatch": kfold.describe_left_out(),
        "acc_best_same_pairs_fail_as_nonmatch": accuracy(everything, fit(scored)),
        "acc_at_default_fail_as_nonmatch": None
        if default_threshold is None
        else accuracy(everything, _original(default_threshold, higher_is_more_similar)),
    }


def make_folds(n_pairs: int, k: int = 10, seed: int = 0, same: ArrayLike | None = None) -> np.ndarray:
    """Fold id (0..k-1) per pair, deterministic for ``seed``; stratified by ``same`` when given.

    Fold sizes differ by at most one, and so do each class's counts across folds when stratified.
    """
    if not 2 <= k <= n_pairs:
        raise ValueError(f"need 2 <= k <= n_pairs, got k={k}, n_pairs={n_pairs}")
    rng = np.random.default_rng(seed)
    y = np.zeros(n_pairs, bool) if same is None else _labels(same, n_pairs)
    # Shuffle within each class, then deal fold ids round-robin, continuing across classes.
    dealing_order = np.concatenate([rng.permutation(np.flatnonzero(y == c)) for c in (True, False)])
    folds = np.empty(n_pairs, dtype=int)
    folds[dealing_order] = np.arange(n_pairs) % k
    return folds


def roc(scores: ArrayLike, same: ArrayLike, higher_is_more_similar: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(fpr, tpr, thresholds) at every distinct score, as sklearn's ``roc_curve`` with
    ``drop_intermediate=False`` on the similarities; the first threshold is +inf for
    similarities and -inf for distances (nothing accepted)."""
    s, y = _prepare(scores, same, higher_is_more_similar)
    order = np.argsort(-s, kind="stable")
    s, y = s[order], y[order]
    last_of_group = np.append(np.flatnonzero(np.diff(s)), len(s) - 1)
    tps = np.concatenate(([0], np.cumsum(y)[last_of_group]))
    fps = np.concatenate(([0], last_of_group + 1 - tps[1:]))
    thresholds = np.concatenate(([np.inf], s[last_of_group]))
    if not higher_is_more_similar:
        thresholds = -thresholds
    return fps / fps[-1], tps / tps[-1], thresholds


@dataclass(frozen=True)
class Roc:
    """One ROC (:func:`roc`), computed once, and the figures read off it."""

    fpr: np.ndarray
    tpr: np.ndarray
    thresholds: np.ndarray
    n_diff: int

    @classmethod
    def of(cls, scores: ArrayLike, same: ArrayLike, higher_is_more_similar: bool) -> Roc:
        """The ROC of ``scores`` (validated once)."""
        _, y = _prepare(scores, same, higher_is_more_similar)
        return cls(*roc(scores, y, higher_is_more_similar), int(np.sum(~y)))

    def auc(self) -> float:
        """Trapezoid-rule area under the ROC; ties count half, as in sklearn's ``roc_auc_score``."""
        return float(np.sum(np.diff(self.fpr) * (self.tpr[1:] + self.tpr[:-1]) / 2))

    def eer(self) -> tuple[float, float]:
        """(equal error rate, threshold), linearly interpolated where FPR crosses FNR on the ROC.

        The ROC's infinite first threshold is replaced by the first finite one for interpolation.
        """
        fpr, tpr, thresholds = self.fpr, self.tpr, self.thresholds
        gap = fpr - (1 - tpr)  # rises from -1 to 1
        i = int(np.argmax(gap >= 0))  # first ROC point on or past the crossing; i >= 1
        w = -gap[i - 1] / (gap[i] - gap[i - 1])
        rate = fpr[i - 1] + w * (fpr[i] - fpr[i - 1])
        previous = thresholds[max(i - 1, 1)]
        return float(rate), float(previous + w * (thresholds[i] - previous))

    def tar_at(self, far: float) -> float | None:
        """True accept rate at the most permissive threshold whose false accept rate is <= ``far``.

        None when there are fewer than ``1 / far`` different pairs: too few to measure that FAR.
        """
        if not 0 < far <= 1:
            raise ValueError(f"far must be in (0, 1], got {far}")
        if self.n_diff < 1 / far:
            return None
        return float(self.tpr[np.searchsorted(self.fpr, far, side="right") - 1])


def roc_auc(scores: ArrayLike, same: ArrayLike, higher_is_more_similar: bool) -> float:
    """:meth:`Roc.auc` of these scores."""
    return Roc.of(scores, same, higher_is_more_similar).auc()


def eer(scores: ArrayLike, same: ArrayLike, higher_is_more_similar: bool) -> tuple[float, float]:
    """:meth:`Roc.eer` of these scores."""
    return Roc.of(scores, same, higher_is_more_similar).eer()


def tar_at_far(scores: ArrayLike, same: ArrayLike, far: float, higher_is_more_similar: bool) -> float | None:
    """:meth:`Roc.tar_at` of these scores."""
    return Roc.of(scores, same, higher_is_more_similar).tar_at(far)


def summarize(
    scores: ArrayLike,
    same: ArrayLike,
    higher_is_more_similar: bool,
    folds: ArrayLike | None = None,
    default_threshold: float | None = None,
    fars: Sequence[float] = (1e-1, 1e-2, 1e-3),
) -> dict[str, float | str | None]:
    """Every protocol figure in one flat dict; folds default to ``make_folds(n, min(10, n), 0, same)``;
    ``folds_left_out`` names the folds the k-fold mean leaves out (:func:`fold_problem`)."""
    _, y = _prepare(scores, same, higher_is_more_similar)
    if folds is None:
        folds = make_folds(len(y), min(10, len(y)), 0, y)
    kfold = kfold_accuracy(scores, y, folds, higher_is_more_similar)
    threshold, best_accuracy = best_threshold(scores, y, higher_is_more_similar)
    curve = Roc.of(scores, y, higher_is_more_similar)  # one ROC for the AUC, the EER and every TAR
    error_rate, error_threshold = curve.eer()
    summary: dict[str, float | str | None] = {
        "acc_kfold_mean": kfold.accuracy_mean,
        "acc_kfold_std": kfold.accuracy_std,
        "n_folds": len(kfold.fold_accuracies),
        "folds_left_out": kfold.describe_left_out(),
        "acc_best_same_pairs": best_accuracy,
        "best_threshold": threshold,
        "acc_at_default": None
        if default_threshold is None
        else accuracy_at(scores, y, default_threshold, higher_is_more_similar),
        "auc": curve.auc(),
        "eer": error_rate,
        "eer_threshold": error_threshold,
    }
    for far in fars:
        summary[f"tar_at_far_{far:.0e}"] = curve.tar_at(far)
    summary.update(n_pairs=len(y), n_same=int(y.sum()), n_diff=int((~y).sum()))
    return summary
