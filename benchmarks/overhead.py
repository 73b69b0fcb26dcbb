"""Cost outside the network: an ONNX recognizer's ms/face in facebench's embedding stage against its bare network.

    python benchmarks/overhead.py [--model MobileFace] [--detector retinaface-mnet] [--images 192] [--repeats 3]

In one process, on the first ``--images`` LFW images (sorted paths): detection into a fresh cache, then for each
repeat a fresh embedding cache: facebench's embedding stage in this process (``--jobs 1``: decode, warp,
normalise, network, cache write) as ms per face, and the same faces' graph inputs through the bare onnxruntime
session at batch 32 as ms per face. Prints the best repeat of each and their difference.
"""

from __future__ import annotations

import argparse
import shutil
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
    """Measure and print both figures."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="MobileFace")
    parser.add_argument("--detector", default="retinaface-mnet")
    parser.add_argument("--images", type=int, default=192)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--lfw", type=Path, default=SHARED / "data" / "lfw")
    parser.add_argument("--weights", type=Path, default=SHARED / "weights")
    args = parser.parse_args()

    from bench import plugins
    from bench.compute.executors import LocalExecutor, Outcome
    from bench.compute.pipeline import Pipeline
    from bench.compute.store import Store
    from bench.data.datasets import Carries, Dataset, Image

    registry = plugins.load()
    det_spec, spec = registry.detectors.get(args.detector), registry.recognizers.get(args.model)
    paths = sorted(args.lfw.glob("*/*.jpg"))[: args.images]
    images = [Image(str(p.relative_to(args.lfw)), p.parent.name, p) for p in paths]
    dataset = Dataset("lfw-head", args.lfw, images, carries=frozenset({Carries.IDENTITIES}))
    executor = LocalExecutor(quiet=True)  # one executor: its built recognizer (and session) serves every repeat
    with tempfile.TemporaryDirectory(prefix="facebench-overhead-") as folder:
        store = Store(Path(folder))
        found = Pipeline(store, args.weights, "skip", executor).detect(dataset, det_spec)
        faces = [(i, d.face) for i, d in enumerate(found) if d.face is not None]
        bench_ms, bare_ms = [], []
        for _ in range(args.repeats):
            shutil.rmtree(store.root / "embeddings", ignore_errors=True)  # a cold embedding stage each time
            pipeline = Pipeline(store, args.weights, "skip", executor)
            pipeline.embed(dataset, det_spec, found, spec)
            stats = pipeline.stats[f"embed:{spec.name}"]
            bench_ms.append(1000 * stats.seconds / stats.computed)
            recognizer = executor.loader.get("embed", spec, args.weights, Outcome())
            bare_ms.append(bare(recognizer, paths, faces))
    best_bench, best_bare = min(bench_ms), min(bare_ms)
    print(f"{spec.name} x {det_spec.name}, {len(faces)} faces of {len(paths)} images, best of {args.repeats}:")
    print(
        f"facebench embedding stage {best_bench:.2f} ms/face; bare network (onnxruntime, batch {BATCH}) "
        f"{best_bare:.2f} ms/face; outside the network {best_bench - best_bare:.2f} ms/face"
    )
    parts = ", ".join(f"{name} {ms:.2f}" for name, ms in outside(recognizer, paths, faces, args.repeats).items())
    print(f"outside the network, part by part (ms/face, best of {args.repeats}): {parts}")


def bare(recognizer: Any, paths: list[Path], faces: list[tuple[int, Any]]) -> float:
    """ms/face of the recognizer's own onnxruntime session alone on the faces' graph inputs, at batch 32 (or the
    graph's fixed batch)."""
    from bench.data.images import decode

    feed = recognizer.network_input(np.stack([recognizer.crop(decode(paths[i]), face) for i, face in faces]))
    step, start = recognizer.fixed_batch or BATCH, time.perf_counter()
    for i in range(0, len(feed), step):
        recognizer.session.run(recognizer.outputs, {recognizer.input_name: feed[i : i + step]})
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
