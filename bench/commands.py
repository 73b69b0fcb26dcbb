"""What ``bench similarity`` and ``bench accuracy`` do: resolve inputs, sweep, write the run folder."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from bench import executors, plugins, protocols, report, runtime
from bench.accuracy import evaluate
from bench.datasets import (
    Dataset,
    DatasetEntry,
    DatasetError,
    Pairs,
    is_reference,
    load_catalog,
    reference_pairs,
    restrict,
    sample_identities,
    sample_pairs,
    scan,
)
from bench.errors import BenchError
from bench.pipeline import Pipeline
from bench.runs import manifest_base, new_run_dir, write_csv, write_json
from bench.store import Store
from bench.sweep import Combination, Sweep

if TYPE_CHECKING:
    from bench.cli import Settings


class NothingRan(BenchError):
    """No requested combination could run; the message lists why."""


def _nothing_ran(sweep: Sweep, run_dir: Path) -> NothingRan:
    reasons = "; ".join(sweep.unavailable_lines())
    return NothingRan(f"nothing could run ({reasons}); details in {run_dir / 'unavailable.csv'}")


def _named(settings: Settings, name: str) -> DatasetEntry:
    catalog = load_catalog(settings.datasets_file)
    if name not in catalog:
        raise DatasetError(f"dataset '{name}' is not in {settings.datasets_file}; known: {', '.join(catalog)}")
    return catalog[name]


def open_dataset(settings: Settings, options: dict[str, Any]) -> Dataset:
    """The dataset named by ``--dataset`` or found at ``--i``."""
    if options["dataset"] and options["input_dir"]:
        raise DatasetError("give either --i DIR or --dataset NAME, not both")
    if options["dataset"]:
        return _named(settings, options["dataset"]).open()
    if not options["input_dir"]:
        raise DatasetError("no dataset: pass --i DIR (identity-per-folder) or --dataset NAME")
    root = Path(options["input_dir"])
    pairs = next((p for p in (root / "pairs.csv", root / "pairs.txt") if p.is_file()), None)
    return scan(root, pairs_file=pairs)


def _prepare(settings: Settings, options: dict[str, Any], command: str) -> tuple[Dataset, Sweep, Path, dict[str, Any]]:
    runtime.use_device(options["device"])  # before the plugins register: the device is in their settings
    registry = settings.plugins()
    models = registry.recognizers.select(options["model"])
    detectors = registry.detectors.select(options["backend"])
    metrics = registry.metrics.select(options["metric"])
    dataset = open_dataset(settings, options)
    executor = executors.make(options["executor"], plugins.folders(settings.plugins_dirs), options["ray_address"],
                              settings.quiet, options["jobs"])
    pipeline = Pipeline(Store(settings.cache_dir), settings.weights_dir, options["on_no_face"], executor)
    run_dir = new_run_dir(options["output"], command, options["run_id"], options["overwrite"])
    manifest = {
        **manifest_base(command),
        "options": {k: str(v) if isinstance(v, Path) else v for k, v in options.items()},
        "metrics": [m.name for m in metrics],
        "weights_dir": str(settings.weights_dir),
        "cache_dir": str(settings.cache_dir),
        "jobs": getattr(executor, "jobs", None),
        "device": options["device"],
        "status": "running",
    }
    write_json(run_dir / "manifest.json", manifest)
    return dataset, Sweep(pipeline, detectors, models, metrics=metrics), run_dir, manifest


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
    registry = plugins.load(()).protocols
    if options["pairs"]:
        return protocols.read_pairs(registry, dataset, Path(options["pairs"]))
    if options["n"] is None and dataset.pairs_file is not None:
        return protocols.read_pairs(registry, dataset, dataset.pairs_file)
    if options["n"] is None and any(is_reference(img) for img in dataset.images):
        return reference_pairs(dataset, options["seed"])
    return sample_pairs(dataset, options["n"] or 1000, options["seed"])


def _against_baseline(settings: Settings, options: dict[str, Any], sweep: Sweep, dataset: Dataset,
                      rows: list[dict[str, Any]], metrics: list[str]) -> list[dict[str, Any]]:
    """The clean baseline dataset's rows; each row of ``rows`` gains its accuracy drop from the baseline."""
    name = dataset.name
    base = _named(settings, dataset.baseline).open()
    base, pairs = restrict(base, _pairs(base, {**options, "pairs": None}))
    base_rows = [{"subset": "baseline", **row} for combo in sweep.run(base) for row in evaluate(combo, pairs, metrics)[0]]
    clean = {(r["model"], r["detector"], r["metric"]): r.get("acc_kfold_mean") for r in base_rows}
    for row in rows:
        if row["dataset"] == name:
            reference = clean.get((row["model"], row["detector"], row["metric"]))
            row["baseline_dataset"] = base.name
            accuracy = row.get("acc_kfold_mean")  # absent when a combination had too few pairs to score
            row["acc_drop_vs_baseline"] = None if reference is None or accuracy is None else reference - accuracy
    return base_rows


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
    qualities: dict[str, pd.DataFrame] = {}
    for combo in sweep.run(dataset):
        new_rows, new_scores = evaluate(combo, pairs, sweep.metrics)
        rows += [{"subset": "all", **row} for row in new_rows]
        if options["drop_lowest_quality"]:
            rows += _quality_filtered(combo, pairs, options["drop_lowest_quality"], sweep.metrics, qualities)
        scores.append(new_scores)
        write_csv(run_dir / "accuracy.csv", pd.DataFrame(rows))  # after each combination: nothing lost
    if dataset.baseline and rows:
        rows += _against_baseline(settings, options, sweep, dataset, rows, sweep.metrics)
        write_csv(run_dir / "accuracy.csv", pd.DataFrame(rows))
    if qualities:
        write_csv(run_dir / "quality.csv", pd.concat(qualities.values(), ignore_index=True))
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


def _quality_filtered(combo: Combination, pairs: Pairs, percent: float, metrics: list[str],
                      qualities: dict[str, pd.DataFrame]) -> list[dict[str, Any]]:
    """Every metric again without the pairs of the ``percent``% lowest-quality images (quality is per detector)."""
    from bench import quality

    name = combo.detector.name
    if name not in qualities:
        measured = quality.measure(combo.dataset, combo.detections)
        qualities[name] = measured.assign(detector=name, dropped=quality.lowest(measured.quality, percent))
    dropped = qualities[name].dropped.to_numpy()
    label = f"drop lowest {percent:g}% quality"
    new_rows, _ = evaluate(combo, quality.without(pairs, dropped), metrics)
    return [{"subset": label, **row, "n_images_dropped_quality": int(dropped.sum())} for row in new_rows]


def _accuracy_text(table: pd.DataFrame, sweep: Sweep, run_dir: Path) -> str:
    view = table.assign(
        acc_kfold=[f"{m:.4f} ± {s:.4f}" for m, s in zip(table.acc_kfold_mean, table.acc_kfold_std)]
    )[["subset", "model", "detector", "metric", "acc_kfold", "n_folds", "acc_best_same_pairs", "acc_at_default",
       "auc", "eer", "failure_to_detect_rate", "n_pairs_scored"]]
    note = ("acc_kfold: threshold chosen on k-1 folds, scored on the k-th, mean ± std over the k folds; "
            "acc_best_same_pairs: best threshold chosen on the same pairs (optimistic)")
    return _text(view, sweep, run_dir, note)


def _text(view: pd.DataFrame, sweep: Sweep, run_dir: Path, note: str = "") -> str:
    """A command's printed summary: the table, what could not run, a note, where the results are."""
    lines = [view.to_string(index=False, float_format=lambda v: f"{v:.4f}")]
    lines += sweep.unavailable_lines()
    lines += [note] if note else []
    lines.append(f"results: {run_dir}")
    return "\n".join(lines)


def run_similarity(settings: Settings, options: dict[str, Any]) -> str:
    """Sweep and build exact identity x identity mean matrices; returns the printed summary."""
    from bench import similarity, similarity_report

    started = time.perf_counter()
    dataset, sweep, run_dir, manifest = _prepare(settings, options, "similarity")
    choice = similarity_report.HeatmapChoice(
        tuple(n.strip() for n in (options.get("identities") or "").split(",") if n.strip()), options.get("top"))
    frames, summaries = [], []
    for combo in sweep.run(dataset):
        tag = {"dataset": combo.dataset.name, "model": combo.model.name, "detector": combo.detector.name}
        for metric in sweep.metrics:
            start = time.perf_counter()
            totals = similarity.identity_totals(similarity.vector_scorer(combo.vectors, metric),
                                                [img.identity for img in combo.dataset.images],
                                                np.isfinite(combo.vectors).all(axis=1))
            seconds = time.perf_counter() - start
            name = report.slug(*tag.values(), metric.name)
            files = similarity_report.write(totals, metric, run_dir, name,
                                            f"{combo.model.name} / {combo.detector.name} on {combo.dataset.name}",
                                            choice)
            frames.append(similarity_report.long_table(totals, metric).assign(**tag, metric=metric.name))
            summaries.append({**tag, "metric": metric.name, **similarity.summary(totals),
                              "matrix_seconds": round(seconds, 3), "files": [p.name for p in files]})
        write_csv(run_dir / "similarity.csv", pd.concat(frames, ignore_index=True))
    manifest["similarity"] = summaries
    _finish(run_dir, manifest, sweep, started)
    if not frames:
        raise _nothing_ran(sweep, run_dir)
    view = pd.DataFrame(summaries).drop(columns=["dataset", "files", "same_pairs", "cross_pairs"])
    return _text(view, sweep, run_dir, "means over every image pair (same identity: no self-pairs); most-confused "
                                       "identity pairs in similarity_*_confused.csv")


def run_identify(settings: Settings, options: dict[str, Any]) -> str:
    """Sweep and score 1:N identification on a gallery/probe split; returns the printed summary."""
    from bench import identify

    started = time.perf_counter()
    dataset, sweep, run_dir, manifest = _prepare(settings, options, "identify")
    dataset = sample_identities(dataset, options["n"], options["max_per_identity"], options["seed"])
    split = identify.split([img.identity for img in dataset.images], options["gallery_per_identity"], options["seed"])
    manifest["split"] = {**split.describe(), "gallery_per_identity": options["gallery_per_identity"],
                         "seed": options["seed"], "gallery": [dataset.images[i].rel for i in split.gallery]}
    rows: list[dict[str, Any]] = []
    curves: list[pd.DataFrame] = []
    for combo in sweep.run(dataset):
        new_rows, new_curves = identify.evaluate(combo, split, sweep.metrics)
        rows += new_rows
        curves.append(new_curves)
        write_csv(run_dir / "identify.csv", pd.DataFrame(rows))
    _finish(run_dir, manifest, sweep, started)
    if not rows:
        raise _nothing_ran(sweep, run_dir)
    cmc = pd.concat(curves, ignore_index=True)
    write_csv(run_dir / "cmc.csv", cmc)
    report.cmc_plots(cmc, run_dir)
    table = pd.DataFrame(rows)
    columns = ["model", "detector", "metric", "rank1", "rank5", "n_enrolled", "n_mated_probes",
               "n_distractor_probes", *[c for c in table if c.startswith("tpir_at_fpir_")]]
    note = ("rank1/rank5: closed set, mated probes only; tpir_at_fpir_F: open set, rank-1 hit within the "
            "threshold where at most F of distractor probes raise an alarm (empty: too few distractors)")
    return _text(table[columns], sweep, run_dir, note)


def run_variants(settings: Settings, options: dict[str, Any]) -> str:
    """Write robustness variants of a dataset's pair images; with ``--evaluate`` score accuracy on each."""
    from bench import variants

    chosen = variants.select(options["only"])
    if not options["evaluate"]:
        source, pairs = restrict(*_source_pairs(settings, options))
        variants.generate(source, pairs, options["to"], chosen, options["seed"], _faces(settings, options, source))
        return f"wrote {len(chosen)} variants x {len(source.images)} images to {options['to']}"
    started = time.perf_counter()
    source, sweep, run_dir, manifest = _prepare(settings, options, "variants")
    source, pairs = restrict(source, _pairs(source, options))
    faces = _faces(settings, options, source)
    manifest["variants"] = variants.generate(source, pairs, options["to"], chosen, options["seed"], faces)
    manifest["pairs"] = {"source": pairs.source, "n_pairs": len(pairs), "n_same": int(pairs.same.sum())}
    rows: list[dict[str, Any]] = []
    for variant in chosen:
        root = Path(options["to"]) / variant.name
        dataset = scan(root, pairs_file=root / "pairs.csv")
        mapped = protocols.read_pairs(plugins.load(()).protocols, dataset, root / "pairs.csv")
        tag = {"variant": variant.name, "family": variant.family, "level": variant.level}
        for combo in sweep.run(dataset):
            rows += [{**tag, **row} for row in evaluate(combo, mapped, sweep.metrics)[0]]
            write_csv(run_dir / "accuracy.csv", pd.DataFrame(rows))
    _finish(run_dir, manifest, sweep, started)
    if not rows:
        raise _nothing_ran(sweep, run_dir)
    table = variants.relative_to_clean(pd.DataFrame(rows))
    write_csv(run_dir / "robustness.csv", table)
    report.rotation_curves(table, run_dir)
    report.perturbation_bars(table, run_dir)
    view = table[["variant", "model", "detector", "metric", "acc_kfold_mean", "acc_kfold_mean_drop", "auc",
                  "failure_to_detect_rate"]]
    return _text(view, sweep, run_dir, "acc_kfold_mean_drop: clean accuracy minus this variant's (same pairs)")


def _faces(settings: Settings, options: dict[str, Any], dataset: Dataset) -> tuple[str, list[Any]] | None:
    """The ``--occlude-with`` detector's face per image (None where it finds none), cached like any detection."""
    if not options["occlude_with"]:
        return None
    spec = settings.plugins().detectors.select(options["occlude_with"])[0]
    pipeline = Pipeline(Store(settings.cache_dir), settings.weights_dir, "skip", executors.LocalExecutor(settings.quiet))
    return spec.name, [d.face if d.status == "ok" else None for d in pipeline.detect(dataset, spec)]


def _source_pairs(settings: Settings, options: dict[str, Any]) -> tuple[Dataset, Pairs]:
    dataset = open_dataset(settings, options)
    return dataset, _pairs(dataset, options)
