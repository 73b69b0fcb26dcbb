"""Verification (``bench accuracy``): k-fold accuracy, ROC/AUC, EER, TAR@FAR per model x detector x metric."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from bench.compute.sweep import Combination, NothingScored
from bench.data.datasets import Pairs, restrict
from bench.evaluations import EvaluationSpec, Option, Rows, Table
from bench.hookspecs import hookimpl
from bench.measure.accuracy import evaluate
from bench.report import plots as report
from bench.run.context import Context, Input
from bench.run.runner import console_table
from bench.run.sources import named, pairs_for

KEYS = ("dataset", "subset", "model", "detector", "metric")
FIGURES = ("acc_kfold_mean", "acc_kfold_std", "acc_best_same_pairs", "auc", "eer", "n_pairs_scored")
SUMMARY = [
    "subset",
    "model",
    "detector",
    "metric",
    "acc_kfold_mean",
    "acc_kfold_std",
    "n_folds",
    "folds_left_out",
    "acc_best_same_pairs",
    "auc",
    "eer",
    "failure_to_detect_rate",
    "failure_to_acquire_rate",
    "n_pairs_scored",
    "status",
]
NOTE = (
    "acc_kfold_mean ± acc_kfold_std: threshold chosen on k-1 folds, scored on the k-th (k = n_folds, the pair "
    "list's own folds where it gives them); folds_left_out: folds of one class (or whose other folds lack one), "
    "reported but not averaged; acc_best_same_pairs: best threshold on the same pairs (optimistic)"
)


def describe_pairs(pairs: Pairs, n_images: int) -> dict[str, Any]:
    """What the manifest says of a pair list."""
    return {
        "source": pairs.source,
        "n_pairs": len(pairs),
        "n_same": int(pairs.same.sum()),
        "n_images_used": n_images,
        "folds": "given by the pair list" if pairs.folds is not None else f"{min(10, len(pairs))} stratified (seed 0)",
        "notes": list(pairs.notes),
    }


class Verification:
    """Scores the pairs of every input; rows tagged ``subset`` (all, baseline, drop lowest P% quality)."""

    def __init__(self) -> None:
        self.quality: dict[str, pd.DataFrame] = {}  # detector -> per-image quality (--drop-lowest-quality)

    def prepare(self, ctx: Context) -> None:
        """The pairs (and a clean baseline dataset's, if the dataset names one)."""
        if ctx.inputs:
            return  # another evaluation chose the inputs
        dataset, pairs = restrict(ctx.dataset, pairs_for(ctx.settings, ctx.request, ctx.dataset, ctx.given_pairs))
        ctx.run.record(pairs=describe_pairs(pairs, len(dataset.images)))
        for note in pairs.notes:
            sys.stderr.write(f"note: {note}\n")
        ctx.inputs.append(Input(dataset, pairs, {"subset": "all"}))
        if dataset.baseline:
            base = named(ctx.settings, dataset.baseline).open()
            base, base_pairs = restrict(base, pairs_for(ctx.settings, ctx.request, base))
            ctx.inputs.append(Input(base, base_pairs, {"subset": "baseline"}))

    def combination(self, ctx: Context, combo: Combination) -> Rows:
        """Every metric on this input's pairs; with --drop-lowest-quality, again without the worst images."""
        pairs = ctx.input.pairs
        assert pairs is not None
        rows, scores = evaluate(combo, pairs, ctx.metrics)
        percent = ctx.request.option("drop_lowest_quality")
        if percent and ctx.input.tags.get("subset") == "all":
            rows += _quality_filtered(ctx, combo, pairs, percent, self.quality)
        return {"accuracy": rows, "scores": scores.to_dict("records")}

    def finish(self, ctx: Context) -> None:
        """Baseline drops, pivots, ROC and distance plots, the quality table."""
        table = _against_baseline(ctx.run.table("accuracy"))
        ctx.run.rows["accuracy"] = table.to_dict("records")
        ctx.run.write_table("accuracy", table)
        if self.quality:
            ctx.run.write_table("quality", pd.concat(self.quality.values(), ignore_index=True))
        scores = ctx.run.table("scores")
        for name, pivot in report.accuracy_pivots(table).items():
            ctx.run.write_file(name, pivot)
        if scores.empty:
            _check_scored(table)
            return
        ctx.run.plots([*report.roc_plots(scores, ctx.metrics), *report.distance_plots(scores, ctx.metrics)])

    def summary(self, ctx: Context) -> str:
        """The accuracy table and what its columns mean."""
        return "\n".join([console_table(ctx.run.table("accuracy"), SUMMARY), NOTE])


def _check_scored(table: pd.DataFrame) -> None:
    """A run in which no combination scored a pair is not complete."""
    if not table.empty and not (table.n_pairs_scored > 0).any():
        raise NothingScored(f"no combination scored a pair: {table.status.iloc[0]}")


def _quality_filtered(
    ctx: Context, combo: Combination, pairs: Pairs, percent: float, measured: dict[str, pd.DataFrame]
) -> list[dict[str, Any]]:
    """Every metric again without the pairs of the ``percent``% lowest-quality images (quality is per detector,
    kept in ``measured`` across combinations)."""
    from bench.compute import quality

    name = combo.detector.name
    if name not in measured:
        frame = quality.measure(combo.dataset, combo.detections)
        measured[name] = frame.assign(detector=name, dropped=quality.lowest(frame.quality, percent, frame.image))
    dropped = measured[name].dropped.to_numpy()
    rows, _ = evaluate(combo, quality.without(pairs, dropped), ctx.metrics)
    return [
        {**row, "subset": f"drop lowest {percent:g}% quality", "n_images_dropped_quality": int(dropped.sum())}
        for row in rows
    ]


def _against_baseline(table: pd.DataFrame) -> pd.DataFrame:
    """Rows of the swept dataset gain ``acc_drop_vs_baseline`` where a clean baseline dataset was scored too."""
    if "subset" not in table or not (table.subset == "baseline").any():
        return table
    keys = ["model", "detector", "metric"]
    clean = table[table.subset == "baseline"].set_index(keys).acc_kfold_mean.rename("baseline_acc")
    merged = table.join(clean, on=keys)
    own = merged.subset != "baseline"
    baseline_name = table[table.subset == "baseline"].dataset.iloc[0]
    merged["baseline_dataset"] = np.where(own, baseline_name, None)
    merged["acc_drop_vs_baseline"] = np.where(own, merged.baseline_acc - merged.acc_kfold_mean, np.nan)
    return merged.drop(columns="baseline_acc")


@hookimpl
def register_evaluations(register: Callable[[EvaluationSpec], None]) -> None:
    """``bench accuracy``."""
    register(
        EvaluationSpec(
            "accuracy",
            Verification,
            aliases=("verification",),
            command="accuracy",
            help="Verification accuracy (10-fold, mean ± std), AUC, EER, TAR@FAR per model/detector/metric.",
            needs=frozenset({"pairs"}),
            tables=(
                Table("accuracy", "one row per dataset x subset x model x detector x metric; " + NOTE, KEYS, FIGURES),
                Table("scores", "every scored pair's score", ("dataset", "model", "detector", "metric", "pair")),
            ),
            options=(
                Option(
                    "drop_lowest_quality",
                    float,
                    None,
                    "Also report every metric without the pairs of the lowest-quality P% of images (quality: "
                    "detector confidence, sharpness and size of the face; quality.csv; equal qualities, e.g. images "
                    "without a face, dropped in name order).",
                ),
            ),
        )
    )
