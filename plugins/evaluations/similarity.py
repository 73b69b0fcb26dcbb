"""Identity x identity similarity (``bench similarity``): the exact mean score over every image pair of each pair
of identities, at any dataset size (see :mod:`bench.similarity` and :mod:`bench.similarity_report`)."""

from __future__ import annotations

import time
from collections.abc import Callable

from bench.compute.sweep import Combination
from bench.data.datasets import restrict
from bench.evaluations import EvaluationSpec, Option, Rows, Table
from bench.hookspecs import hookimpl
from bench.measure import identity_matrix as similarity
from bench.metrics import Metric
from bench.report import heatmaps as similarity_report
from bench.report import plots as report
from bench.run.context import Context, Input
from bench.run.runner import console_table
from bench.run.sources import pairs_for

SUMMARY = [
    "model",
    "detector",
    "metric",
    "n_identities",
    "n_images",
    "same_identity_mean",
    "cross_identity_mean",
    "matrix_seconds",
]


def totals_of(combo: Combination, metric: Metric) -> similarity.IdentityTotals:
    """The exact identity totals of one combination (blocks scored by its own rule, e.g. every-face minimum)."""
    embedded = combo.embedded()
    identities = [img.identity for img in combo.dataset.images]
    return similarity.identity_totals(lambda a, b: combo.cross_scores(metric, a, b), identities, embedded)


class Similarity:
    """Every identity against every other, over every image of the folder (a folder's own pairs.txt does not
    restrict it: the matrix is exact at any size); ``--pairs`` or a pair-list benchmark file restricts it to the
    images of those pairs."""

    def __init__(self) -> None:
        self.note = ""  # said under the summary
        self.heatmap = similarity_report.HeatmapChoice()

    def prepare(self, ctx: Context) -> None:
        """The images: all of the folder, or those of the pairs given; which identities the heatmaps show."""
        dataset = ctx.dataset
        named_list = bool(ctx.request.dataset and dataset.pairs_file)  # e.g. --dataset lfw-devtest: its pairs' images
        if ctx.request.pairs or ctx.given_pairs or named_list:
            pairs = pairs_for(ctx.settings, ctx.request, dataset, ctx.given_pairs)
            dataset, _ = restrict(dataset, pairs)
            ctx.run.record(images={"source": f"the images of {pairs.source}", "n_images": len(dataset.images)})
        elif dataset.pairs_file is not None:
            self.note = (
                f"note: every image of {dataset.root} is used; its {dataset.pairs_file.name} is not "
                "(pass --pairs to restrict the matrix to a pair list's images)"
            )
        if not ctx.inputs:
            ctx.inputs.append(Input(dataset))
        names = ctx.request.option("identities", "")
        choice = similarity_report.HeatmapChoice(
            tuple(n.strip() for n in names.split(",") if n.strip()), ctx.request.option("top")
        )
        similarity_report.check_identities(choice, ctx.inputs[0].dataset.identities())  # before any work
        self.heatmap = choice

    def combination(self, ctx: Context, combo: Combination) -> Rows:
        """Per metric: the matrix files and heatmap written now, the long rows and a summary row returned."""
        tag = {"dataset": combo.dataset.name, "model": combo.model.name, "detector": combo.detector.name}
        rows, summaries = [], []
        for metric in ctx.metrics:
            start = time.perf_counter()
            totals = totals_of(combo, metric)
            seconds = time.perf_counter() - start
            title = f"{combo.model.name} / {combo.detector.name} on {combo.dataset.name}: mean {metric.name}"
            name = report.slug(*tag.values(), metric.name)
            written, heatmap = similarity_report.files(totals, metric, name, title, self.heatmap)
            for file, data in written.items():
                ctx.run.write_file(file, data)
            ctx.run.plot(heatmap)
            long = similarity_report.long_table(totals, metric)
            rows += long.assign(**tag, metric=metric.name).to_dict("records")
            figures = similarity.summary(totals)
            summaries.append({**tag, "metric": metric.name, **figures, "matrix_seconds": round(seconds, 3)})
        return {"similarity": rows, "similarity_summary": summaries}

    def finish(self, ctx: Context) -> None:
        """Everything is written per combination."""

    def summary(self, ctx: Context) -> str:
        """Same-identity vs cross-identity mean score per combination (over every pair), and where the rest is."""
        table = console_table(ctx.run.table("similarity_summary"), SUMMARY)
        note = [self.note] if self.note else []
        return "\n".join(
            [
                table,
                "means over every image pair (same identity: no self-pairs); per identity and the "
                "most-confused identity pairs: similarity_*_identities.csv, similarity_*_confused.csv",
                *note,
            ]
        )


@hookimpl
def register_evaluations(register: Callable[[EvaluationSpec], None]) -> None:
    """``bench similarity``."""
    register(
        EvaluationSpec(
            "similarity",
            Similarity,
            command="similarity",
            needs=frozenset({"identities"}),
            default_metric="cosine",
            help="Identity x identity mean-score matrices per model/detector/metric, exact over every image pair at "
            "any size: per-identity and most-confused tables, the matrix (CSV while small, else .npy), a heatmap.",
            options=(
                Option(
                    "identities",
                    str,
                    None,
                    "Heatmap of these identities (comma list, in this order) [default: all "
                    "while at most 40, else the 30 most-confused].",
                ),
                Option("top", int, None, "Heatmap of the K most-confused identities (at most 100)."),
            ),
            tables=(
                Table(
                    "similarity_summary",
                    "per combination: identities, images, and the mean score over every "
                    "same-identity and every cross-identity image pair",
                    ("dataset", "model", "detector", "metric"),
                    ("same_identity_mean", "cross_identity_mean"),
                ),
                Table(
                    "similarity",
                    "mean score over the image pairs of each identity pair: every cell while at most 100 "
                    "identities, else the same-identity cells and the most-confused cross cells",
                    ("dataset", "model", "detector", "metric", "identity_a", "identity_b"),
                    ("mean_distance",),
                ),
            ),
        )
    )
