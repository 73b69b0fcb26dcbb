"""Verification accuracy of one combination on a pair list: every metric from the cached vectors.

Folds are those of the full pair list (the list's own fold numbers as given, never recut; else 10 stratified with
seed 0 drawn on every listed pair), so every detector is scored on the same folds whatever pairs it could not
score. A fold of one class (or whose other folds lack one) is named in ``folds_left_out`` and left out of the
mean. Two sets of figures: scored pairs only (``acc_kfold_mean``...), and every listed pair with an unscored one
counted as a non-match (``..._fail_as_nonmatch``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from bench import protocol
from bench.datasets import Pairs
from bench.metrics import Metric
from bench.pipeline import NO_FACE_STATUSES
from bench.sweep import Combination

FOLDS_SEED = 0


def scored_pairs(combo: Combination, pairs: Pairs) -> np.ndarray:
    """Mask of the pairs whose two images both have an embedding."""
    ok = combo.embedded()
    return ok[pairs.left] & ok[pairs.right]


def folds_of(pairs: Pairs) -> np.ndarray:
    """The pair list's folds, else 10 (fewer for a short list, one for fewer than 2 pairs) stratified folds drawn
    on every listed pair."""
    if pairs.folds is not None:
        return pairs.folds
    if len(pairs) < 2:
        return np.zeros(len(pairs), dtype=int)
    return protocol.make_folds(len(pairs), min(10, len(pairs)), FOLDS_SEED, pairs.same)


def evaluate(combo: Combination, pairs: Pairs, metrics: list[Metric]) -> tuple[list[dict[str, object]], pd.DataFrame]:
    """One summary row per metric, and the per-pair scores they were computed from (with both image paths)."""
    valid = scored_pairs(combo, pairs)
    used = np.unique(np.concatenate([pairs.left, pairs.right]))
    no_face = sum(combo.detections[i].status in NO_FACE_STATUSES for i in used)
    folds = folds_of(pairs)
    base = {
        "dataset": combo.dataset.name,
        "model": combo.model.name,
        "detector": combo.detector.name,
        "face": combo.selector.name if combo.selector else "",
        "n_pairs_listed": len(pairs),
        "n_pairs_scored": int(valid.sum()),
        "n_pairs_dropped": int((~valid).sum()),
        "n_pairs_dropped_same": int((~valid & pairs.same).sum()),
        "n_pairs_dropped_diff": int((~valid & ~pairs.same).sum()),
        "failure_to_detect_rate": no_face / len(used) if len(used) else None,
        "folds": "given by pair list"
        if pairs.folds is not None
        else f"10 stratified on all listed pairs, seed {FOLDS_SEED}",
    }
    names = [img.rel for img in combo.dataset.images]
    rows, frames = [], []
    scorable = 0 < pairs.same[valid].sum() < valid.sum()
    for metric in metrics:
        scores = combo.pair_scores(metric, pairs.left, pairs.right)
        default = combo.model.thresholds.get(metric.name)
        if not scorable:  # every pair of one class was dropped: no figure is defined
            rows.append({**base, "metric": metric.name, "status": "too few scored pairs of each class"})
            continue
        summary = protocol.summarize(
            scores[valid],
            pairs.same[valid],
            metric.higher_is_more_similar,
            folds=folds[valid],
            default_threshold=default,
        )
        summary.pop("n_pairs")  # the same as n_pairs_scored
        failures = protocol.with_failures(scores, pairs.same, folds, metric.higher_is_more_similar, default)
        rows.append(
            {**base, "metric": metric.name, "status": "ok", "default_threshold": default, **summary, **failures}
        )
        frames.append(
            pd.DataFrame(
                {
                    "dataset": combo.dataset.name,
                    "model": combo.model.name,
                    "detector": combo.detector.name,
                    "face": base["face"],
                    "metric": metric.name,
                    "pair": np.flatnonzero(valid),
                    "image_a": [names[i] for i in pairs.left[valid]],
                    "image_b": [names[i] for i in pairs.right[valid]],
                    "same": pairs.same[valid],
                    "score": scores[valid],
                }
            )
        )
    return rows, pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
