"""Verification accuracy of one combination on a pair list: every metric from the cached vectors.

Folds are those of the full pair list (the list's own fold numbers as given, never recut; else 10 stratified with
seed 0 drawn on every listed pair), so every detector is scored on the same folds whatever pairs it could not
score. A fold of one class (or whose other folds lack one) is named in ``folds_left_out`` and left out of the
mean. Two sets of figures: scored pairs only (``acc_kfold_mean``...), and every listed pair with an unscored one
counted as a non-match (``..._fail_as_nonmatch``). Images the pairs use that have no face or no embedding
are counted by cause; a combination that scored no pair says why in its ``status``.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd

from bench.compute.pipeline import NO_FACE_STATUSES
from bench.compute.sweep import Combination
from bench.data.datasets import Pairs
from bench.measure import kfold as protocol
from bench.metrics import Metric

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


def image_failures(combo: Combination, used: np.ndarray) -> Counter[str]:
    """Images of ``used`` without a usable face or an embedding, by cause (detection status, else embed_failed)."""
    embedded = combo.embedded()
    causes: Counter[str] = Counter()
    for i in used:
        status = combo.detections[i].status
        if status != "ok" or not embedded[i]:
            causes[status if status != "ok" else "embed_failed"] += 1
    return causes


def _listed(causes: Counter[str]) -> str:
    return ", ".join(f"{n} {cause}" for cause, n in causes.most_common())


def _rates(combo: Combination, used: np.ndarray) -> dict[str, object]:
    """Failure to detect (over the images the detector ran on: NaN if none), to acquire an embedding (over every
    image used), and the failures by cause."""
    no_face = sum(combo.detections[i].status in NO_FACE_STATUSES for i in used)
    detected = sum(combo.detections[i].status in (*NO_FACE_STATUSES, "ok") for i in used)
    return {
        "failure_to_detect_rate": no_face / detected if detected else float("nan"),
        "failure_to_acquire_rate": float((~combo.embedded()[used]).mean()) if len(used) else float("nan"),
        "image_failures": _listed(image_failures(combo, used)),
    }


def _unscored(combo: Combination, pairs: Pairs, valid: np.ndarray, used: np.ndarray) -> str | None:
    """Why no figure can be computed, or None."""
    if not valid.any():
        failed = image_failures(combo, used)
        missing = int((~combo.embedded()[used]).sum())
        reasons = f" ({_listed(failed)}; reasons in failures.csv)" if failed else ""
        return f"no pair scored: {missing} of {len(used)} images have no embedding{reasons}"
    if not 0 < pairs.same[valid].sum() < valid.sum():  # every pair of one class was dropped
        return "too few scored pairs of each class"
    return None


def evaluate(combo: Combination, pairs: Pairs, metrics: list[Metric]) -> tuple[list[dict[str, object]], pd.DataFrame]:
    """One summary row per metric, and the per-pair scores they were computed from (with both image paths)."""
    valid = scored_pairs(combo, pairs)
    used = np.unique(np.concatenate([pairs.left, pairs.right]))
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
        **_rates(combo, used),
        "folds": "given by pair list"
        if pairs.folds is not None
        else f"10 stratified on all listed pairs, seed {FOLDS_SEED}",
    }
    names = [img.rel for img in combo.dataset.images]
    rows, frames = [], []
    unscored = _unscored(combo, pairs, valid, used)
    for metric in metrics:
        if unscored:
            rows.append({**base, "metric": metric.name, "status": unscored})
            continue
        scores = combo.pair_scores(metric, pairs.left, pairs.right)
        default = combo.model.thresholds.get(metric.name)
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
