"""``--plan``: what a sweep would compute and what it would cost, before any work.

Per input x detector x model: images, detections to run (cache misses), faces to embed and embeddings to compute,
and scores (pairs, probe x gallery). CPU-seconds come from the per-item CPU times the cache recorded for each
namespace in earlier runs (``timings/<namespace>.json``: detector ms/image, model ms/face; wall ms in records
older than CPU timing); a namespace never run uses the plugin's first cached sibling (same plugin, another
detector) or :data:`DEFAULT_MS`. Faces of images not yet detected count as one per image. Plugin load time and
scoring (microseconds each) are left out.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from bench.compute.pipeline import Pipeline
from bench.data.datasets import Dataset
from bench.registry import DetectorSpec, RecognizerSpec
from bench.run.config import Settings
from bench.run.context import comparisons
from bench.run.requests import SweepRequest

DEFAULT_MS = {"detect": 30.0, "embed": 30.0}
"""ms per item assumed for a plugin the cache has no timing of (CPU, one thread; a guess, said as such)."""
NODES = (1, 2, 8, 32, 128)


@dataclass
class Stage:
    """One stage for one plugin on one input: items in all, already cached, and the cost of the rest."""

    name: str  # "detect NAME" or "embed MODEL@DETECTOR"
    items: int
    cached: int
    ms_per_item: float
    measured: bool  # ms_per_item from the cache's timings, not the default

    @property
    def cpu_seconds(self) -> float:
        """Seconds to compute the misses on one core."""
        return (self.items - self.cached) * self.ms_per_item / 1000


@dataclass
class Plan:
    """Every stage of a sweep and the scores its evaluations compute."""

    stages: list[Stage]
    images: int
    scores: int  # pairs and probe x gallery comparisons, times every model x detector x metric

    @property
    def cpu_seconds(self) -> float:
        """One core's seconds for every miss."""
        return sum(s.cpu_seconds for s in self.stages)

    def text(self, cores: int) -> str:
        """The plan as printed: one line per stage, totals, and wall time on N workers."""
        lines = [f"{'stage':<40} {'items':>9} {'cached':>9} {'to compute':>10} {'ms/item':>9} {'cpu s':>9}"]
        for s in self.stages:
            ms = f"{s.ms_per_item:.1f}" + ("" if s.measured else "*")
            line = f"{s.name:<40} {s.items:>9} {s.cached:>9} {s.items - s.cached:>10} {ms:>9} {s.cpu_seconds:>9.1f}"
            lines.append(line)
        scores = f"scores {self.scores} (pairs, probe x gallery)"
        lines.append(f"images {self.images}, {scores}; estimated {self.cpu_seconds:.0f} CPU-s")
        workers = sorted({1, cores, *(n * cores for n in NODES[1:])})
        walls = ", ".join(f"{n} cores {_duration(self.cpu_seconds / n)}" for n in workers)
        lines.append(f"wall time (cores of {cores}-core nodes, ideal split): {walls}")
        if not all(s.measured for s in self.stages):
            assumed = " and ".join(f"{ms:g} ms per item to {stage}" for stage, ms in DEFAULT_MS.items())
            lines.append(f"* no timing in the cache yet: assumed {assumed}")
        return "\n".join(lines)


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.1f} s" if seconds < 10 else f"{seconds:.0f} s"
    return f"{seconds / 60:.0f} min" if seconds < 7200 else f"{seconds / 3600:.1f} h"


def _ms(pipeline: Pipeline, stage: str, namespace: str, prefix: str) -> tuple[float, bool]:
    """Measured CPU ms per item of ``namespace`` (wall ms where no CPU time was recorded), else of a sibling
    namespace of the same plugin, else the default."""
    timing = pipeline.store.timing(namespace)
    if not (timing and timing["computed"]):
        folder = pipeline.store.root / "timings"
        siblings = sorted(folder.glob(f"{prefix}*.json")) if folder.is_dir() else []
        timing = next((t for p in siblings if (t := pipeline.store.timing(p.stem)) and t["computed"]), None)
    if timing and timing["cpu_computed"]:
        return 1000 * timing["cpu_seconds"] / timing["cpu_computed"], True
    if timing and timing["computed"]:
        return 1000 * timing["seconds"] / timing["computed"], True
    return DEFAULT_MS[stage], False


def _input_stages(
    pipeline: Pipeline, dataset: Dataset, detectors: list[DetectorSpec], models: list[RecognizerSpec]
) -> list[Stage]:
    shas = list(dict.fromkeys(pipeline.hashes(dataset)))
    stages = []
    for det in detectors:
        namespace = pipeline.detection_namespace(det)
        records = {sha: pipeline.store.get_json("detections", namespace, sha) for sha in shas}
        ms, measured = _ms(pipeline, "detect", namespace, f"{det.name}-")
        stages.append(
            Stage(f"detect {det.name}", len(shas), sum(r is not None for r in records.values()), ms, measured)
        )
        keys = _face_keys(pipeline, det, records)
        for model in models:
            namespace = pipeline.embedding_namespace(model, det)
            found = pipeline.store.embedded(namespace, [key for key in keys if key is not None])
            cached = sum(key in found for key in keys)
            ms, measured = _ms(pipeline, "embed", namespace, f"{model.name}-")
            stages.append(Stage(f"embed {model.name}@{det.name}", len(keys), cached, ms, measured))
    return stages


def _face_keys(pipeline: Pipeline, det: DetectorSpec, records: dict[str, dict[str, object] | None]) -> list[str | None]:
    """The embedding key of every face to embed; None for each face (one per image) of an image not yet detected."""
    keys: list[str | None] = []
    for sha, record in records.items():
        if record is None:
            keys.append(None)
            continue
        detection = pipeline._detection(det, Path(sha), record)
        keys.extend(f"{sha}-{face.key()}" for face in detection.faces)
    return keys


def plan(request: SweepRequest, settings: Settings) -> Plan:
    """The plan of ``request``: its evaluations prepare their inputs (pairs, splits) as a run would, in a scratch
    folder, and the cache is read, never written."""
    from bench.run.context import Context
    from bench.run.runner import _evaluations, _sweep
    from bench.run.runs import Run
    from bench.run.sources import open_source

    specs = _evaluations(settings, request)
    sweep = _sweep(settings, request)
    dataset, given = open_source(settings, request)
    available = [d for d in sweep.detectors if d.unavailable_reason(settings.weights_dir) is None]
    models = [m for m in sweep.models if m.unavailable_reason(settings.weights_dir) is None]
    with tempfile.TemporaryDirectory() as scratch:
        run = Run.create(Path(scratch), "plan", "plan", False, request.record(), settings.cache_dir)
        ctx = Context(request, settings, settings.plugins(), run, sweep, sweep.metrics, dataset, given)
        evaluations = [spec.factory() for spec in specs]
        for evaluation in evaluations:
            evaluation.prepare(ctx)
    inputs = ctx.inputs or []
    stages = [s for item in inputs for s in _input_stages(sweep.pipeline, item.dataset, available, models)]
    scores = sum(len(item.pairs.left) for item in inputs if item.pairs is not None)
    scores += sum(comparisons(evaluation) for evaluation in evaluations)
    combos = len(available) * len(models) * len(sweep.metrics)
    return Plan(stages, sum(len(item.dataset.images) for item in inputs), scores * combos)
