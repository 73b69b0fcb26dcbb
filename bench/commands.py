"""What ``bench similarity`` and ``bench accuracy`` do: resolve inputs, sweep, write the run folder."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from bench import distances, executors, plugins, report
from bench.accuracy import evaluate
from bench.datasets import Dataset, DatasetError, Pairs, load_catalog, read_pairs, restrict, sample_pairs, scan
from bench.pipeline import Pipeline
from bench.runs import manifest_base, new_run_dir, write_csv, write_json
from bench.similarity import identity_matrix
from bench.store import Store
from bench.sweep import Sweep

if TYPE_CHECKING:
    from bench.cli import Settings


class NothingRan(Exception):
    """No requested combination could run; the message lists why."""


def _nothing_ran(sweep: Sweep, run_dir: Path) -> NothingRan:
    reasons = "; ".join(f"{u['model']} / {u['detector']}: {u['reason']}" for u in sweep.unavailable)
    return NothingRan(f"nothing could run ({reasons}); details in {run_dir / 'unavailable.csv'}")


def open_dataset(settings: Settings, options: dict[str, Any]) -> Dataset:
    """The dataset named by ``--dataset`` or found at ``--i``."""
    if options["dataset"] and options["input_dir"]:
        raise DatasetError("give either --i DIR or --dataset NAME, not both")
    if options["dataset"]:
        catalog = load_catalog(settings.datasets_file)
        if options["dataset"] not in catalog:
            raise DatasetError(
                f"dataset '{options['dataset']}' is not in {settings.datasets_file}; known: {', '.join(catalog)}"
            )
        return catalog[options["dataset"]].open()
    if not options["input_dir"]:
        raise DatasetError("no dataset: pass --i DIR (identity-per-folder) or --dataset NAME")
    root = Path(options["input_dir"])
    pairs = next((p for p in (root / "pairs.csv", root / "pairs.txt") if p.is_file()), None)
    return scan(root, pairs_file=pairs)


def _prepare(settings: Settings, options: dict[str, Any], command: str) -> tuple[Dataset, Sweep, Path, dict[str, Any]]:
    registry = settings.plugins()
    models = registry.recognizers.select(options["model"])
    detectors = registry.detectors.select(options["backend"])
    metrics = distances.select(options["metric"])
    dataset = open_dataset(settings, options)
    executor = executors.make(options["executor"], plugins.folders(settings.plugins_dirs), options["ray_address"],
                              settings.quiet)
    pipeline = Pipeline(Store(settings.cache_dir), settings.weights_dir, options["on_no_face"], executor)
    run_dir = new_run_dir(options["output"], command, options["run_id"], options["overwrite"])
    manifest = {
        **manifest_base(command),
        "options": {k: str(v) if isinstance(v, Path) else v for k, v in options.items()},
        "metrics": metrics,
        "weights_dir": str(settings.weights_dir),
        "cache_dir": str(settings.cache_dir),
        "status": "running",
    }
    write_json(run_dir / "manifest.json", manifest)
    return dataset, Sweep(pipeline, detectors, models), run_dir, manifest


def _finish(run_dir: Path, manifest: dict[str, Any], sweep: Sweep, started: float) -> None:
    manifest["dataset"] = sweep.dataset_record()
    write_csv(run_dir / "failures.csv", sweep.failures_frame())
    write_csv(run_dir / "unavailable.csv", sweep.unavailable_frame())
    manifest["plugins"] = _plugin_records(sweep)
    manifest["timings"] = {k: v.as_dict() for k, v in sweep.pipeline.stats.items()}
    manifest["wall_seconds"] = round(time.perf_counter() - started, 2)
    manifest["status"] = "complete"
    write_json(run_dir / "manifest.json", manifest)


def _plugin_records(sweep: Sweep) -> dict[str, Any]:
    from bench.pipeline import plugin_key

    records = {}
    for spec in [*sweep.detectors, *sweep.models]:
        if spec.unavailable_reason(sweep.pipeline.weights_dir) is None:
            records[spec.name] = plugin_key(spec, sweep.pipeline.weights_dir)
    return records


def _pairs(dataset: Dataset, options: dict[str, Any]) -> Pairs:
    if options["pairs"]:
        return read_pairs(dataset, Path(options["pairs"]))
    if options["n"] is None and dataset.pairs_file is not None:
        return read_pairs(dataset, dataset.pairs_file)
    return sample_pairs(dataset, options["n"] or 1000, options["seed"])


def run_accuracy(settings: Settings, options: dict[str, Any]) -> str:
    """Sweep and score verification pairs; returns the printed summary."""
    started = time.perf_counter()
    dataset, sweep, run_dir, manifest = _prepare(settings, options, "accuracy")
    dataset, pairs = restrict(dataset, _pairs(dataset, options))
    manifest["pairs"] = {"source": pairs.source, "n_pairs": len(pairs), "n_same": int(pairs.same.sum()),
                         "n_images_used": len(dataset.images),
                         "folds": "given by the pair list" if pairs.folds is not None else "10 stratified (seed 0)"}
    rows: list[dict[str, Any]] = []
    scores: list[pd.DataFrame] = []
    for combo in sweep.run(dataset):
        new_rows, new_scores = evaluate(combo, pairs, manifest["metrics"])
        rows += new_rows
        scores.append(new_scores)
        write_csv(run_dir / "accuracy.csv", pd.DataFrame(rows))  # after each combination: nothing lost
    _finish(run_dir, manifest, sweep, started)
    if not rows:
        raise _nothing_ran(sweep, run_dir)
    table = pd.DataFrame(rows)
    all_scores = pd.concat(scores, ignore_index=True)
    write_csv(run_dir / "scores.csv", all_scores)
    report.accuracy_pivots(table, run_dir)
    report.roc_plots(all_scores, run_dir)
    report.distance_plots(all_scores, run_dir)
    return _accuracy_text(table, sweep, run_dir)


def _accuracy_text(table: pd.DataFrame, sweep: Sweep, run_dir: Path) -> str:
    view = table.assign(
        acc_kfold=[f"{m:.4f} ± {s:.4f}" for m, s in zip(table.acc_kfold_mean, table.acc_kfold_std)]
    )[["model", "detector", "metric", "acc_kfold", "n_folds", "acc_best_same_pairs", "acc_at_default", "auc", "eer",
       "failure_to_detect_rate", "n_pairs_scored"]]
    lines = [view.to_string(index=False, float_format=lambda v: f"{v:.4f}")]
    for row in sweep.unavailable:
        lines.append(f"unavailable: {row['model']} / {row['detector']}: {row['reason']}")
    lines.append("acc_kfold: threshold chosen on k-1 folds, scored on the k-th, mean ± std over the k folds; "
                 "acc_best_same_pairs: best threshold chosen on the same pairs (optimistic)")
    lines.append(f"results: {run_dir}")
    return "\n".join(lines)


def run_similarity(settings: Settings, options: dict[str, Any]) -> str:
    """Sweep and build identity x identity matrices; returns the printed summary."""
    started = time.perf_counter()
    dataset, sweep, run_dir, manifest = _prepare(settings, options, "similarity")
    frames = []
    for combo in sweep.run(dataset):
        for metric in manifest["metrics"]:
            frames.append(identity_matrix(combo, metric, options["n"], options["seed"]))
        write_csv(run_dir / "similarity.csv", pd.concat(frames, ignore_index=True))
    _finish(run_dir, manifest, sweep, started)
    if not frames:
        raise _nothing_ran(sweep, run_dir)
    long = pd.concat(frames, ignore_index=True)
    report.similarity_outputs(long, run_dir)
    return _similarity_text(long, sweep, run_dir)


def _similarity_text(long: pd.DataFrame, sweep: Sweep, run_dir: Path) -> str:
    same = long.identity_a == long.identity_b
    keys = ["model", "detector", "metric"]
    summary = pd.DataFrame(
        {"same_identity_mean": long[same].groupby(keys).mean_distance.mean(),
         "cross_identity_mean": long[~same].groupby(keys).mean_distance.mean()}
    ).reset_index()
    lines = [summary.to_string(index=False, float_format=lambda v: f"{v:.4f}")]
    for row in sweep.unavailable:
        lines.append(f"unavailable: {row['model']} / {row['detector']}: {row['reason']}")
    lines.append(f"results: {run_dir}")
    return "\n".join(lines)
