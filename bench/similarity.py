"""Identity-by-identity similarity: mean distance over same-identity and cross-identity image pairs."""

from __future__ import annotations

import random

import numpy as np
import pandas as pd

from bench.metrics import Metric
from bench.sweep import Combination


def _cell_pairs(a: list[int], b: list[int], same: bool, cap: int | None, rng: random.Random) -> list[tuple[int, int]]:
    if same:
        pairs = [(x, y) for k, x in enumerate(a) for y in a[k + 1 :]]  # no self-pairs, each pair once
    else:
        pairs = [(x, y) for x in a for y in b]
    if cap is not None and len(pairs) > cap:
        pairs = rng.sample(pairs, cap)
    return pairs


def identity_matrix(combo: Combination, metric: Metric, cap: int | None, seed: int) -> pd.DataFrame:
    """Long rows (identity_a, identity_b, mean_distance, n_pairs) over every identity pair, both orders."""
    ok = combo.embedded()
    groups: dict[str, list[int]] = {}
    for i, img in enumerate(combo.dataset.images):
        if ok[i]:
            groups.setdefault(img.identity, []).append(i)
    names = sorted(groups)
    rng = random.Random(seed)
    rows = []
    for ia, a in enumerate(names):
        for b in names[ia:]:
            pairs = _cell_pairs(groups[a], groups[b], a == b, cap, rng)
            mean = np.nan
            if pairs:
                left, right = np.array(pairs).T
                mean = float(combo.pair_scores(metric, left, right).mean())
            for x, y in {(a, b), (b, a)}:
                rows.append({"identity_a": x, "identity_b": y, "mean_distance": mean, "n_pairs": len(pairs)})
    frame = pd.DataFrame(rows)
    return frame.assign(
        dataset=combo.dataset.name, model=combo.model.name, detector=combo.detector.name, metric=metric.name
    )


def to_square(long: pd.DataFrame) -> pd.DataFrame:
    """The identity x identity matrix of one combination and metric."""
    return long.pivot(index="identity_a", columns="identity_b", values="mean_distance")
