"""What every evaluation step sees: the request, the run being written, the plugins, and the inputs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from bench.compute.sweep import Combination, Sweep
from bench.data.datasets import Dataset, Pairs
from bench.evaluations import Rows
from bench.metrics import Metric
from bench.plugins import Plugins
from bench.run.config import Settings
from bench.run.requests import SweepRequest
from bench.run.runs import Run


@dataclass
class Input:
    """One dataset the sweep runs on, its pairs if the evaluation uses pairs, and tags added to every row."""

    dataset: Dataset
    pairs: Pairs | None = None
    tags: dict[str, Any] = field(default_factory=dict)


@dataclass
class Context:
    """Shared by the evaluations of one run. What an evaluation keeps between its steps lives on the evaluation
    object itself (each run makes its own with ``EvaluationSpec.factory``)."""

    request: SweepRequest
    settings: Settings
    plugins: Plugins
    run: Run
    sweep: Sweep
    metrics: list[Metric]
    dataset: Dataset  # the dataset as opened (before an evaluation restricts or samples it)
    given_pairs: Pairs | None = None  # the pairs a benchmark file brings with its images (a .bin, CFP...)
    inputs: list[Input] = field(default_factory=list)
    current: Input | None = None  # the input being swept

    @property
    def input(self) -> Input:
        """The input whose combinations are being evaluated."""
        assert self.current is not None, "only during the sweep"
        return self.current


class Evaluation(Protocol):
    """The steps of one evaluation; each gets the shared :class:`~bench.run.context.Context`."""

    def prepare(self, ctx: Context) -> None:
        """Before the sweep: choose pairs / splits, record them in the manifest."""

    def combination(self, ctx: Context, combo: Combination) -> Rows:
        """One available model x detector on the dataset: rows for this evaluation's tables."""
        ...

    def finish(self, ctx: Context) -> None:
        """After the sweep: derived tables and plots from the written tables."""

    def summary(self, ctx: Context) -> str:
        """The printed summary (a table that fits 100 columns)."""
        ...


def comparisons(evaluation: object) -> int:
    """Scores one model x detector x metric of ``evaluation`` computes besides its inputs' pairs (e.g. every probe
    against every gallery image), from its optional ``comparisons()`` after ``prepare``; 0 when it has none."""
    count = getattr(evaluation, "comparisons", None)
    return int(count()) if callable(count) else 0
