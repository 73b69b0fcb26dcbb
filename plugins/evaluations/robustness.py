"""Robustness (``bench variants --evaluate``): accuracy on rotated, blurred, noisy, occluded... copies of a pair list's
images, each against the clean images on the same pairs."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from bench.compute.sweep import Combination
from bench.data.datasets import restrict, scan
from bench.evaluations import EvaluationSpec, Option, Rows, Table
from bench.hookspecs import hookimpl
from bench.measure.accuracy import evaluate
from bench.protocols import read_pairs
from bench.report import plots as report
from bench.run import variants
from bench.run.context import Context, Input
from bench.run.runner import console_table
from bench.run.sources import pairs_for

SUMMARY = [
    "variant",
    "model",
    "detector",
    "metric",
    "acc_kfold_mean",
    "acc_kfold_mean_drop",
    "auc",
    "failure_to_detect_rate",
]


class Robustness:
    """Writes the variants, then scores every variant's copy of the pairs like verification does."""

    def prepare(self, ctx: Context) -> None:
        """Generate the variants (skipped where variants.json says they are done); one input per variant."""
        request = ctx.request
        source, pairs = restrict(ctx.dataset, pairs_for(ctx.settings, request, ctx.dataset))
        chosen = variants.select(request.option("only"))
        to = Path(request.option("to"))
        faces = variants.occluder_faces(ctx.settings, source, request.option("occlude_with"))
        ctx.run.record(
            variants=variants.generate(source, pairs, to, chosen, request.seed, faces),
            pairs={"source": pairs.source, "n_pairs": len(pairs), "n_same": int(pairs.same.sum())},
        )
        for variant in chosen:
            root = to / variant.name
            dataset = scan(root, pairs_file=root / "pairs.csv")
            mapped = read_pairs(ctx.plugins.protocols, dataset, root / "pairs.csv")
            tags = {"variant": variant.name, "family": variant.family, "level": variant.level}
            ctx.inputs.append(Input(dataset, mapped, tags))

    def combination(self, ctx: Context, combo: Combination) -> Rows:
        """Verification rows for this variant."""
        assert ctx.input.pairs is not None
        return {"accuracy": evaluate(combo, ctx.input.pairs, ctx.metrics)[0]}

    def finish(self, ctx: Context) -> None:
        """Each variant beside clean; the rotation curve and the perturbation bars."""
        table = variants.relative_to_clean(ctx.run.table("accuracy"))
        ctx.run.write_table("robustness", table)
        ctx.run.plots([*report.rotation_curves(table), *report.perturbation_bars(table)])

    def summary(self, ctx: Context) -> str:
        """Accuracy per variant and its drop from clean."""
        table = variants.relative_to_clean(ctx.run.table("accuracy"))
        return "\n".join(
            [console_table(table, SUMMARY), "acc_kfold_mean_drop: clean accuracy minus this variant's (same pairs)"]
        )


@hookimpl
def register_evaluations(register: Callable[[EvaluationSpec], None]) -> None:
    """The robustness evaluation (run by ``bench variants --evaluate``)."""
    keys = ("variant", "model", "detector", "metric")
    register(
        EvaluationSpec(
            "variants",
            Robustness,
            aliases=("robustness",),
            default_metric="cosine",
            help="Accuracy on robustness variants of a pair list's images, relative to clean.",
            needs=frozenset({"pairs"}),
            tables=(
                Table("accuracy", "verification rows per variant", ("dataset", *keys)),
                Table(
                    "robustness",
                    "each variant beside clean on the same pairs",
                    keys,
                    ("acc_kfold_mean", "acc_kfold_mean_drop", "auc", "auc_drop"),
                ),
            ),
            options=(
                Option("to", str, None, "Where the variants are written."),
                Option("only", str, None, "Variants by name or family."),
                Option("occlude_with", str, None, "Detector that places occlusions."),
            ),
        )
    )
