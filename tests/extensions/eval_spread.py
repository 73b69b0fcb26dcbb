"""A new evaluation in one file: the spread of each identity's embeddings (``bench spread``)."""

import numpy as np

from bench.evaluations import EvaluationSpec, Table
from bench.hookspecs import hookimpl
from bench.run.context import Input


class Spread:
    def prepare(self, ctx):
        if not ctx.inputs:
            ctx.inputs.append(Input(ctx.dataset))

    def combination(self, ctx, combo):
        rows = []
        for name in combo.dataset.identities():
            idx = [i for i, img in enumerate(combo.dataset.images) if img.identity == name]
            vectors = combo.vectors[idx]
            rows.append(
                {
                    "dataset": combo.dataset.name,
                    "model": combo.model.name,
                    "detector": combo.detector.name,
                    "identity": name,
                    "spread": float(np.linalg.norm(vectors - vectors.mean(0), axis=1).mean()),
                }
            )
        return {"spread": rows}

    def finish(self, ctx):
        pass

    def summary(self, ctx):
        return ctx.run.table("spread").to_string(index=False)


@hookimpl
def register_evaluations(register):
    register(
        EvaluationSpec(
            "spread",
            Spread,
            command="spread",
            help="Mean distance of each identity's images to their centre.",
            tables=(Table("spread", "per identity", ("dataset", "model", "detector", "identity"), ("spread",)),),
        )
    )
