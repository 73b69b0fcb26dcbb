"""A new metric in one file: the dot product, where higher means more similar."""

import numpy as np

from bench.hookspecs import hookimpl
from bench.metrics import Metric


@hookimpl
def register_metrics(register):
    register(
        Metric(
            "dot",
            lambda a, b: np.sum(a * b, axis=-1),
            lambda a, b: a @ b.T,
            higher_is_more_similar=True,
            range=(-np.inf, np.inf),
            description="a . b",
        )
    )
