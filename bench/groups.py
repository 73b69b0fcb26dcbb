"""Verification accuracy per demographic group (RFW's races, LFW's gender lists...) and the spread between groups."""

from __future__ import annotations

import numpy as np

from bench import protocol


def group_accuracy(
    scores: np.ndarray, same: np.ndarray, folds: np.ndarray, groups: np.ndarray, higher_is_more_similar: bool
) -> tuple[list[dict[str, object]], dict[str, float]]:
    """Per group: 10-fold accuracy on that group's pairs alone (its own thresholds, as RFW reports); and the
    spread: ``max_gap`` (best minus worst accuracy), ``std`` (population std over groups) and ``ser`` (skewed
    error ratio: worst error / best error, inf when the best group makes no error)."""
    rows = []
    for group in sorted(set(groups.tolist())):
        mask = groups == group
        fold = protocol.kfold_accuracy(scores[mask], same[mask], folds[mask], higher_is_more_similar)
        rows.append(
            {
                "group": group,
                "acc_kfold_mean": fold.accuracy_mean,
                "acc_kfold_std": fold.accuracy_std,
                "n_pairs": int(mask.sum()),
            }
        )
    accuracy = np.array([r["acc_kfold_mean"] for r in rows], dtype=float)
    errors = 1 - accuracy
    ser = float(errors.max() / errors.min()) if errors.min() > 0 else float("inf")
    spread = {"max_gap": float(accuracy.max() - accuracy.min()), "std": float(accuracy.std()), "ser": ser}
    return rows, spread
