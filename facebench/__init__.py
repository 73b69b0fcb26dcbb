"""facebench's Python API: ``facebench.accuracy(...)``, ``similarity``, ``identify``, ``evaluate``, ``run_suite``.

The same code path as the ``bench`` command line; every call writes a run folder and returns a
:class:`~bench.interface.api.Result` (``.table``, ``.tables``, ``.scores``, ``.plots``, ``.run_dir``, ``.manifest``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench import __version__
from bench.errors import BenchError
from bench.interface.api import Result, accuracy, evaluate, identify, load, make_settings, similarity
from bench.run.requests import RequestError

__all__ = [
    "BenchError",
    "RequestError",
    "Result",
    "__version__",
    "accuracy",
    "evaluate",
    "identify",
    "load",
    "run_suite",
    "similarity",
]


def run_suite(
    path: str | Path, output: str | Path | None = None, overwrite: bool = False, **settings: Any
) -> list[Result]:
    """Run a suite file (see :mod:`bench.suite`); one :class:`Result` per run."""
    from bench.run.runs import read_run
    from bench.run.suite import run_suite as run

    outcomes = run(Path(path), make_settings(**settings), Path(output) if output else None, overwrite)
    return [Result(read_run(o.run.path), o.summary) for o in outcomes]
