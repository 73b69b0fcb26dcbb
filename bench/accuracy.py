"""Verification accuracy of one combination on a pair list: every metric from the cached vectors."""

from __future__ import annotations

import numpy as np
import pandas as pd

from bench import protocol
from bench.datasets import Pairs
from bench.metrics import Metric
from bench.sweep import Combination


def scored_pairs(combo: Combination, pairs: Pairs) -> np.ndarray:
    """Mask of the pairs whose two images both have an embedding."""
    ok = ~np.isnan(combo.vectors).any(axis=1)
    return ok[pairs.left] & ok[pairs.right]


def evaluate(combo: Combination, pairs: Pairs, metrics: list[Metric]) -> tuple[list[dict[str, object]], pd.DataFrame]:
    """One summary row per metric, and the per-pair distances they were computed from."""
    valid = scored_pairs(combo, pairs)
    used = np.unique(np.concatenate([pairs.left, pairs.right]))
    no_face = sum(combo.detections[i].status == "no_face" for i in used)
    base = {
        "dataset": combo.dataset.name,
        "model": combo.model.name,
        "detector": combo.detector.name,
        "n_pairs_listed": len(pairs),
        "n_pairs_scored": int(valid.sum()),
        "n_pairs_dropped": int((~valid).sum()),
        "failure_to_detect_rate": no_face / len(used),
        "folds": "given by pair list" if pairs.folds is not None else f"{min(10, int(valid.sum()))} stratified, seed 0",
    }
    rows, frames = [], []
    folds = pairs.folds[valid] if pairs.folds is not None else None
    scorable = 0 < pairs.same[valid].sum() < valid.sum()
    for metric in metrics:
        dist = metric.pairs(combo.vectors, pairs.left[valid], pairs.right[valid])
        default = combo.model.thresholds.get(metric.name)
        if not scorable:  # every pair of one class was dropped: no figure is defined
            rows.append({**base, "metric": metric.name, "status": "too few scored pairs of each class"})
            continue
        summary = protocol.summarize(
            dist, pairs.same[valid], metric.higher_is_more_similar, folds=folds, default_threshold=default
        )
        summary.pop("n_pairs")  # the same as n_pairs_scored
        rows.append({**base, "metric": metric.name, "status": "ok", "default_threshold": default,
                     **summary})
        frames.append(
            pd.DataFrame(
                {
                    "dataset": combo.dataset.name, "model": combo.model.name, "detector": combo.detector.name,
                    "metric": metric.name, "pair": np.flatnonzero(valid), "same": pairs.same[valid], "score": dist,
                }
            )
        )
    return rows, pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
