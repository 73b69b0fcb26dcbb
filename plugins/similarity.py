"""Identity x identity similarity (``bench similarity``): mean score over each pair of identities."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from bench import report
from bench.context import Context, Input
from bench.datasets import restrict
from bench.evaluations import EvaluationSpec, Rows, Table
from bench.hookspecs import hookimpl
from bench.runner import console_table
from bench.similarity import identity_matrix
from bench.sources import pairs_for
from bench.sweep import Combination


class Similarity:
    """Every identity against every other; a dataset with a pair list is restricted to that list's images."""

    def prepare(self, ctx: Context) -> None:
        """The images: all of the folder, or those of its pair list."""
        dataset = ctx.dataset
        if ctx.request.pairs or dataset.pairs_file or ctx.state.get("given_pairs"):
            pairs = pairs_for(ctx.settings, ctx.request, dataset, ctx.state.get("given_pairs"))
            dataset, _ = restrict(dataset, pairs)
            ctx.run.record(images={"source": f"the images of {pairs.source}", "n_images": len(dataset.images)})
        if not ctx.inputs:
            ctx.inputs.append(Input(dataset))

    def combination(self, ctx: Context, combo: Combination) -> Rows:
        """The long identity x identity table for every metric (``--n`` caps pairs per cell)."""
        frames = [identity_matrix(combo, m, ctx.request.n, ctx.request.seed) for m in ctx.metrics]
        return {"similarity": pd.concat(frames, ignore_index=True).to_dict("records")}

    def finish(self, ctx: Context) -> None:
        """A square CSV and a heatmap per combination and metric."""
        for path in report.similarity_outputs(ctx.run.table("similarity"), ctx.metrics, ctx.run.path):
            if path.suffix == ".png":
                ctx.run.plot(path)

    def summary(self, ctx: Context) -> str:
        """Mean same-identity vs cross-identity score per combination."""
        long = ctx.run.table("similarity")
        same = long.identity_a == long.identity_b
        keys = ["model", "detector", "metric"]
        summary = pd.DataFrame({"same_identity_mean": long[same].groupby(keys).mean_distance.mean(),
                                "cross_identity_mean": long[~same].groupby(keys).mean_distance.mean()}).reset_index()
        return console_table(summary, list(summary.columns))


@hookimpl
def register_evaluations(register: Callable[[EvaluationSpec], None]) -> None:
    """``bench similarity``."""
    register(EvaluationSpec(
        "similarity", Similarity, command="similarity", default_metric="cosine",
        help="Identity x identity mean-score matrices (CSV + heatmap) per model/detector/metric. --n caps the "
             "pairs per cell.",
        tables=(Table("similarity", "mean score over the image pairs of each identity pair (both orders)",
                      ("dataset", "model", "detector", "metric", "identity_a", "identity_b"), ("mean_distance",)),),
    ))
