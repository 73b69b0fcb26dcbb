"""Cost outside the network: an ONNX recognizer's ms/face in facebench's embedding stage against its bare network.

    python benchmarks/overhead.py [--models MobileFace,FaceRes] [--detector retinaface-mnet] [--images 192]
                                  [--repeats 5] [--out benchmarks/results]

In one process, on the first ``--images`` LFW images (sorted paths): detection into a fresh cache, then per model
and repeat, interleaved on the same onnxruntime session (built once, as a long run's is): facebench's embedding
stage in this process (``--jobs 1``: decode, warp, normalise, network, cache write, into a fresh embedding cache)
as ms per face, and the same faces' graph inputs through that session alone at batch 32 (or the graph's fixed
batch) as ms per face. Reports the best and the median repeat of each, their difference, and each step outside
the network timed alone; writes ``overhead.md`` and ``overhead.json`` into ``--out`` (``-`` to print only).
Default models: every built-in ONNX recognizer whose weight file is found.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

SHARED = REPO.parent / "shared"
BATCH = 32


def main() -> None:
    """Measure every model, print and write the figures."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default=None, help="A,B: these recognizers [default: built-in ONNX ones found]")
    parser.add_argument("--detector", default="retinaface-mnet")
    parser.add_argument("--images", type=int, default=192)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--lfw", type=Path, default=SHARED / "data" / "lfw")
    parser.add_argument("--weights", type=Path, default=SHARED / "weights")
    parser.add_argument("--out", default=str(REPO / "benchmarks" / "results"), help="folder, or - to print only")
    args = parser.parse_args()

    from bench import plugins
    from bench.compute.executors import LocalExecutor
    from bench.compute.pipeline import Pipeline
    from bench.compute.store import Store
    from bench.data.datasets import Carries, Dataset, Image
    from facebench_plugins.recognizers.onnx_recognizers import BUILTINS

    registry = plugins.load()
    det_spec = registry.detectors.get(args.detector)
    names = args.models.split(",") if args.models else [c.name for c in BUILTINS if (args.weights / c.file).is_file()]
    paths = sorted(args.lfw.glob("*/*.jpg"))[: args.images]
    images = [Image(str(p.relative_to(args.lfw)), p.parent.name, p) for p in paths]
    dataset = Dataset("lfw-head", args.lfw, images, carries=frozenset({Carries.IDENTITIES}))
    rows = []
    with tempfile.TemporaryDirectory(prefix="facebench-overhead-") as folder:
        store = Store(Path(folder))
        found = Pipeline(store, args.weights, "skip", LocalExecutor(quiet=True)).detect(dataset, det_spec)
        faces = [(i, d.face) for i, d in enumerate(found) if d.face is not None]
        for name in names:
            spec = registry.recognizers.get(name)
            row = measure(store, dataset, det_spec, found, faces, spec, args.weights, args.repeats)
            row["parts"] = outside(row.pop("recognizer"), paths, faces, args.repeats)
            rows.append(row)
            print(line(row))
    record = {
        "detector": det_spec.name,
        "images": len(paths),
        "faces": len(faces),
        "repeats": args.repeats,
        "machine": machine(),
        "models": rows,
    }
    if args.out != "-":
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "overhead.json").write_text(json.dumps(record, indent=1) + "\n")
        (out / "overhead.md").write_text(markdown(record))
        print(f"wrote {out / 'overhead.md'} and overhead.json")


def measure(
    store: Any,
    dataset: Any,
    det_spec: Any,
    found: list[Any],
    faces: list[tuple[int, Any]],
    spec: Any,
    weights: Path,
    repeats: int,
) -> dict[str, Any]:
    """One model's embedding stage and bare network, ``repeats`` times each, interleaved on one session."""
    from bench.compute.executors import LocalExecutor, Outcome
    from bench.compute.pipeline import Pipeline
    from bench.data.images import decode

    executor = LocalExecutor(quiet=True)  # one executor: its built recognizer (and session) serves every repeat
    recognizer = executor.loader.get("embed", spec, weights, Outcome())
    paths = [img.path for img in dataset.images]
    feed = recognizer.network_input(np.stack([recognizer.crop(decode(paths[i]), face) for i, face in faces]))
    session = recognizer.session = TimedSession(recognizer.session)
    bench_ms, bare_ms, inside_ms = [], [], []
    for _ in range(repeats):
        shutil.rmtree(store.root / "embeddings", ignore_errors=True)  # a cold embedding stage each time
        pipeline, session.seconds = Pipeline(store, weights, "skip", executor), 0.0
        pipeline.embed(dataset, det_spec, found, spec)
        stats = pipeline.stats[f"embed:{spec.name}"]
        bench_ms.append(1000 * stats.seconds / stats.computed)
        inside_ms.append(1000 * (stats.seconds - session.seconds) / stats.computed)
        bare_ms.append(bare(recognizer, session.inner, feed))
    return {
        "model": spec.name,
        "batch": recognizer.fixed_batch or BATCH,
        "facebench_ms": summary(bench_ms),
        "bare_ms": summary(bare_ms),
        "outside_ms": summary([b - n for b, n in zip(bench_ms, bare_ms)]),
        "outside_in_stage_ms": summary(inside_ms),
        "recognizer": recognizer,
    }


class TimedSession:
    """An onnxruntime session that adds the seconds its ``run`` calls take (the network's share of the stage)."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.seconds = inner, 0.0

    def run(self, *args: Any, **kwargs: Any) -> Any:
        """The inner session's run, timed."""
        start = time.perf_counter()
        try:
            return self.inner.run(*args, **kwargs)
        finally:
            self.seconds += time.perf_counter() - start

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def summary(values: list[float]) -> dict[str, float]:
    """Best and median of the repeats, ms/face."""
    return {"best": round(min(values), 3), "median": round(statistics.median(values), 3)}


def line(row: dict[str, Any]) -> str:
    """One model's figures as a line."""
    parts = ", ".join(f"{name} {ms:.2f}" for name, ms in row["parts"].items())
    return (
        f"{row['model']}: facebench {row['facebench_ms']['best']:.2f} ms/face, bare network (batch {row['batch']}) "
        f"{row['bare_ms']['best']:.2f}; outside the network: facebench - bare {row['outside_ms']['median']:.2f} "
        f"(median of the repeats' differences), stage - its own network calls "
        f"{row['outside_in_stage_ms']['median']:.2f}; part by part: {parts}"
    )


def machine() -> str:
    """The CPU and core count the figures were measured on."""
    cpuinfo = Path("/proc/cpuinfo")
    lines = cpuinfo.read_text().splitlines() if cpuinfo.exists() else []
    names = [line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")]
    model = names[0] if names else platform.processor() or "unknown CPU"
    return f"{model}, {os.cpu_count()} cores, {platform.system()}"


def markdown(record: dict[str, Any]) -> str:
    """The results file: one row per model."""
    head = (
        "# Cost outside the network\n\n"
        f"Written by `python benchmarks/overhead.py`: {record['faces']} faces of the first {record['images']} LFW "
        f"images (sorted paths) detected by `{record['detector']}`, `--jobs 1`, on {record['machine']}. Per model, "
        f"{record['repeats']} repeats, interleaved on one onnxruntime session (built once, as in a long run): "
        "**facebench** is the embedding stage's ms per face (decode, warp, normalise, network, cache write; a fresh "
        "embedding cache each repeat), **bare network** the same faces' graph inputs through the session alone. "
        "**Outside the network**: facebench minus bare network, the median of the repeats' differences; **in the "
        "stage**: the stage's time minus its own network calls (the same quantity, without the noise of two "
        "separate timings). Then each step timed alone. Best repeat [median] for the timings.\n\n"
        "| model | batch | facebench ms/face | bare network ms/face | outside the network | in the stage | "
        "decode | warp | normalise | cache write |\n|---|---|---|---|---|---|---|---|---|---|\n"
    )
    body = "".join(
        f"| {r['model']} | {r['batch']} | {r['facebench_ms']['best']:.2f} [{r['facebench_ms']['median']:.2f}] | "
        f"{r['bare_ms']['best']:.2f} [{r['bare_ms']['median']:.2f}] | **{r['outside_ms']['median']:.2f}** | "
        f"{r['outside_in_stage_ms']['median']:.2f} | "
        + " | ".join(f"{r['parts'][k]:.2f}" for k in ("decode", "warp", "normalise", "cache write"))
        + " |\n"
        for r in record["models"]
    )
    return head + body


def bare(recognizer: Any, session: Any, feed: np.ndarray) -> float:
    """ms/face of the recognizer's onnxruntime ``session`` alone on the faces' graph inputs ``feed``, at batch 32
    (or the graph's fixed batch)."""
    step, start = recognizer.fixed_batch or BATCH, time.perf_counter()
    for i in range(0, len(feed), step):
        session.run(recognizer.outputs, {recognizer.input_name: feed[i : i + step]})
    return 1000 * (time.perf_counter() - start) / len(feed)


def outside(recognizer: Any, paths: list[Path], faces: list[tuple[int, Any]], repeats: int) -> dict[str, float]:
    """Each step the embedding stage adds around the network, timed alone on the same faces: JPEG decode, the
    warp (landmarks to template), the batch's normalisation, the cache write (a pack per batch, a fresh folder
    each repeat)."""
    from bench.compute.store import Store
    from bench.data.images import decode

    best: dict[str, float] = {}
    vectors = np.zeros((BATCH, recognizer.config.dim), dtype=np.float32)

    def keep(name: str, start: float) -> None:
        best[name] = min(best.get(name, np.inf), 1000 * (time.perf_counter() - start) / len(faces))

    for _ in range(repeats):
        start = time.perf_counter()
        images = [decode(paths[i]) for i, _ in faces]
        keep("decode", start)
        start = time.perf_counter()
        crops = np.stack([recognizer.crop(image, face) for image, (_, face) in zip(images, faces)])
        keep("warp", start)
        start = time.perf_counter()
        for i in range(0, len(crops), BATCH):
            recognizer.network_input(crops[i : i + BATCH])
        keep("normalise", start)
        with tempfile.TemporaryDirectory(prefix="facebench-overhead-") as folder:
            store, start = Store(Path(folder)), time.perf_counter()
            for i in range(0, len(faces), BATCH):
                keys = [f"{k:064x}" for k in range(i, min(i + BATCH, len(faces)))]
                store.put_vectors("ns", keys, vectors[: len(keys)])
            keep("cache write", start)
    return best


if __name__ == "__main__":
    main()
