"""What the template and 1:N protocols report for one model x detector: IJB-B/C TAR@FAR, TinyFace ranks, RFW
per-group accuracy. Each takes a sweep :class:`~bench.compute.sweep.Combination` and returns one row per metric."""

from __future__ import annotations

from typing import Any

import numpy as np

from bench.compute.sweep import Combination
from bench.data.datasets import DatasetError, Pairs, restrict
from bench.data.templates import FARS, pool, verify
from bench.evaluations import EvaluationSpec, Option, Rows, Table
from bench.measure.groups import group_accuracy
from bench.measure.ranks import probe_ranks, rank_rates
from bench.metrics import Metric
from bench.run.context import Context, Input
from bench.run.runner import console_table
from bench.run.sources import pairs_for
from facebench_plugins.protocols.protocols_ijb import TemplatePairs, read_template_pairs
from facebench_plugins.protocols.protocols_pairs import pair_groups_of
from facebench_plugins.protocols.protocols_tinyface import unmated_probes

Row = dict[str, Any]


def _base(combo: Combination, metric: Metric) -> Row:
    return {
        "dataset": combo.dataset.name,
        "model": combo.model.name,
        "detector": combo.detector.name,
        "metric": metric.name,
    }


def ijb_rows(
    combo: Combination, pairs: TemplatePairs, metrics: list[Metric], faceness_weights: bool = False
) -> list[Row]:
    """TAR at FAR 1e-6 .. 1e-1 over the template pairs (None where too few impostor pairs)."""
    attrs = [img.attrs for img in combo.dataset.images]
    templates = np.array([int(a["template"]) for a in attrs])
    medias = np.array([int(a["media"]) for a in attrs])
    weights = np.array([float(a["faceness"]) for a in attrs]) if faceness_weights else None
    pooled = pool(combo.vectors, templates, medias, weights)
    extra = {"pooling": "media mean, template sum" + (", faceness-weighted" if faceness_weights else "")}
    return [
        {**_base(combo, m), **extra, **verify(pooled, pairs.left, pairs.right, pairs.same, m, FARS)} for m in metrics
    ]


def tinyface_rows(combo: Combination, metrics: list[Metric]) -> list[Row]:
    """Rank-1/5/20 of the mated probes against gallery match + distractors (image level); probes whose identity
    has no gallery-match image are counted apart (``n_probes_no_gallery``), never as misses."""
    roles = np.array([img.attrs["role"] for img in combo.dataset.images])
    ids = np.array([img.identity for img in combo.dataset.images])
    gallery = roles != "probe"
    probe = (roles == "probe") & np.isin(ids, ids[roles == "gallery"])
    unembedded = np.isnan(combo.vectors).any(axis=1)
    rows = []
    for metric in metrics:
        ranks = probe_ranks(combo.vectors[probe], ids[probe], combo.vectors[gallery], ids[gallery], metric)
        rows.append(
            {
                **_base(combo, metric),
                **rank_rates(ranks, (1, 5, 20)),
                "n_probes": int(probe.sum()),
                "n_probes_no_gallery": int(((roles == "probe") & ~probe).sum()),
                "n_probes_no_embedding": int((probe & unembedded).sum()),
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


IJB_NOTE = (
    "tar_at_far_F: true accept rate over template pairs at the most permissive threshold whose false accept "
    "rate is <= F (empty: fewer than 1/F impostor pairs); templates: media mean, then template sum"
)
TINYFACE_NOTE = (
    "rankK: share of mated probes whose identity is among the K best gallery images (match + distractors; a probe "
    "without embedding is a miss); n_probes_no_gallery: probes whose identity has no gallery-match image, left out"
)
RFW_NOTE = (
    "acc_kfold_mean: 10-fold accuracy on the group's own pairs; spread_max_gap: best minus worst group, "
    "spread_std: std over groups, spread_ser: worst error / best error"
)


def _require(ctx: Context, attribute: str, what: str) -> None:
    """The dataset must come from the matching reader (its images carry ``attribute``)."""
    if not ctx.dataset.images or attribute not in ctx.dataset.images[0].attrs:
        raise DatasetError(
            f"{ctx.dataset.root}: not {what} (its images have no '{attribute}' attribute); "
            "`bench protocols` lists the readers"
        )


class IJBVerification:
    """IJB-B/C 1:1: every loose crop is embedded once; templates are pooled and paired per combination."""

    def prepare(self, ctx: Context) -> None:
        """Check the layout, record the template pairs."""
        _require(ctx, "template", "an IJB meta folder")
        pairs = self.template_pairs = read_template_pairs(ctx.dataset.root)
        ctx.run.record(
            template_pairs={
                "n_pairs": len(pairs.same),
                "n_genuine": int(pairs.same.sum()),
                "faceness_weights": bool(ctx.request.option("faceness_weights")),
            }
        )
        ctx.inputs.append(Input(ctx.dataset))

    def combination(self, ctx: Context, combo: Combination) -> Rows:
        """TAR@FAR per metric."""
        weights = bool(ctx.request.option("faceness_weights"))
        return {"ijb": ijb_rows(combo, self.template_pairs, ctx.metrics, weights)}

    def finish(self, ctx: Context) -> None:
        """Nothing derived."""

    def summary(self, ctx: Context) -> str:
        """The TAR@FAR table."""
        columns = [
            "model",
            "detector",
            "metric",
            *[f"tar_at_far_{far:.0e}" for far in FARS],
            "n_pairs_scored",
            "n_impostor",
        ]
        return "\n".join([console_table(ctx.run.table("ijb"), columns), IJB_NOTE])


class TinyFaceIdentification:
    """TinyFace 1:N: probes against the gallery match and distractor images."""

    def prepare(self, ctx: Context) -> None:
        """Check the layout, record the split sizes."""
        _require(ctx, "role", "a TinyFace folder")
        roles = [img.attrs["role"] for img in ctx.dataset.images]
        split = {role: roles.count(role) for role in ("probe", "gallery", "distractor")}
        ctx.run.record(
            split=split, dataset_notes=list(ctx.dataset.notes), probes_no_gallery=unmated_probes(ctx.dataset.images)
        )
        ctx.inputs.append(Input(ctx.dataset))

    def combination(self, ctx: Context, combo: Combination) -> Rows:
        """Rank-1/5/20 per metric."""
        return {"tinyface": tinyface_rows(combo, ctx.metrics)}

    def finish(self, ctx: Context) -> None:
        """Nothing derived."""

    def summary(self, ctx: Context) -> str:
        """The rank table."""
        columns = [
            "model",
            "detector",
            "metric",
            "rank1",
            "rank5",
            "rank20",
            "n_probes",
            "n_probes_no_gallery",
            "n_probes_no_embedding",
            "n_gallery",
            "n_distractors",
        ]
        return "\n".join([console_table(ctx.run.table("tinyface"), columns), *ctx.dataset.notes, TINYFACE_NOTE])


class GroupVerification:
    """Per-group verification (RFW's races): each group's pairs scored with their own folds and thresholds."""

    def prepare(self, ctx: Context) -> None:
        """The pairs, restricted to the images they use."""
        _require(ctx, "group", "a dataset with a 'group' per image (RFW)")
        dataset, pairs = restrict(ctx.dataset, pairs_for(ctx.settings, ctx.request, ctx.dataset, ctx.given_pairs))
        ctx.run.record(pairs={"source": pairs.source, "n_pairs": len(pairs), "n_same": int(pairs.same.sum())})
        ctx.inputs.append(Input(dataset, pairs))

    def combination(self, ctx: Context, combo: Combination) -> Rows:
        """Accuracy per group and the spread, per metric."""
        assert ctx.input.pairs is not None
        return {"groups": group_rows(combo, ctx.input.pairs, ctx.metrics)}

    def finish(self, ctx: Context) -> None:
        """Nothing derived."""

    def summary(self, ctx: Context) -> str:
        """The per-group table."""
        columns = [
            "model",
            "detector",
            "metric",
            "group",
            "acc_kfold_mean",
            "acc_kfold_std",
            "n_pairs",
            "spread_max_gap",
            "spread_std",
            "spread_ser",
        ]
        return "\n".join([console_table(ctx.run.table("groups"), columns), RFW_NOTE])


EVALUATIONS = (
    EvaluationSpec(
        "ijb",
        IJBVerification,
        command="ijb",
        needs=frozenset({"templates"}),
        help="IJB-B/C 1:1 verification on templates: TAR at FAR 1e-6..1e-1 (insightface's pooling; use --backend "
        "given for the set's own landmarks).",
        tables=(
            Table(
                "ijb",
                "one row per dataset x model x detector x metric; " + IJB_NOTE,
                figures=tuple(f"tar_at_far_{far:.0e}" for far in FARS),
            ),
        ),
        options=(Option("faceness_weights", bool, False, "Weight each crop by its faceness score when pooling."),),
        default_metric="cosine",
    ),
    EvaluationSpec(
        "tinyface",
        TinyFaceIdentification,
        command="tinyface",
        help="TinyFace 1:N identification: rank-1/5/20 of the probes against gallery match + distractors.",
        needs=frozenset({"gallery"}),
        tables=(
            Table(
                "tinyface",
                "one row per dataset x model x detector x metric; " + TINYFACE_NOTE,
                figures=("rank1", "rank5", "rank20"),
            ),
        ),
        default_metric="cosine",
    ),
    EvaluationSpec(
        "rfw",
        GroupVerification,
        aliases=("groups",),
        command="rfw",
        help="Per-group verification (RFW races): 10-fold accuracy per group and the spread between groups.",
        needs=frozenset({"pairs", "attributes"}),
        tables=(
            Table(
                "groups",
                "one row per dataset x model x detector x metric x group; " + RFW_NOTE,
                ("dataset", "model", "detector", "metric", "group"),
                ("acc_kfold_mean", "spread_max_gap", "spread_ser"),
            ),
        ),
        default_metric="cosine",
    ),
)
