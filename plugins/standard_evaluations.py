"""What the template and 1:N protocols report for one model x detector: IJB-B/C TAR@FAR, TinyFace ranks, RFW
per-group accuracy. Each takes a sweep :class:`~bench.sweep.Combination` and returns one row per metric."""

from __future__ import annotations

from typing import Any

import numpy as np

from bench.datasets import Pairs
from bench.groups import group_accuracy
from bench.metrics import Metric
from bench.ranks import probe_ranks, rank_rates
from bench.sweep import Combination
from bench.templates import FARS, pool, verify
from plugins.protocols_ijb import read_template_pairs
from plugins.protocols_pairs import pair_groups_of

Row = dict[str, Any]


def _base(combo: Combination, metric: Metric) -> Row:
    return {
        "dataset": combo.dataset.name,
        "model": combo.model.name,
        "detector": combo.detector.name,
        "metric": metric.name,
    }


def ijb_rows(combo: Combination, metrics: list[Metric], faceness_weights: bool = False) -> list[Row]:
    """TAR at FAR 1e-6 .. 1e-1 over the template pairs (None where too few impostor pairs)."""
    attrs = [img.attrs for img in combo.dataset.images]
    templates = np.array([int(a["template"]) for a in attrs])
    medias = np.array([int(a["media"]) for a in attrs])
    weights = np.array([float(a["faceness"]) for a in attrs]) if faceness_weights else None
    pooled = pool(combo.vectors, templates, medias, weights)
    pairs = read_template_pairs(combo.dataset.root)
    extra = {"pooling": "media mean, template sum" + (", faceness-weighted" if faceness_weights else "")}
    return [
        {**_base(combo, m), **extra, **verify(pooled, pairs.left, pairs.right, pairs.same, m, FARS)} for m in metrics
    ]


def tinyface_rows(combo: Combination, metrics: list[Metric]) -> list[Row]:
    """Rank-1/5/20 of the probes against gallery match + distractors (image level)."""
    roles = np.array([img.attrs["role"] for img in combo.dataset.images])
    ids = np.array([img.identity for img in combo.dataset.images])
    probe, gallery = roles == "probe", roles != "probe"
    rows = []
    for metric in metrics:
        ranks = probe_ranks(combo.vectors[probe], ids[probe], combo.vectors[gallery], ids[gallery], metric)
        rows.append(
            {
                **_base(combo, metric),
                **rank_rates(ranks, (1, 5, 20)),
                "n_probes": int(probe.sum()),
                "n_gallery": int((roles == "gallery").sum()),
                "n_distractors": int((roles == "distractor").sum()),
                "n_probes_missed": int(np.isinf(ranks).sum()),
            }
        )
    return rows


def group_rows(combo: Combination, pairs: Pairs, metrics: list[Metric], attribute: str = "group") -> list[Row]:
    """Per group 10-fold accuracy (its pairs' own folds) and the spread, on pairs whose two images are embedded."""
    ok = ~np.isnan(combo.vectors).any(axis=1)
    valid = ok[pairs.left] & ok[pairs.right]
    groups = pair_groups_of(combo.dataset, pairs, attribute)[valid]
    folds = pairs.folds[valid] if pairs.folds is not None else np.arange(int(valid.sum())) % 10
    rows = []
    for metric in metrics:
        scores = metric.pairs(combo.vectors, pairs.left[valid], pairs.right[valid])
        per_group, spread = group_accuracy(scores, pairs.same[valid], folds, groups, metric.higher_is_more_similar)
        rows += [{**_base(combo, metric), **row, **{f"spread_{k}": v for k, v in spread.items()}} for row in per_group]
    return rows
