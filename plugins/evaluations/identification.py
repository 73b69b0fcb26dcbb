"""Identification (``bench identify``): closed-set rank-1/5 and CMC, open-set TPIR at FPIR."""

from __future__ import annotations

from collections.abc import Callable

from bench.compute.sweep import Combination
from bench.data.datasets import sample_identities
from bench.evaluations import EvaluationSpec, Option, Rows, Table
from bench.hookspecs import hookimpl
from bench.measure import gallery as identify
from bench.report import plots as report
from bench.run.context import Context, Input
from bench.run.runner import console_table

NOTE = (
    "rank1/rank5: closed set, mated probes only (rank5 empty with fewer than 5 enrolled); tpir_at_fpir_F: open "
    "set, rank-1 hit within the threshold where at most F of distractor probes raise an alarm (empty: too few "
    "distractors)"
)


class Identification:
    """A seeded gallery/probe split of the (sampled) identities, scored per metric."""

    def prepare(self, ctx: Context) -> None:
        """Sample identities and images, split gallery/probes, record the split."""
        request = ctx.request
        dataset = sample_identities(ctx.dataset, request.n, request.option("max_per_identity"), request.seed)
        per = request.option("gallery_per_identity", 1)
        split = identify.split([img.identity for img in dataset.images], per, request.seed)
        ctx.run.record(
            split={
                **split.describe(),
                "gallery_per_identity": per,
                "seed": request.seed,
                "gallery": [dataset.images[i].rel for i in split.gallery],
            }
        )
        self.split = split
        if not ctx.inputs:
            ctx.inputs.append(Input(dataset))

    def comparisons(self) -> int:
        """Every probe against every gallery image, per combination and metric (for ``--plan``)."""
        return len(self.split.probes) * len(self.split.gallery)

    def combination(self, ctx: Context, combo: Combination) -> Rows:
        """Every metric's identification figures and CMC."""
        rows, curves = identify.evaluate(combo, self.split, ctx.metrics)
        return {"identify": rows, "cmc": curves.to_dict("records")}

    def finish(self, ctx: Context) -> None:
        """CMC plots."""
        ctx.run.plots(report.cmc_plots(ctx.run.table("cmc")))

    def summary(self, ctx: Context) -> str:
        """The identification table."""
        table = ctx.run.table("identify")
        columns = [
            "model",
            "detector",
            "metric",
            "rank1",
            "rank5",
            "n_enrolled",
            "n_mated_probes",
            "n_distractor_probes",
            "tpir_at_fpir_0.1",
            "tpir_at_fpir_0.01",
        ]
        return "\n".join([console_table(table, columns), NOTE])


@hookimpl
def register_evaluations(register: Callable[[EvaluationSpec], None]) -> None:
    """``bench identify``."""
    register(
        EvaluationSpec(
            "identify",
            Identification,
            aliases=("identification",),
            command="identify",
            help="1:N identification: rank-1/rank-5 and CMC (closed set), TPIR at FPIR (open set), per "
            "model/detector/metric. --n samples identities.",
            needs=frozenset({"identities"}),
            tables=(
                Table(
                    "identify",
                    "one row per dataset x model x detector x metric; " + NOTE,
                    figures=("rank1", "rank5", "tpir_at_fpir_0.1", "tpir_at_fpir_0.01"),
                ),
                Table("cmc", "identification rate at each rank", ("dataset", "model", "detector", "metric", "rank")),
            ),
            options=(
                Option(
                    "gallery_per_identity",
                    int,
                    1,
                    "Gallery images per enrolled identity; identities with no more images than this are "
                    "distractors (not enrolled, their images are probes that should be rejected).",
                ),
                Option("max_per_identity", int, None, "Use at most this many images per identity (seeded)."),
            ),
        )
    )
