"""The one run lifecycle: check, open the run, prepare, sweep, write after each combination, finish, close.

Every evaluation command -- built-in or a plugin's -- goes through :func:`execute`, so the manifest, the
failure tables, the honest status and the exit code are the same everywhere.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TypeVar

import pandas as pd

from bench import plugins
from bench.compute import executors, runtime
from bench.compute.pipeline import Pipeline, plugin_key
from bench.compute.store import Store
from bench.compute.sweep import Sweep
from bench.compute.weights_admin import fix_commands
from bench.data.datasets import NEED_WORDS, Carries, Dataset
from bench.errors import BenchError
from bench.evaluations import EvaluationSpec
from bench.registry import DetectorSpec, RecognizerSpec, Registry, with_detector_options
from bench.run.config import Settings
from bench.run.context import Context, Evaluation
from bench.run.requests import SweepRequest
from bench.run.runs import Run, TableInfo
from bench.run.sources import open_source

Spec = RecognizerSpec | DetectorSpec
S = TypeVar("S", RecognizerSpec, DetectorSpec)


class NothingRan(BenchError):
    """No requested combination could run; the message lists why."""


class Unavailable(BenchError):
    """Named models or detectors cannot run here; the message lists every missing file and its fix."""


class RunFailed(BenchError):
    """An unexpected error stopped the run; its traceback is in the run folder's error.log."""


class Mismatch(BenchError):
    """The dataset does not carry what a requested evaluation needs."""


class IncompleteSweep(BenchError):
    """Some requested combinations could not run (the others' results are written)."""


@dataclass
class Outcome:
    """What a finished run gives back: the run and its printed summary."""

    run: Run
    summary: str


def _chosen(registry: Registry[S], names: str) -> tuple[list[S], bool]:
    """The specs named, and whether the user asked for ``all`` (then unavailable ones are expected)."""
    return registry.select(names), names.strip().lower() == "all"


def check_available(specs: Iterable[Spec], settings: Settings) -> list[str]:
    """One line per named spec that cannot run here, with the commands that fix it."""
    lines = []
    for spec in specs:
        reason = spec.unavailable_reason(settings.weights_dir)
        if reason is not None:
            fixes = fix_commands(spec, settings.weights_dir)
            lines.append(f"{spec.name}: {reason}" + (f"\n    fix: {' ; '.join(fixes)}" if fixes else ""))
    return lines


def _evaluations(settings: Settings, request: SweepRequest) -> list[EvaluationSpec]:
    registry = settings.plugins().evaluations
    specs = [registry.get(request.evaluation), *(registry.get(n) for n in request.extra_evaluations)]
    return list({s.name: s for s in specs}.values())


def check_needs(dataset: Dataset, specs: list[EvaluationSpec], known: Iterable[EvaluationSpec]) -> None:
    """Refuse, before any work, an evaluation whose needs the dataset does not carry, naming those that can run."""
    for spec in specs:
        lacking = dataset.lacks(spec.needs)
        if not lacking:
            continue
        source = dataset.pairs_file.name if dataset.pairs_file is not None else dataset.name
        fits = sorted({s.command for s in known if s.command and not dataset.lacks(s.needs)}, key=_lead_first)
        hint = (NEED_FIXES.get(lacking[0]) if len(lacking) == 1 else None) or (
            f"use {' or '.join(f'bench {c}' for c in fits[:3])}" if fits else "no evaluation here can use it"
        )
        raise Mismatch(
            f"bench {spec.command or spec.name}: {source} carries {dataset.describe_carries()} "
            f"but no {' and no '.join(NEED_WORDS[n] for n in lacking)}; {hint}"
        )


NEED_FIXES = {
    "attributes": "declare one under 'attributes:' in datasets.yaml, or pass --attributes estimated "
    "(docs: bench fairness --help)"
}


def _lead_first(command: str) -> tuple[bool, str]:
    return command != "accuracy", command


def _sweep(settings: Settings, request: SweepRequest) -> Sweep:
    registry = settings.plugins()
    models, all_models = _chosen(registry.recognizers, request.models)
    models = [m.with_flip() for m in models] if request.flip else models
    detectors, all_detectors = _chosen(registry.detectors, request.backends)
    detectors = with_detector_options(detectors, request.detector_options)
    named: list[Spec] = [*([] if all_models else models), *([] if all_detectors else detectors)]
    missing = check_available(named, settings)
    if missing and not request.allow_partial:
        raise Unavailable(
            "cannot run what was asked (pass --allow-partial to run the rest):\n  " + "\n  ".join(missing)
        )
    executor = executors.make(
        request.executor, plugins.folders(settings.plugins_dirs), request.ray_address, settings.quiet, request.jobs
    )
    selector = registry.face_selectors.get(request.face)
    pipeline = Pipeline(
        Store(settings.cache_dir), settings.weights_dir, request.on_no_face, executor, selector=selector
    )
    metrics = registry.metrics.select(request.metrics or _evaluations(settings, request)[0].default_metric)
    return Sweep(pipeline, detectors, models, metrics=metrics)


def _plugin_records(sweep: Sweep) -> dict[str, object]:
    specs: list[Spec] = [*sweep.detectors, *sweep.models]
    return {
        spec.name: plugin_key(spec, sweep.pipeline.weights_dir)
        for spec in specs
        if spec.unavailable_reason(sweep.pipeline.weights_dir) is None
    }


def _declare(run: Run, specs: list[EvaluationSpec]) -> None:
    for spec in specs:
        for table in spec.tables:
            run.declare(table.name, TableInfo(table.description, table.keys, table.figures))
    run.declare(
        "failures",
        TableInfo(
            "every image with no face or no embedding, and the policy applied",
            ("dataset", "detector", "model", "image"),
        ),
    )
    run.declare(
        "unavailable", TableInfo("combinations that could not run, with the reason", ("dataset", "detector", "model"))
    )
    run.record(evaluations=[s.name for s in specs])


def _sweep_inputs(ctx: Context, steps: list[Evaluation]) -> int:
    """Every available combination of every input through every step; how many combinations ran."""
    total = len(ctx.inputs) * len(ctx.sweep.detectors) * len(ctx.sweep.models)
    done = 0
    for item in ctx.inputs:
        ctx.current = item
        for combo in ctx.sweep.run(item.dataset):
            done += 1
            what = f"{combo.model.name} x {combo.detector.name} on {item.dataset.name}"
            if not ctx.settings.quiet:
                sys.stderr.write(f"combination {done} of {total}: {what}\n")
            for step in steps:
                for table, rows in step.combination(ctx, combo).items():
                    ctx.run.append(table, [{**item.tags, **row} for row in rows])
            ctx.run.progress(done, total, what)
    ctx.current = None
    return done


def _empty_tables(ctx: Context, specs: list[EvaluationSpec], ran: int) -> list[str]:
    """Write each declared table that got no rows (header only) and say so in one sentence each."""
    said = []
    for table in (t for spec in specs for t in spec.tables if not ctx.run.rows.get(t.name)):
        ctx.run.write_table(table.name, pd.DataFrame(columns=list(table.keys)))
        said.append(f"{table.name}: no rows -- the evaluation ran on {ran} combination(s) and found nothing to report")
    return said


def _close(ctx: Context) -> None:
    ctx.run.write_table("failures", ctx.sweep.failures_frame())
    ctx.run.write_table("unavailable", ctx.sweep.unavailable_frame())
    ctx.run.record(
        dataset=[ctx.sweep.dataset_record(ctx.dataset)],  # the whole dataset as found
        sample=ctx.sweep.sample_record(),  # the images each swept input used
        detections=ctx.sweep.detection_counts,
        plugins=_plugin_records(ctx.sweep),
        timings=ctx.sweep.timings(),
    )


def execute(request: SweepRequest, settings: Settings, record: dict[str, object] | None = None) -> Outcome:
    """Run ``request`` end to end; the run folder says ``complete`` only if everything asked for ran. ``record``:
    entries for the manifest from the caller (a suite's file and sha256)."""
    runtime.use_device(request.device)  # before the plugins register: the device is part of their settings
    specs = _evaluations(settings, request)
    sweep = _sweep(settings, request)
    dataset, given = open_source(settings, request)
    if request.option("attributes") == "estimated":  # labelled by an estimator in the evaluation's prepare
        dataset = dataclasses.replace(dataset, carries=dataset.carries | {Carries.ATTRIBUTES})
    check_needs(dataset, specs, settings.plugins().evaluations)
    run = Run.create(
        request.output,
        specs[0].command or specs[0].name,
        request.run_id,
        request.overwrite,
        request.record(),
        settings.cache_dir,
    )
    ctx = Context(request, settings, settings.plugins(), run, sweep, sweep.metrics, dataset, given)
    try:
        _declare(run, specs)
        run.record(**(record or {}))
        run.record(
            metrics=[m.name for m in sweep.metrics],
            face_selection=request.face,
            weights_dir=str(settings.weights_dir),
            cache_dir=str(settings.cache_dir),
            jobs=getattr(sweep.pipeline.executor, "jobs", None),
            device=request.device,
        )
        steps = [spec.factory() for spec in specs]
        for step in steps:
            step.prepare(ctx)
        ran = _sweep_inputs(ctx, steps)
        _close(ctx)
        if not ran:
            raise NothingRan(
                f"nothing could run ({'; '.join(sweep.unavailable_lines())}); details in {run.path / 'unavailable.csv'}"
            )
        sweep.check_scored(run.path / "failures.csv")
        empty = _empty_tables(ctx, specs, ran)
        for step in steps:
            step.finish(ctx)
        summary = "\n".join([steps[0].summary(ctx), *empty, *_tail(ctx)])
    except (BenchError, KeyboardInterrupt) as err:
        run.fail(err)
        raise
    except Exception as err:
        log = run.fail(err)
        first = str(err).splitlines()[0] if str(err).strip() else "(no message)"
        raise RunFailed(f"{type(err).__name__}: {first} (status: failed; traceback in {log})") from err
    finally:
        getattr(sweep.pipeline.executor, "close", lambda: None)()  # stop the local executor's workers
    incomplete = bool(sweep.unavailable) and not request.allow_partial and not _asked_all(request)
    if incomplete:
        run.close("incomplete", error="; ".join(sweep.unavailable_lines()))
        raise IncompleteSweep(
            f"{summary}\nsome combinations could not run (status: incomplete); "
            "pass --allow-partial to accept a partial sweep"
        )
    run.finish()
    return Outcome(run, summary)


def _asked_all(request: SweepRequest) -> bool:
    return "all" in (request.models.strip().lower(), request.backends.strip().lower())


def _tail(ctx: Context) -> list[str]:
    return [*ctx.sweep.unavailable_lines(), f"results: {ctx.run.path}"]


def _cell(value: object) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return ""
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def console_table(frame: pd.DataFrame, columns: list[str]) -> str:
    """A summary table: the columns that exist, 4 decimals, empty cells (not NaN/None) where there is no value."""
    shown = frame[[c for c in columns if c in frame.columns]]
    if shown.empty:
        return "(no rows)"
    return shown.map(_cell).to_string(index=False)
