"""Parity with DeepFace.verify on a real pair list, per combination and face-selection policy.

Two steps, each resumable:

``python benchmarks/parity.py deepface``  calls ``DeepFace.verify`` once per pair and combination (OpenCV on one
thread, ``enforce_detection=False``, ``align=True``, cosine) and appends each distance to ``--deepface-csv``
as soon as it is known, so an interrupted run resumes where it stopped. ``--multi-face-only`` limits it to the
pairs with an image where facebench's detection (the same detector) finds 2+ faces, where policies differ.

``python benchmarks/parity.py runtimes --models Facenet,Facenet-client --detectors opencv,yunet``  embeds the
faces of the pairs' images (``--face deepface``: every face) with each model into a fresh cache, one process, and
prints faces per second of the embedding stage (crop + network), per model and detector.

``python benchmarks/parity.py compare``  runs facebench's cached pipeline on the same pairs under every
face-selection policy and writes a Markdown table (``--out``): per combination and policy the largest per-pair
|distance - DeepFace's|, how many pairs differ by more than 1e-4, and the best-threshold accuracy on those very
pairs (DeepFace's published protocol) beside the same figure from DeepFace's own distances (only where DeepFace
scored the whole list).
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

COMBINATIONS = ("Dlib:opencv", "SFace:yunet", "Dlib:yunet", "Dlib:dlib", "SFace:opencv", "SFace:mtcnn")
POLICIES = ("deepface", "center", "largest", "confidence")
TOLERANCE = 1e-4
SHARED = REPO.parent / "shared"


def deepface_distance(
    a: Path, b: Path, model: str, detector: str, metric: str = "cosine", enforce_detection: bool = False
) -> float:
    """``DeepFace.verify``'s distance for one pair, called as DeepFace's benchmark notebook does (``align=True``):
    the one place facebench calls ``verify`` (the parity table, the speed benchmark's loop, the parity tests)."""
    from deepface import DeepFace

    _forget_detectors_built_from_other_files()
    result = DeepFace.verify(
        str(a),
        str(b),
        model_name=model,
        detector_backend=detector,
        distance_metric=metric,
        enforce_detection=enforce_detection,
        align=True,
        silent=True,
    )
    return float(result["distance"])


_STAGED: tuple[tuple[str, str], ...] = ()


def _forget_detectors_built_from_other_files() -> None:
    """Drop DeepFace's process-wide detector cache when the files in its weights folder changed since the last
    call: ``yunet`` and ``yunet-int8bq`` both reach DeepFace as ``face_detection_yunet_2023mar.onnx``, and
    DeepFace would otherwise keep detecting with the first file it loaded."""
    global _STAGED
    from deepface.modules import modeling

    folder = Path(os.environ.get("DEEPFACE_HOME", "") or Path.home()) / ".deepface" / "weights"
    staged = tuple(sorted((str(p), str(p.resolve())) for p in folder.rglob("*"))) if folder.is_dir() else ()
    if staged != _STAGED:
        getattr(modeling, "cached_models", {}).get("face_detector", {}).clear()
        _STAGED = staged


def _pairs(root: Path, pairs_file: Path, limit: int | None) -> tuple[object, object]:
    from bench import plugins, protocols
    from bench.data.datasets import restrict, scan

    dataset = scan(root, pairs_file=pairs_file)
    pairs = protocols.read_pairs(plugins.load().protocols, dataset, pairs_file)
    if limit is not None:
        from bench.data.datasets import Pairs

        keep = np.arange(min(limit, len(pairs)))
        pairs = Pairs(pairs.left[keep], pairs.right[keep], pairs.same[keep], None, pairs.source)
    return restrict(dataset, pairs)


def _done(path: Path) -> set[tuple[str, int]]:
    if not path.is_file():
        return set()
    with path.open() as handle:
        return {(row["combination"], int(row["pair"])) for row in csv.DictReader(handle)}


def _multi_face_pairs(args: argparse.Namespace, dataset: object, pairs: object, detector: str) -> np.ndarray:
    """Mask of the pairs with an image where facebench's (cached) detection found 2+ faces."""
    from bench import plugins
    from bench.compute.executors import LocalExecutor
    from bench.compute.pipeline import Pipeline
    from bench.compute.store import Store, default_cache_dir

    pipeline = Pipeline(Store(args.cache_dir or default_cache_dir()), args.weights, "whole", LocalExecutor(quiet=True))
    found = np.array([d.n_faces for d in pipeline.detect(dataset, plugins.load().detectors.get(detector))])
    return (found[pairs.left] > 1) | (found[pairs.right] > 1)


def run_deepface(args: argparse.Namespace) -> None:
    """DeepFace.verify per pair and combination, appended to the CSV (skipping what is already there)."""
    import cv2

    cv2.setNumThreads(1)  # DeepFace's Haar detection differs between calls with more OpenCV threads

    from bench import plugins
    from facebench_plugins.recognizers.deepface_common import stage_weights

    registry = plugins.load()
    dataset, pairs = _pairs(args.root, args.pairs, args.limit)
    done = _done(args.deepface_csv)
    new = not args.deepface_csv.is_file()
    args.deepface_csv.parent.mkdir(parents=True, exist_ok=True)
    with args.deepface_csv.open("a", newline="") as handle:
        writer = csv.writer(handle)
        if new:
            writer.writerow(["combination", "pair", "image_a", "image_b", "same", "distance"])
        for combination in args.combinations.split(","):
            model, detector = combination.split(":")
            wanted = _multi_face_pairs(args, dataset, pairs, detector) if args.multi_face_only else None
            for spec in (registry.recognizers.get(model), registry.detectors.get(detector)):  # after the detection
                stage_weights(spec.resolve_weights(args.weights))  # above, which may point DeepFace elsewhere
            start, count = time.perf_counter(), 0
            for k, (i, j) in enumerate(zip(pairs.left, pairs.right)):
                if (combination, k) in done or (wanted is not None and not wanted[k]):
                    continue
                a, b = dataset.images[i], dataset.images[j]
                distance = deepface_distance(a.path, b.path, model, detector)
                writer.writerow([combination, k, a.rel, b.rel, int(pairs.same[k]), repr(distance)])
                handle.flush()
                count += 1
            print(f"{combination}: {count} verify calls in {time.perf_counter() - start:.0f} s", flush=True)


def _deepface_rows(path: Path) -> dict[str, dict[int, float]]:
    """DeepFace's distance per combination and pair index."""
    rows: dict[str, dict[int, float]] = {}
    with path.open() as handle:
        for row in csv.DictReader(handle):
            rows.setdefault(row["combination"], {})[int(row["pair"])] = float(row["distance"])
    return rows


def _accuracy(distances: np.ndarray, same: np.ndarray) -> float:
    from bench.measure import kfold as protocol

    return protocol.best_threshold(distances, same, False)[1]


def run_compare(args: argparse.Namespace) -> None:
    """facebench under every policy against DeepFace's distances; writes the Markdown table."""
    from bench import plugins
    from bench.compute.executors import LocalExecutor
    from bench.compute.pipeline import Pipeline
    from bench.compute.store import Store, default_cache_dir
    from bench.compute.sweep import Sweep
    from bench.data.datasets import Pairs, restrict

    registry = plugins.load()
    cosine = registry.metrics.get("cosine")
    dataset, pairs = _pairs(args.root, args.pairs, args.limit)
    theirs_all = _deepface_rows(args.deepface_csv)
    store = Store(args.cache_dir or default_cache_dir())
    lines = [
        f"# Parity with DeepFace.verify: {args.pairs.name}, cosine, `--face POLICY`",
        "",
        (
            "DeepFace 0.0.103 `verify(enforce_detection=False, align=True)` per pair, OpenCV on one thread; "
            "facebench with `--on-no-face whole` from its cache. max |d|: largest per-pair |distance - DeepFace's|; "
            "over 1e-4: pairs differing by more; multi-face: pairs with an image where the detector found 2+ faces; "
            "accuracy: best threshold chosen on these same pairs (DeepFace's published protocol; optimistic)."
        ),
        "",
        "| combination | policy | pairs | multi-face | max \\|d\\| | over 1e-4 | accuracy | DeepFace's accuracy |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    outliers = []
    for combination in args.combinations.split(","):
        theirs = theirs_all.get(combination, {})
        if not theirs:
            continue
        model, detector = combination.split(":")
        index = np.array(sorted(theirs))
        reference = np.array([theirs[k] for k in index])
        listed = Pairs(pairs.left[index], pairs.right[index], pairs.same[index])
        images, compared = restrict(dataset, listed)  # only the images of the pairs DeepFace scored
        for policy in POLICIES:
            pipeline = Pipeline(
                store, args.weights, "whole", LocalExecutor(quiet=True), selector=registry.face_selectors.get(policy)
            )
            combo = next(
                Sweep(pipeline, [registry.detectors.get(detector)], [registry.recognizers.get(model)]).run(images)
            )
            ours = combo.pair_scores(cosine, compared.left, compared.right)
            delta = np.abs(ours - reference)
            multi = (combo.n_faces()[compared.left] > 1) | (combo.n_faces()[compared.right] > 1)
            over = delta > TOLERANCE
            same = pairs.same[index]
            full = len(index) == len(pairs)  # accuracy only over the whole list (a subset's is not DeepFace's figure)
            accuracies = f"{_accuracy(ours, same):.4f} | {_accuracy(reference, same):.4f}" if full else "- | -"
            lines.append(
                f"| {model} x {detector} | {policy} | {len(index)} | {int(multi.sum())} | {delta.max():.2e} "
                f"| {int(over.sum())} | {accuracies} |"
            )
            if policy == "deepface":
                outliers += [
                    f"- {combination} pair {k}: {dataset.images[pairs.left[k]].rel} vs "
                    f"{dataset.images[pairs.right[k]].rel}: ours {o:.6f}, DeepFace {r:.6f}"
                    for k, o, r in zip(index[over], ours[over], reference[over])
                ]
            print(lines[-1], flush=True)
    lines += [
        "",
        "Pairs over 1e-4 under `--face deepface`:" if outliers else "No pair over 1e-4 under `--face deepface`.",
        *outliers,
        "",
    ]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines))
    print(f"wrote {args.out}")


def run_runtimes(args: argparse.Namespace) -> None:
    """Faces per second of each model's embedding stage (crop + network), cold, on the pairs' images."""
    import tempfile

    from bench import plugins
    from bench.compute.executors import LocalExecutor
    from bench.compute.pipeline import Pipeline
    from bench.compute.store import Store
    from bench.compute.sweep import Sweep

    registry = plugins.load()
    dataset, _ = _pairs(args.root, args.pairs, args.limit)
    with tempfile.TemporaryDirectory(prefix="facebench-runtimes-") as folder:
        selector = registry.face_selectors.get("deepface")
        pipeline = Pipeline(Store(Path(folder)), args.weights, "whole", LocalExecutor(quiet=True), selector=selector)
        for detector in args.detectors.split(","):
            for model in args.models.split(","):
                next(
                    Sweep(pipeline, [registry.detectors.get(detector)], [registry.recognizers.get(model)]).run(dataset)
                )
                stats = pipeline.stats[f"embed:{model}@{detector}"]
                rate = stats.computed / stats.seconds if stats.seconds else float("nan")
                print(
                    f"{model} x {detector}: {stats.computed} faces, {stats.seconds:.1f} s, {rate:.1f} faces/s",
                    flush=True,
                )


def main() -> None:
    """Parse the command line and run a step."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("step", choices=["deepface", "runtimes", "compare"])
    parser.add_argument("--root", type=Path, default=SHARED / "data" / "lfw")
    parser.add_argument("--pairs", type=Path, default=SHARED / "data" / "lfw" / "pairsDevTest.txt")
    parser.add_argument("--weights", type=Path, default=Path(os.environ.get("BENCH_WEIGHTS_DIR", SHARED / "weights")))
    parser.add_argument("--combinations", default=",".join(COMBINATIONS), help="MODEL:DETECTOR comma list")
    parser.add_argument("--limit", type=int, help="only the first N pairs")
    parser.add_argument("--models", default="Facenet,Facenet-client", help="runtimes step: models to time")
    parser.add_argument("--detectors", default="opencv,yunet", help="runtimes step: detectors whose faces to embed")
    parser.add_argument(
        "--multi-face-only",
        action="store_true",
        help="deepface step: only the pairs with an image where the detector finds 2+ faces",
    )
    parser.add_argument("--deepface-csv", type=Path, default=REPO / "benchmarks" / "results" / "deepface_devtest.csv")
    parser.add_argument("--cache-dir", type=Path, help="facebench cache [default: the usual one]")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "parity.md")
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ["BENCH_WEIGHTS_DIR"] = str(args.weights)
    if args.step == "deepface":
        run_deepface(args)
    elif args.step == "runtimes":
        run_runtimes(args)
    else:
        run_compare(args)


if __name__ == "__main__":
    main()
