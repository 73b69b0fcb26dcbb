"""Speed and scale: DeepFace's per-pair loop vs the multi-core floor vs ``bench accuracy`` (cold, warm, jobs).

    python benchmarks/speed.py [--pairs-file FILE] [--pairs-limit N] [--deepface-pairs M] [--jobs J]
                               [--scaling 0.25,0.5] [--skip floor_1,bench_cold_jobs1] [--out FILE]

On an LFW pair list (default ``pairsDevTest.txt``, 1,000 pairs; ``pairs.txt`` for View 2) for the models x
detectors x metrics given (default Dlib,SFace x opencv,yunet x all 4 metrics) it measures, each in fresh Python
processes (so every figure includes interpreter start and imports; peak RSS is from ``wait4``):

1. ``deepface``: DeepFace's benchmark-notebook loop, ``DeepFace.verify(img1, img2, model, detector, metric,
   align=True, enforce_detection=False)`` per pair x metric x model x detector, one process (DeepFace has no
   parallel mode). Timed on a seeded subset of M pairs (every call timed; the relative standard error of the
   total says whether M was enough) after ``build_model`` of every model and detector and one untimed warm-up
   call per model x detector; the full pair list's wall time is extrapolated from the mean per call.
2. ``floor``: the least work that gives the same numbers: decode each unique image once per detector, detect,
   keep the largest face (else the whole image), crop for each model, one batched forward pass per face per
   model, with the same plugin objects ``bench`` uses; no cache, no hashing, no files. ``floor`` runs J processes
   at once on interleaved shards of the images, each with cores // J threads (the multi-core floor: total work
   over the cores); ``floor_1`` is one process with every core.
3. ``bench accuracy`` with an empty cache and ``--jobs J`` (cold), again with that cache (warm), and cold with
   ``--jobs 1`` into another empty cache, whose every cache file must equal the ``--jobs J`` one byte for byte.
4. scaling: ``bench accuracy`` cold (``--jobs J``) on seeded subsets of the pairs (``--scaling`` fractions) and
   the full list: images -> wall seconds.

The per-pair distances of (2) and (3 cold), and of (1) on its subset, are compared so they really do the same
work. Everything is written as JSON to ``--out``; a table with the ratios and targets is printed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # this checkout's bench/ and plugins/, not whatever is installed
    sys.path.insert(0, str(REPO))

METRICS = ("cosine", "euclidean", "euclidean_l2", "angular")
SKIPPABLE = ("floor_1", "bench_cold_jobs1")
TARGETS = {  # name: (numerator, denominator, comparison, bound)
    "deepface / bench_cold": ("deepface", "bench_cold", ">=", 12.0),
    "bench_cold / floor": ("bench_cold", "floor", "<=", 1.15),
    "bench_warm / bench_cold": ("bench_warm", "bench_cold", "<=", 0.02),
}


# --------------------------------------------------------------------------------------------------- pairs


def read_lfw_pairs(path: Path) -> list[tuple[str, str, bool]]:
    """``pairsDevTest.txt`` / ``pairs.txt`` rows as (relative path, relative path, same)."""
    rows = []
    for line in path.read_text().splitlines()[1:]:
        parts = line.split()
        if len(parts) == 3:
            rows.append(
                (
                    f"{parts[0]}/{parts[0]}_{int(parts[1]):04d}.jpg",
                    f"{parts[0]}/{parts[0]}_{int(parts[2]):04d}.jpg",
                    True,
                )
            )
        elif len(parts) == 4:
            rows.append(
                (
                    f"{parts[0]}/{parts[0]}_{int(parts[1]):04d}.jpg",
                    f"{parts[2]}/{parts[2]}_{int(parts[3]):04d}.jpg",
                    False,
                )
            )
    return rows


def choose_pairs(rows: list[tuple[str, str, bool]], limit: int | None, seed: int) -> list[tuple[str, str, bool]]:
    """All rows, or ``limit`` of them, half same and half different (seeded), kept in file order."""
    if limit is None or limit >= len(rows):
        return rows
    rng = random.Random(seed)
    same = [i for i, r in enumerate(rows) if r[2]]
    diff = [i for i, r in enumerate(rows) if not r[2]]
    n_same = min(len(same), (limit + 1) // 2)
    picked = rng.sample(same, n_same) + rng.sample(diff, min(len(diff), limit - n_same))
    return [rows[i] for i in sorted(picked)]


def write_pairs_csv(rows: list[tuple[str, str, bool]], path: Path) -> None:
    """The pair list ``bench accuracy --pairs`` reads (no fold column: 10 stratified folds, as for the .txt)."""
    lines = ["file_x,file_y,same"] + [f"{a},{b},{int(s)}" for a, b, s in rows]
    path.write_text("\n".join(lines) + "\n")


def unique_images(rows: list[tuple[str, str, bool]]) -> list[str]:
    """The images the pairs use, sorted (the order ``bench`` embeds them in)."""
    return sorted({p for a, b, _ in rows for p in (a, b)})


# ------------------------------------------------------------------------------------------ child processes


def run_measured(cmd: list[str], log: Path, env: dict[str, str]) -> dict[str, Any]:
    """Run ``cmd`` to completion; wall seconds, exit code and the process's own peak RSS (``wait4``)."""
    with log.open("wb") as handle:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=handle, stderr=subprocess.STDOUT, env=env, cwd=REPO)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    return {
        "wall_s": round(wall, 3),
        "returncode": proc.returncode,
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),  # Linux: KiB
        "cpu_user_s": round(usage.ru_utime, 2),
        "cpu_sys_s": round(usage.ru_stime, 2),
        "log": str(log),
    }


def child_env(weights_dir: Path, cache_dir: Path | None = None) -> dict[str, str]:
    """Environment for a measured process: this checkout first on the path, quiet TensorFlow."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), *filter(None, [env.get("PYTHONPATH")])])
    env["BENCH_WEIGHTS_DIR"] = str(weights_dir)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    env.pop("BENCH_PLUGINS_DIR", None)
    if cache_dir is not None:
        env["BENCH_CACHE_DIR"] = str(cache_dir)
    return env


def _stage_deepface_weights(registry: Any, models: list[str], detectors: list[str], weights_dir: Path) -> None:
    """Give DeepFace the same weight files the plugins use (int8 builds included) under its own names."""
    from facebench_plugins.recognizers.deepface_common import stage_weights

    for spec in [*(registry.recognizers.get(m) for m in models), *(registry.detectors.get(d) for d in detectors)]:
        stage_weights(spec.resolve_weights(weights_dir))


def child_deepface(cfg: dict[str, Any]) -> dict[str, Any]:
    """(1) DeepFace.verify per pair x metric x model x detector on the timed subset."""
    t0 = time.perf_counter()
    import deepface  # noqa: F401  (timed: importing DeepFace is part of its cost)
    from deepface.modules import modeling

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script: the repo root
    from bench import plugins
    from benchmarks.parity import deepface_distance

    registry = plugins.load()
    weights_dir = Path(cfg["weights_dir"])
    _stage_deepface_weights(registry, cfg["models"], cfg["detectors"], weights_dir)
    import_s = time.perf_counter() - t0

    load: dict[str, float] = {}
    for model in cfg["models"]:
        start = time.perf_counter()
        modeling.build_model(task="facial_recognition", model_name=model)
        load[f"model:{model}"] = round(time.perf_counter() - start, 3)
    for det in cfg["detectors"]:
        start = time.perf_counter()
        modeling.build_model(task="face_detector", model_name=det)
        load[f"detector:{det}"] = round(time.perf_counter() - start, 3)

    root = Path(cfg["lfw_dir"])
    subset = cfg["deepface_pairs"]  # list of (index in the pair list, a, b)
    warmup: dict[str, float] = {}
    combos = []
    for model in cfg["models"]:
        for det in cfg["detectors"]:
            _, a, b = subset[0]
            start = time.perf_counter()
            deepface_distance(root / a, root / b, model, det)
            warmup[f"{model}/{det}"] = round(time.perf_counter() - start, 3)
            for metric in cfg["metrics"]:
                seconds, dists = [], []
                for _, a, b in subset:
                    start = time.perf_counter()
                    distance = deepface_distance(root / a, root / b, model, det, metric)
                    seconds.append(time.perf_counter() - start)
                    dists.append(distance)
                combos.append(
                    {
                        "model": model,
                        "detector": det,
                        "metric": metric,
                        "calls": len(seconds),
                        "seconds": round(sum(seconds), 4),
                        "call_s": [round(x, 5) for x in seconds],
                        "mean_call_s": round(sum(seconds) / len(seconds), 5),
                        "pairs": [i for i, _, _ in subset],
                        "distances": dists,
                    }
                )
    return {"import_s": round(import_s, 3), "load_s": load, "warmup_call_s": warmup, "combos": combos}


def child_floor(cfg: dict[str, Any]) -> dict[str, Any]:
    """(2) on this shard of the images: decode once per detector, detect, crop, one batched forward pass per face
    per model. Nothing else. Embeddings go to ``cfg["vectors_dir"]`` as ``<model>__<detector>.npy``."""
    t0 = time.perf_counter()
    from bench.compute import runtime

    runtime.limit(cfg["threads"])  # before any framework loads, as the executor's workers do
    import numpy as np

    from bench import plugins
    from bench.data.faces import Face, screen
    from bench.data.images import decode

    registry = plugins.load()
    selector = registry.face_selectors.get(cfg["face"])  # single-face policies: the pipeline's choice
    weights_dir = Path(cfg["weights_dir"])
    import_s = time.perf_counter() - t0

    load: dict[str, float] = {}
    detectors, models = {}, {}
    for name in cfg["detectors"]:
        start = time.perf_counter()
        detectors[name] = (registry.detectors.get(name), registry.detectors.get(name).build(weights_dir))
        load[f"detector:{name}"] = round(time.perf_counter() - start, 3)
    for name in cfg["models"]:
        start = time.perf_counter()
        spec = registry.recognizers.get(name)
        models[name] = (spec, spec.build(weights_dir))
        load[f"model:{name}"] = round(time.perf_counter() - start, 3)

    root = Path(cfg["lfw_dir"])
    images = cfg["images"]
    stage = {"decode_s": 0.0, "detect_s": 0.0, "crop_s": 0.0, "embed_s": 0.0}
    multi_face: dict[str, list[str]] = {name: [] for name in detectors}  # images with several faces
    failures = 0
    out_dir = Path(cfg["vectors_dir"])
    for det_name, (det_spec, detector) in detectors.items():
        thresholds = (det_spec.settings.get("min_confidence", 0.0), det_spec.settings.get("min_face_size", 0))
        out = {m: np.full((len(images), spec.dim), np.nan, dtype=np.float32) for m, (spec, _) in models.items()}
        pending: dict[str, tuple[list[int], list[np.ndarray]]] = {m: ([], []) for m in models}

        def flush(name: str, out: dict[str, np.ndarray] = out, pending: dict = pending) -> None:
            rows, crops = pending[name]
            if rows:
                start = time.perf_counter()
                out[name][rows] = models[name][1].embed(np.stack(crops))
                stage["embed_s"] += time.perf_counter() - start
            pending[name] = ([], [])

        for i, rel in enumerate(images):
            start = time.perf_counter()
            image = decode(root / rel)
            mid = time.perf_counter()
            faces = detector.detect(image)
            kept, _ = screen(faces, image.shape[0], image.shape[1], *thresholds)  # as the pipeline screens
            used = selector.used(kept, image.shape[0], image.shape[1])
            face = kept[used[0]] if used else Face.whole(image.shape[0], image.shape[1])  # policy "whole"
            end = time.perf_counter()
            if len(faces) > 1:
                multi_face[det_name].append(rel)
            stage["decode_s"] += mid - start
            stage["detect_s"] += end - mid
            for name, (spec, recognizer) in models.items():
                start = time.perf_counter()
                try:
                    crop = recognizer.crop(image, face)
                except Exception:  # the pipeline records these; here they are only counted
                    failures += 1
                    continue
                finally:
                    stage["crop_s"] += time.perf_counter() - start
                pending[name][0].append(i)
                pending[name][1].append(crop)
                if len(pending[name][0]) >= spec.batch_size:
                    flush(name)
        for name in models:
            flush(name)
        for name in models:
            np.save(out_dir / f"{name}__{det_name}.npy", out[name])
    compute_s = time.perf_counter() - t0 - import_s - sum(load.values())
    return {
        "import_s": round(import_s, 3),
        "load_s": load,
        "compute_s": round(compute_s, 3),
        "stages_s": {k: round(v, 3) for k, v in stage.items()},
        "crop_failures": failures,
        "n_images": len(images),
        "multi_face_images": multi_face,
    }


def floor_distances(shards: list[tuple[list[str], Path]], cfg: dict[str, Any]) -> dict[str, list[float]]:
    """Per model/detector/metric, the distance of every pair, from the shards' embeddings."""
    import numpy as np

    from facebench_plugins.measures.distances import METRICS as metric_objects

    by_name = {m.name: m for m in metric_objects}
    images = cfg["images"]
    index = {rel: i for i, rel in enumerate(images)}
    left = np.array([index[a] for a, _, _ in cfg["pairs"]])
    right = np.array([index[b] for _, b, _ in cfg["pairs"]])
    distances = {}
    for model in cfg["models"]:
        for det in cfg["detectors"]:
            parts = [(names, np.load(folder / f"{model}__{det}.npy")) for names, folder in shards]
            vectors = np.full((len(images), parts[0][1].shape[1]), np.nan, dtype=np.float32)
            for names, part in parts:
                vectors[[index[n] for n in names]] = part
            for metric in cfg["metrics"]:
                distances[f"{model}/{det}/{metric}"] = [float(x) for x in by_name[metric].pairs(vectors, left, right)]
    return distances


def child_main(kind: str, cfg_path: str, out_path: str) -> None:
    """Entry point of a measured child process."""
    cfg = json.loads(Path(cfg_path).read_text())
    result = {"deepface": child_deepface, "floor": child_floor}[kind](cfg)
    Path(out_path).write_text(json.dumps(result))


# ------------------------------------------------------------------------------------------- measurements


def measure_child(kind: str, cfg: dict[str, Any], work: Path, weights_dir: Path) -> dict[str, Any]:
    """Run (1) in a fresh process; its wall time, peak RSS and what it reported."""
    cfg_path, out_path = work / f"{kind}.config.json", work / f"{kind}.result.json"
    cfg_path.write_text(json.dumps(cfg))
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", kind, str(cfg_path), str(out_path)]
    run = run_measured(cmd, work / f"{kind}.log", child_env(weights_dir))
    if run["returncode"] != 0 or not out_path.is_file():
        raise SystemExit(f"{kind} measurement failed (exit {run['returncode']}); see {run['log']}")
    return {**run, **json.loads(out_path.read_text())}


def measure_floor(label: str, cfg: dict[str, Any], work: Path, jobs: int, cores: int) -> dict[str, Any]:
    """(2) as ``jobs`` processes started together on interleaved shards, ``cores // jobs`` threads each: the wall
    time until the last one ends, CPU summed, peak RSS summed (they run at the same time; an upper bound)."""
    env = child_env(Path(cfg["weights_dir"]))
    procs, shards = [], []
    start = time.perf_counter()
    for k in range(jobs):
        folder = work / f"{label}-{k}"
        folder.mkdir(parents=True, exist_ok=True)
        names = cfg["images"][k::jobs]
        shard_cfg = {**cfg, "images": names, "threads": max(1, cores // jobs), "vectors_dir": str(folder)}
        (folder / "config.json").write_text(json.dumps(shard_cfg))
        cmd = [
            sys.executable,
            str(Path(__file__).resolve()),
            "--child",
            "floor",
            str(folder / "config.json"),
            str(folder / "result.json"),
        ]
        log = (folder / "log").open("wb")
        procs.append((subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=REPO), log))
        shards.append((names, folder))
    usages = []
    for proc, log in procs:
        _, status, usage = os.wait4(proc.pid, 0)
        log.close()
        if os.waitstatus_to_exitcode(status) != 0:
            raise SystemExit(f"{label} shard failed; see {work}/{label}-*/log")
        usages.append(usage)
    wall = time.perf_counter() - start
    results = [json.loads((folder / "result.json").read_text()) for _, folder in shards]
    multi = {d: sorted(n for r in results for n in r["multi_face_images"][d]) for d in cfg["detectors"]}
    return {
        "wall_s": round(wall, 3),
        "jobs": jobs,
        "threads_per_process": max(1, cores // jobs),
        "peak_rss_mb": round(sum(u.ru_maxrss for u in usages) / 1024, 1),
        "cpu_user_s": round(sum(u.ru_utime for u in usages), 2),
        "cpu_sys_s": round(sum(u.ru_stime for u in usages), 2),
        "import_s": max(r["import_s"] for r in results),
        "load_s": {k: max(r["load_s"][k] for r in results) for k in results[0]["load_s"]},
        "compute_s": max(r["compute_s"] for r in results),
        "stages_s": {k: round(sum(r["stages_s"][k] for r in results), 3) for k in results[0]["stages_s"]},
        "crop_failures": sum(r["crop_failures"] for r in results),
        "n_images": len(cfg["images"]),
        "multi_face_images": multi,
        "distances": floor_distances(shards, cfg),
    }


def measure_bench(
    label: str, pairs_csv: Path, cfg: dict[str, Any], work: Path, cache: Path, jobs: int
) -> dict[str, Any]:
    """(3) ``bench accuracy --jobs J`` in a fresh process with the given cache; wall, RSS, its manifest's timings."""
    out_dir = work / "results"
    cmd = [
        sys.executable,
        "-c",
        "from bench.interface.cli import main; main()",
        "-q",
        "accuracy",
        "--i",
        cfg["lfw_dir"],
        "--pairs",
        str(pairs_csv),
        "--model",
        ",".join(cfg["models"]),
        "--backend",
        ",".join(cfg["detectors"]),
        "--metric",
        ",".join(cfg["metrics"]),
        "--o",
        str(out_dir),
        "--run-id",
        label,
        "--jobs",
        str(jobs),
        "--face",
        cfg["face"],
    ]
    run = run_measured(cmd, work / f"{label}.log", child_env(Path(cfg["weights_dir"]), cache))
    if run["returncode"] != 0:
        raise SystemExit(f"bench accuracy ({label}) failed (exit {run['returncode']}); see {run['log']}")
    manifest = json.loads((out_dir / label / "manifest.json").read_text())
    return {
        **run,
        "command": cmd[3:],
        "run_dir": str(out_dir / label),
        "jobs": jobs,
        "manifest_wall_s": manifest.get("wall_seconds"),
        "stage_timings": manifest.get("timings", {}),
    }


def same_bytes(cache_a: Path, cache_b: Path) -> dict[str, Any]:
    """Whether two caches hold the same results with the same bytes (:meth:`Store.results`: detection files and
    embedding entries, however packed; timing records are measurements), and which differ. ``files``: how many
    results the first holds."""
    from bench.compute.store import Store

    a, b = Store(cache_a).results(), Store(cache_b).results()
    differ = sorted(k for k in a.keys() & b.keys() if a[k] != b[k])
    only = sorted(a.keys() ^ b.keys())
    return {"identical": not differ and not only, "files": len(a), "differ": differ[:10], "only_in_one": only[:10]}


def bench_distances(run_dir: Path) -> dict[str, dict[int, float]]:
    """``scores.csv`` (subset "all") as {model/detector/metric: {pair index: score}}."""
    import csv

    found: dict[str, dict[int, float]] = {}
    with (run_dir / "scores.csv").open(newline="") as handle:
        for row in csv.DictReader(handle):
            if row.get("subset", "all") != "all":
                continue
            key = f"{row['model']}/{row['detector']}/{row['metric']}"
            found.setdefault(key, {})[int(row["pair"])] = float(row["score"])
    return found


def max_abs_diff(a: dict[int, float], b: dict[int, float]) -> tuple[float, int]:
    """Largest |a - b| over the pairs both have, and how many pairs only one of them has."""
    shared = [k for k in a if k in b and a[k] == a[k] and b[k] == b[k]]  # skip NaN
    diff = max((abs(a[k] - b[k]) for k in shared), default=0.0)
    missing = len(set(a) ^ set(b))
    return diff, missing


def parity(
    floor: dict[str, Any], deepface: dict[str, Any] | None, cold_dir: Path, rows: list[tuple[str, str, bool]]
) -> dict[str, Any]:
    """How closely the three measurements' distances agree (they must be doing the same work).

    The floor must equal ``bench`` exactly (same code path). DeepFace.verify agrees to 1e-4 except on pairs
    where an image has several faces: DeepFace keeps the closest pair of faces, facebench the largest face.
    """
    ours = bench_distances(cold_dir)
    floor_diff = {}
    for key, values in floor["distances"].items():
        diff, missing = max_abs_diff(dict(enumerate(values)), ours.get(key, {}))
        floor_diff[key] = {"max_abs_diff": diff, "pairs_in_only_one": missing}
    checked = agree = explained = 0
    unexplained: list[dict[str, Any]] = []
    for combo in (deepface or {}).get("combos", []):
        key = f"{combo['model']}/{combo['detector']}/{combo['metric']}"
        multi = set(floor["multi_face_images"].get(combo["detector"], []))
        for pair, theirs in zip(combo["pairs"], combo["distances"]):
            mine = ours.get(key, {}).get(pair)
            checked += 1
            if mine is not None and abs(mine - theirs) <= 1e-4:
                agree += 1
            elif {rows[pair][0], rows[pair][1]} & multi:
                explained += 1
            else:
                unexplained.append({"combo": key, "pair": pair, "deepface": theirs, "bench": mine})
    return {
        "floor_vs_bench_max_abs_diff": max((v["max_abs_diff"] for v in floor_diff.values()), default=0.0),
        "floor_vs_bench": floor_diff,
        "deepface_vs_bench": {
            "distances_checked": checked,
            "within_1e-4": agree,
            "differ_on_multi_face_images": explained,
            "differ_unexplained": unexplained,
        },
    }


def extrapolate(deepface: dict[str, Any], n_pairs: int) -> dict[str, Any]:
    """Wall time of the full DeepFace loop: mean seconds per call of each combination x the full pair count, and
    the relative standard error of that estimate (from the spread of the timed calls)."""
    import statistics

    total = sum(c["mean_call_s"] * n_pairs for c in deepface["combos"])
    variance = sum(
        n_pairs**2 * statistics.variance(c["call_s"]) / c["calls"]
        for c in deepface["combos"]
        if len(c.get("call_s", ())) > 1
    )
    timed = sum(c["seconds"] for c in deepface["combos"])
    calls = sum(c["calls"] for c in deepface["combos"])
    return {
        "extrapolated": True,
        "timed_pairs": deepface["combos"][0]["calls"] if deepface["combos"] else 0,
        "timed_calls": calls,
        "timed_s": round(timed, 3),
        "full_calls": n_pairs * len(deepface["combos"]),
        "full_calls_wall_s": round(total, 2),
        "relative_standard_error": round(variance**0.5 / total, 4) if total else None,
        "load_s": round(sum(deepface["load_s"].values()), 3),
        # what one process running the full loop would take: start + imports + loads + every call
        "wall_s": round(total + deepface["import_s"] + sum(deepface["load_s"].values()), 2),
    }


# ---------------------------------------------------------------------------------------------- reporting


def ratios(walls: dict[str, float | None]) -> dict[str, Any]:
    """Each target ratio, its value and whether it is met."""
    found = {}
    for name, (num, den, op, bound) in TARGETS.items():
        a, b = walls.get(num), walls.get(den)
        value = a / b if a is not None and b else None
        ok = None if value is None else (value >= bound if op == ">=" else value <= bound)
        found[name] = {"value": None if value is None else round(value, 4), "target": f"{op} {bound}", "met": ok}
    return found


def work_counts(n_pairs: int, n_images: int, models: list[str], detectors: list[str], metrics: list[str]) -> dict:
    """Detections and forward passes each approach performs: why (1)/(2) has a ceiling on a given pair list."""
    calls = n_pairs * len(models) * len(detectors) * len(metrics)
    return {
        "deepface_verify_calls": calls,
        "deepface_detections": 2 * calls,
        "deepface_forward_passes": 2 * calls,
        "floor_detections": n_images * len(detectors),
        "floor_forward_passes": n_images * len(detectors) * len(models),
        "detection_ratio": round(2 * calls / (n_images * len(detectors)), 2),
        "forward_pass_ratio": round(2 * calls / (n_images * len(detectors) * len(models)), 2),
    }


def _cpu(run: dict[str, Any]) -> float:
    return round(run["cpu_user_s"] + run["cpu_sys_s"], 2)


def table(result: dict[str, Any]) -> str:
    """The printed summary."""
    m = result["measurements"]
    n = result["config"]["n_pairs"]
    cfg, machine = result["config"], result["machine"]
    jobs = cfg["jobs"]
    lines = [
        (
            f"LFW {Path(cfg['pairs_file']).name}: {n} pairs, {cfg['n_images']} unique images; models "
            f"{','.join(cfg['models'])} x detectors {','.join(cfg['detectors'])} x metrics {','.join(cfg['metrics'])}"
        ),
        (
            f"machine: {machine['cpus']} CPUs, load average {machine['loadavg_start']} at start, "
            f"{machine['loadavg_end']} at end; J = {jobs} jobs"
        ),
        "",
        f"{'measurement':<46}{'wall s':>10}{'CPU s':>9}{'peak RSS MB':>13}  notes",
    ]
    rows: list[tuple[str, float, float | None, float, str]] = []
    if "deepface" in m:
        d = m["deepface"]
        e = d["extrapolation"]
        note = (
            f"{e['timed_calls']} calls on {e['timed_pairs']} pairs took {e['timed_s']} s -> "
            f"{e['full_calls']} calls (relative standard error {e['relative_standard_error']}); import "
            f"{d['import_s']} s + load {e['load_s']} s included"
        )
        rows.append(("(1) DeepFace.verify loop  [EXTRAPOLATED]", e["wall_s"], None, d["peak_rss_mb"], note))
    for key, label in (("floor_1", "(2) floor, 1 process, all cores"), ("floor", f"(2) floor, {jobs} processes")):
        if key not in m:
            continue
        f = m[key]
        note = (
            f"import {f['import_s']} s, load {round(sum(f['load_s'].values()), 2)} s, compute {f['compute_s']} s "
            f"({', '.join(f'{k} {v}' for k, v in f['stages_s'].items())})"
        )
        rows.append((label, f["wall_s"], _cpu(f), f["peak_rss_mb"], note))
    for key, label in (
        ("bench_cold", f"(3) bench accuracy --jobs {jobs}, cold"),
        ("bench_warm", f"(3) bench accuracy --jobs {jobs}, warm"),
        ("bench_cold_jobs1", "(3) bench accuracy --jobs 1, cold"),
    ):
        if key not in m:
            continue
        b = m[key]
        rows.append((label, b["wall_s"], _cpu(b), b["peak_rss_mb"], f"manifest wall {b['manifest_wall_s']} s"))
    for label, wall, cpu, rss, note in rows:
        cpu_text = "-" if cpu is None else f"{cpu:.2f}"
        lines.append(f"{label:<46}{wall:>10.2f}{cpu_text:>9}{rss:>13.1f}  {note}")
    lines += ["", f"{'ratio':<30}{'value':>10}  {'target':<8}  met"]
    for name, r in result["ratios"].items():
        value = "n/a" if r["value"] is None else f"{r['value']:.3f}"
        met = "n/a" if r["met"] is None else ("yes" if r["met"] else "NO")
        lines.append(f"{name:<30}{value:>10}  {r['target']:<8}  {met}")
    same = result.get("jobs_identical")
    if same is not None:
        lines.append(
            f"{f'--jobs {jobs} == --jobs 1':<30}{same['identical']!s:>10}  bytes    "
            f"{'yes' if same['identical'] else 'NO'}  ({same['files']} cache files, scores.csv "
            f"{'equal' if result['scores_identical'] else 'DIFFERENT'})"
        )
    for name, value in result["ratios_info"].items():
        if value is not None:
            lines.append(f"{name:<30}{value:>10.3f}")
    if "deepface" in m:
        w = result["work"]
        lines.append(
            f"(DeepFace does {w['detection_ratio']}x the detections and {w['forward_pass_ratio']}x the "
            "forward passes of the floor on this pair list, in one process)"
        )
    p = result["parity"]
    lines += ["", f"same work: floor vs bench, largest |distance difference| {p['floor_vs_bench_max_abs_diff']:.2e}"]
    d = p["deepface_vs_bench"]
    if d["distances_checked"]:
        lines.append(
            f"           DeepFace.verify vs bench: {d['within_1e-4']}/{d['distances_checked']} within "
            f"1e-4; {d['differ_on_multi_face_images']} differ on images with several faces (DeepFace keeps "
            f"the closest face pair, facebench the largest face); {len(d['differ_unexplained'])} unexplained"
        )
    lines += ["", f"scaling (bench accuracy --jobs {jobs}, cold): {'pairs':>8}{'images':>8}{'wall s':>9}{'s/image':>9}"]
    for point in result["scaling"]:
        lines.append(
            f"{'':<45}{point['pairs']:>8}{point['images']:>8}{point['wall_s']:>9.2f}"
            f"{point['wall_s'] / point['images']:>9.4f}"
        )
    lines.append(
        f"peak RSS of bench accuracy --jobs {jobs} (cold; the largest of its processes, wait4): "
        f"{m['bench_cold']['peak_rss_mb']:.0f} MB"
    )
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------------- driver


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    shared = Path(os.environ.get("FACEBENCH_SHARED", REPO.parent / "shared"))
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pairs-limit", type=int, help="use N pairs (seeded, half same) [default: all]")
    parser.add_argument(
        "--deepface-pairs",
        type=int,
        default=100,
        help="pairs timed in the DeepFace loop, then extrapolated [default: 100]; 0 skips it",
    )
    parser.add_argument(
        "--jobs",
        type=int,
        default=os.cpu_count() or 1,
        help="J: bench's --jobs and the floor's processes [default: one per CPU]",
    )
    parser.add_argument(
        "--scaling",
        default="0.25,0.5",
        help="fractions of the pairs for extra cold runs (scaling table) [default: 0.25,0.5]; '' none",
    )
    parser.add_argument("--out", type=Path, help="JSON results [default: results/speed-<timestamp>.json]")
    parser.add_argument("--lfw-dir", type=Path, default=Path(os.environ.get("FACEBENCH_DATA", shared / "data")) / "lfw")
    parser.add_argument("--pairs-file", type=Path, help="LFW-format pairs [default: LFW_DIR/pairsDevTest.txt]")
    parser.add_argument(
        "--weights-dir", type=Path, default=Path(os.environ.get("BENCH_WEIGHTS_DIR") or shared / "weights")
    )
    parser.add_argument("--models", default="Dlib,SFace")
    parser.add_argument("--detectors", default="opencv,yunet")
    parser.add_argument("--metrics", default=",".join(METRICS))
    parser.add_argument(
        "--face",
        default="largest",
        help="bench's --face (a single-face policy; the floor applies the same) [default: largest]",
    )
    parser.add_argument(
        "--skip",
        default="",
        help=f"measurements to leave out, comma-separated, of {','.join(SKIPPABLE)} (e.g. on View 2) [default: none]",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--work-dir", type=Path, help="scratch folder (cache, run folders, logs) [default: a temp dir]")
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder")
    return parser.parse_args(argv)


def scaling_points(rows: list[tuple[str, str, bool]], fractions: list[float], seed: int) -> list[list[tuple]]:
    """Seeded pair subsets for the scaling table (at least 10 pairs each), smallest first, the full list last."""
    sizes = sorted({max(10, round(f * len(rows))) for f in fractions if 0 < f < 1} - {len(rows)})
    return [choose_pairs(rows, size, seed) for size in sizes] + [rows]


def main(argv: list[str] | None = None) -> int:
    """Measure, print the table, write the JSON."""
    args = parse_args(argv)
    if args.pairs_limit is not None and args.pairs_limit < 10:
        raise SystemExit("--pairs-limit must be at least 10 (bench accuracy scores 10 folds)")
    pairs_file = args.pairs_file or args.lfw_dir / "pairsDevTest.txt"
    rows = choose_pairs(read_lfw_pairs(pairs_file), args.pairs_limit, args.seed)
    images = unique_images(rows)
    models, detectors = args.models.split(","), args.detectors.split(",")
    metrics = args.metrics.split(",")
    jobs, cores = max(1, args.jobs), os.cpu_count() or 1
    work = args.work_dir or Path(tempfile.mkdtemp(prefix="facebench-speed-"))
    work.mkdir(parents=True, exist_ok=True)
    if any(work.iterdir()):
        raise SystemExit(f"{work} is not empty; give an empty --work-dir")
    pairs_csv = work / "pairs.csv"
    write_pairs_csv(rows, pairs_csv)

    m = max(0, min(args.deepface_pairs, len(rows)))
    subset = sorted(random.Random(args.seed).sample(range(len(rows)), m))
    cfg = {
        "lfw_dir": str(args.lfw_dir),
        "weights_dir": str(args.weights_dir.resolve()),
        "models": models,
        "detectors": detectors,
        "metrics": metrics,
        "images": images,
        "pairs": rows,
        "face": args.face,
        "deepface_pairs": [(i, rows[i][0], rows[i][1]) for i in subset],
    }

    for rel in images:  # same page-cache state for every measurement: all images read once beforehand
        (args.lfw_dir / rel).read_bytes()

    result: dict[str, Any] = {
        "started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "argv": sys.argv,
        "config": {
            "pairs_file": str(pairs_file),
            "n_pairs": len(rows),
            "n_images": len(images),
            "pairs_limit": args.pairs_limit,
            "seed": args.seed,
            "models": models,
            "detectors": detectors,
            "metrics": metrics,
            "deepface_pairs": m,
            "jobs": jobs,
            "face": args.face,
            "work_dir": str(work),
            "python": sys.executable,
        },
        "machine": {"cpus": cores, "loadavg_start": [round(x, 2) for x in os.getloadavg()]},
        "measurements": {},
    }
    meas = result["measurements"]

    def say(text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    say(f"work folder {work}; {len(rows)} pairs, {len(images)} images, J = {jobs}")
    skip = {name.strip() for name in args.skip.split(",") if name.strip()}
    if unknown := sorted(skip - set(SKIPPABLE)):
        raise SystemExit(f"--skip: unknown {','.join(unknown)}; choose from {','.join(SKIPPABLE)}")
    for key, n_jobs in (("floor_1", 1), ("floor", jobs)):
        if key in skip:
            continue
        say(f"(2) {key}: floor in {n_jobs} process(es) ...")
        meas[key] = measure_floor(key, cfg, work, n_jobs, cores)
        say(f"    {meas[key]['wall_s']} s")
    for key, cache, n_jobs in (
        ("bench_cold", "cache", jobs),
        ("bench_warm", "cache", jobs),
        ("bench_cold_jobs1", "cache-jobs1", 1),
    ):
        if key in skip:
            continue
        say(f"(3) {key} ...")
        meas[key] = measure_bench(key, pairs_csv, cfg, work, work / cache, n_jobs)
        say(f"    {meas[key]['wall_s']} s")
    if "bench_cold_jobs1" in meas:
        result["jobs_identical"] = same_bytes(work / "cache", work / "cache-jobs1")
        result["scores_identical"] = (
            Path(meas["bench_cold"]["run_dir"], "scores.csv").read_bytes()
            == Path(meas["bench_cold_jobs1"]["run_dir"], "scores.csv").read_bytes()
        )
    points = scaling_points(rows, [float(f) for f in args.scaling.split(",") if f.strip()], args.seed)
    result["scaling"] = []
    for k, part in enumerate(points[:-1]):
        say(f"(4) scaling: {len(part)} pairs ...")
        part_csv = work / f"pairs-{len(part)}.csv"
        write_pairs_csv(part, part_csv)
        run = measure_bench(f"scaling-{len(part)}", part_csv, cfg, work, work / f"cache-scaling-{k}", jobs)
        result["scaling"].append({"pairs": len(part), "images": len(unique_images(part)), "wall_s": run["wall_s"]})
    result["scaling"].append({"pairs": len(rows), "images": len(images), "wall_s": meas["bench_cold"]["wall_s"]})
    if m:
        say(f"(1) DeepFace.verify loop on {m} pairs x {len(metrics) * len(models) * len(detectors)} combinations ...")
        meas["deepface"] = measure_child("deepface", cfg, work, args.weights_dir)
        meas["deepface"]["extrapolation"] = extrapolate(meas["deepface"], len(rows))
        say(f"    {meas['deepface']['wall_s']} s for the subset")

    result["machine"]["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    result["parity"] = parity(meas["floor"], meas.get("deepface"), Path(meas["bench_cold"]["run_dir"]), rows)
    if "floor_1" in meas:
        floor_1 = parity(
            {"distances": meas["floor_1"]["distances"], "multi_face_images": {}},
            None,
            Path(meas["bench_cold"]["run_dir"]),
            rows,
        )
        result["parity"]["floor_1_vs_bench_max_abs_diff"] = floor_1["floor_vs_bench_max_abs_diff"]
    walls = {
        "floor": meas["floor"]["wall_s"],
        "bench_cold": meas["bench_cold"]["wall_s"],
        "bench_warm": meas["bench_warm"]["wall_s"],
        "deepface": meas["deepface"]["extrapolation"]["wall_s"] if "deepface" in meas else None,
    }
    result["walls_s"] = walls
    result["ratios"] = ratios(walls)
    result["work"] = work_counts(len(rows), len(images), models, detectors, metrics)
    result["peak_rss_bench_accuracy_mb"] = {
        "images": len(images),
        "models": models,
        "detectors": detectors,
        "cold": meas["bench_cold"]["peak_rss_mb"],
        "warm": meas["bench_warm"]["peak_rss_mb"],
    }
    result["ratios_info"] = {
        "bench_cold_jobs1 / bench_cold": (
            round(meas["bench_cold_jobs1"]["wall_s"] / meas["bench_cold"]["wall_s"], 4)
            if "bench_cold_jobs1" in meas
            else None
        ),
        "floor_1 / floor": round(meas["floor_1"]["wall_s"] / meas["floor"]["wall_s"], 4) if "floor_1" in meas else None,
        "cpu bench_cold / floor": round(_cpu(meas["bench_cold"]) / _cpu(meas["floor"]), 4),
        "deepface / floor": round(walls["deepface"] / walls["floor"], 4) if walls["deepface"] else None,
    }
    for key in ("floor", "floor_1"):
        meas.get(key, {}).pop("distances", None)  # large; the parity summary keeps what matters
    for combo in meas.get("deepface", {}).get("combos", []):
        combo.pop("distances")

    out = args.out or REPO / "results" / f"speed-{dt.datetime.now().strftime('%Y%m%d-%H%M%S')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(table(result))
    print(f"\nJSON: {out}")
    if not args.keep and args.work_dir is None:
        shutil.rmtree(work, ignore_errors=True)
    else:
        print(f"scratch kept: {work}")
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--child":
        child_main(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        sys.exit(main())
