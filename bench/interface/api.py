"""The Python API: the same code path as the CLI, returning results a notebook can use.

>>> import facebench
>>> r = facebench.accuracy("datasets/sample", model="Dlib", backend="opencv", metric="cosine")
>>> r.table[["model", "detector", "metric", "acc_kfold_mean"]]
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from bench.run.config import Settings
from bench.run.requests import FIELDS, SweepRequest, check
from bench.run.runs import SavedRun, read_run

SETTINGS_FIELDS = {"plugins_dirs", "weights_dir", "cache_dir", "datasets_file", "quiet"}
ALIASES = {"model": "models", "backend": "backends", "detector": "backends", "metric": "metrics", "data": "input_dir"}


@dataclass
class Result:
    """A run folder, read back: ``table`` is the evaluation's main table, ``tables`` all of them."""

    saved: SavedRun
    summary: str = ""

    @property
    def run_dir(self) -> Path:
        """Where the run was written."""
        return self.saved.path

    @property
    def manifest(self) -> dict[str, Any]:
        """The run record."""
        return self.saved.manifest

    @property
    def tables(self) -> dict[str, pd.DataFrame]:
        """Every table the run wrote, by name."""
        return self.saved.tables

    @property
    def table(self) -> pd.DataFrame:
        """The first table the run's evaluation declares (accuracy, identify, similarity, ...)."""
        name = next(iter(self.saved.manifest.get("tables", {})), None)
        return self.saved.tables.get(name, pd.DataFrame()) if name else pd.DataFrame()

    @property
    def scores(self) -> pd.DataFrame:
        """Per-pair scores (verification runs)."""
        return self.saved.tables.get("scores", pd.DataFrame())

    @property
    def plots(self) -> list[Path]:
        """The PNG files the run wrote."""
        return self.saved.plots

    def __repr__(self) -> str:
        return f"Result({self.run_dir}, status={self.manifest.get('status')!r})"


def _split(kwargs: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """Keyword arguments -> (request fields, settings fields, evaluation options)."""
    request, settings, options = {}, {}, {}
    for key, value in kwargs.items():
        field = ALIASES.get(key, key)
        if field in SETTINGS_FIELDS:
            settings[field] = value
        elif field in FIELDS:
            request[field] = value
        else:
            options[key] = value
    return request, settings, options


def make_settings(**given: Any) -> Settings:
    """Settings with defaults for what is not given (paths as str or Path)."""
    settings = Settings(
        quiet=bool(given.pop("quiet", True)), plugins_dirs=tuple(map(Path, given.pop("plugins_dirs", ())))
    )
    for key, value in given.items():
        if value is not None:
            setattr(settings, key, Path(value))
    return settings


def evaluate(evaluation: str, data: str | Path | None = None, **kwargs: Any) -> Result:
    """Run any registered evaluation (``accuracy``, ``identify``, ``similarity``, ``operating``, a plugin's ...).

    ``data`` is a folder ``<identity>/<image>`` or a benchmark file; or pass ``dataset="lfw"``. Other keywords are
    the CLI's options with underscores (``model``, ``backend`` or ``detector``, ``metric``, ``n``, ``seed``, ``face``,
    ``run_id``, ``overwrite``, ``weights_dir``, ``cache_dir``, ...) plus the evaluation's own options. A misspelt
    keyword or a value of the wrong type is a :class:`~bench.run.requests.RequestError` before any work.
    """
    from bench.run.runner import execute

    given = {"data": data, **kwargs} if data is not None else kwargs
    request_fields, settings_fields, options = _split(given)
    shown = {ALIASES[key]: key for key in given if key in ALIASES}
    fields = {"evaluation": evaluation, "options": options, **request_fields}
    request = SweepRequest.model_validate(fields, context={"shown": shown})
    settings = make_settings(**settings_fields)
    request = check(request, settings, keywords=[*FIELDS, *ALIASES, *SETTINGS_FIELDS])
    outcome = execute(request, settings)
    return Result(read_run(outcome.run.path), outcome.summary)


def accuracy(data: str | Path | None = None, **kwargs: Any) -> Result:
    """Verification accuracy (``bench accuracy``); see :func:`evaluate` for the keywords."""
    return evaluate("accuracy", data, **kwargs)


def similarity(data: str | Path | None = None, **kwargs: Any) -> Result:
    """Identity x identity similarity (``bench similarity``); see :func:`evaluate`."""
    return evaluate("similarity", data, **kwargs)


def identify(data: str | Path | None = None, **kwargs: Any) -> Result:
    """1:N identification (``bench identify``); see :func:`evaluate`."""
    return evaluate("identify", data, **kwargs)


def load(run_dir: str | Path) -> Result:
    """A saved run folder as a :class:`Result`."""
    return Result(read_run(Path(run_dir)))


def write_variants(request: SweepRequest, settings: Settings) -> str:
    """Write robustness variants of the pair list's images (no evaluation); returns what was written."""
    from bench.data.datasets import restrict
    from bench.run import variants
    from bench.run.sources import open_source, pairs_for

    dataset, given = open_source(settings, request)
    source, pairs = restrict(dataset, pairs_for(settings, request, dataset, given))
    chosen = variants.select(request.option("only"))
    faces = variants.occluder_faces(settings, source, request.option("occlude_with"))
    variants.generate(source, pairs, Path(request.option("to")), chosen, request.seed, faces)
    return f"wrote {len(chosen)} variants x {len(source.images)} images to {request.option('to')}"


def write_report(runs: list[Path], output: Path | None, title: str, overwrite: bool) -> Path:
    """The HTML report of saved runs; an existing file is replaced only with ``overwrite``."""
    from bench.errors import BenchError
    from bench.report.webpage import render
    from bench.run.runs import write_file

    saved = [read_run(Path(p)) for p in runs]
    if output is None:
        output = (
            saved[0].path / "report.html"
            if len(saved) == 1
            else saved[0].path.parent / f"report-{'-'.join(r.name for r in saved)[:120]}.html"
        )
    if output.exists() and not overwrite:
        raise BenchError(f"{output} already exists; pass --overwrite or --o ANOTHER.html")
    write_file(output, render(saved, title))
    return output
