"""Verification accuracy per demographic group (RFW's races, LFW's gender lists...) and the spread between groups."""

from __future__ import annotations

import numpy as np

from bench.measure import kfold as protocol


def group_accuracy(
    scores: np.ndarray, same: np.ndarray, folds: np.ndarray, groups: np.ndarray, higher_is_more_similar: bool
) -> tuple[list[dict[str, object]], dict[str, float]]:
    """Per group: 10-fold accuracy on that group's pairs alone (its own thresholds, as RFW reports); and the
    spread: ``max_gap`` (best minus worst accuracy), ``std`` (population std over groups) and ``ser`` (skewed
    error ratio: worst error / best error, inf when the best group makes no error). A group without both same and
    different pairs, or without a fold the k-fold mean keeps (``folds_left_out``: those it leaves out), has no
    accuracy and is left out of the spread."""
    rows: list[dict[str, object]] = []
    for group in sorted(set(groups.tolist())):
        mask = groups == group
        row: dict[str, object] = {"group": group, "n_pairs": int(mask.sum()), "n_same": int(same[mask].sum())}
        row.update(acc_kfold_mean=None, acc_kfold_std=None, status="too few pairs of each class")
        if 0 < same[mask].sum() < mask.sum():
            fold = protocol.kfold_accuracy(scores[mask], same[mask], folds[mask], higher_is_more_similar)
            row.update(folds_left_out=fold.describe_left_out())
            if not np.isnan(fold.accuracy_mean):
                row.update(acc_kfold_mean=fold.accuracy_mean, acc_kfold_std=fold.accuracy_std, status="ok")
        rows.append(row)
    accuracy = np.array([r["acc_kfold_mean"] for r in rows if r["status"] == "ok"], dtype=float)
    if len(accuracy) == 0:
        return rows, {"max_gap": float("nan"), "std": float("nan"), "ser": float("nan")}
    errors = 1 - accuracy
    ser = float(errors.max() / errors.min()) if errors.min() > 0 else float("inf")
    spread = {"max_gap": float(accuracy.max() - accuracy.min()), "std": float(accuracy.std()), "ser": ser}
    return rows, spread
