"""1:N at scale, MegaFace style: LFW's enrolled identities plus up to a million distractors, 10,000 probes.

Real embeddings of LFW (any cached detector x model; computed if missing) give the gallery (one image per identity
with two or more embedded images, seeded as ``bench identify`` splits) and the probes (that identity's other images,
plus images of single-image identities as non-mated probes), 10,000 in all. Distractors are drawn from a seeded
Gaussian fitted to the real embeddings' mean and covariance, L2-normalised (synthetic, not faces: they are easier
to reject than real distractor faces, so these figures are an upper bound). For each distractor count, exact top-k
by :func:`bench.measure.topk.top_k` (float32 BLAS in blocks), rank-k and TPIR at FPIR; with ``--faiss`` also an
IVF index (faiss-cpu) and its recall@1 against the exact search.

    python benchmarks/scale_identify.py --model SFace --detector yunet --distractors 10000,100000,1000000
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import resource
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench import plugins
from bench.compute.executors import LocalExecutor
from bench.compute.pipeline import Pipeline
from bench.compute.store import Store, default_cache_dir
from bench.compute.weights import default_weights_dir
from bench.data.datasets import scan
from bench.measure.gallery import FPIRS, split, tpir_at_fpir
from bench.measure.topk import mate_ranks, top_k

RANKS = (1, 5, 10)


def embeddings(lfw: Path, model: str, detector: str, cache: Path, weights: Path) -> tuple[np.ndarray, list[str]]:
    """L2-normalised embeddings of every LFW image that has one, and its identity."""
    registry = plugins.load()
    dataset = scan(lfw, "lfw")
    pipeline = Pipeline(Store(cache), weights, "whole", LocalExecutor(quiet=True))
    det, rec = registry.detectors.get(detector), registry.recognizers.get(model)
    found = pipeline.embed(dataset, det, pipeline.detect(dataset, det), rec).vectors
    ok = np.isfinite(found).all(axis=1)
    vectors = found[ok] / np.linalg.norm(found[ok], axis=1, keepdims=True)
    names = [img.rel.split("/")[0] for img, keep in zip(dataset.images, ok) if keep]
    return vectors.astype(np.float32), names


def distractors(real: np.ndarray, n: int, seed: int, chunk: int = 100_000) -> np.ndarray:
    """``n`` unit vectors from a Gaussian with the real embeddings' mean and covariance (seeded, chunked)."""
    mean, cov = real.mean(axis=0), np.cov(real, rowvar=False)
    lower = np.linalg.cholesky(cov + 1e-6 * np.eye(len(cov)))
    rng = np.random.default_rng(seed)
    out = np.empty((n, real.shape[1]), dtype=np.float32)
    for start in range(0, n, chunk):
        size = min(chunk, n - start)
        draw = mean + rng.standard_normal((size, real.shape[1])) @ lower.T
        out[start : start + size] = draw / np.linalg.norm(draw, axis=1, keepdims=True)
    return out


def probes_and_gallery(
    vectors: np.ndarray, names: list[str], n_probes: int, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Enrolled gallery vectors, probe vectors (all mated first, then non-mated, ``n_probes`` in all, seeded) and
    each probe's mate row in the gallery (-1: non-mated)."""
    s = split(names, 1, seed)
    mated = np.flatnonzero(s.probe_label >= 0)
    others = np.random.default_rng(seed).permutation(np.flatnonzero(s.probe_label < 0))
    chosen = np.concatenate([mated[:n_probes], others[: max(0, n_probes - len(mated))]])
    return vectors[s.gallery], vectors[s.probes[chosen]], s.probe_label[chosen]


def figures(indices: np.ndarray, scores: np.ndarray, mates: np.ndarray) -> dict[str, float | None]:
    """Rank-k over mated probes and TPIR at each FPIR (non-mated probes' best score as the impostor)."""
    mated = mates >= 0
    ranks = mate_ranks(indices[mated], scores[mated], mates[mated])
    row: dict[str, float | None] = {f"rank{k}": float(np.mean(ranks <= k)) for k in RANKS}
    hits = np.where(ranks == 1, -scores[mated, 0], np.inf)  # distances: lower is closer
    for fpir in FPIRS:
        found = tpir_at_fpir(hits, -scores[~mated, 0], fpir)
        row[f"tpir@fpir={fpir:g}"] = found[0] if found else None
    return row


def faiss_recall(gallery: np.ndarray, probes: np.ndarray, exact: np.ndarray, seed: int) -> list[dict[str, float]]:
    """An IVF-Flat inner-product index (faiss-cpu): build and search seconds, recall@1 against ``exact``."""
    import faiss

    start = time.perf_counter()
    nlist = 1024
    index = faiss.IndexIVFFlat(faiss.IndexFlatIP(gallery.shape[1]), gallery.shape[1], nlist, faiss.METRIC_INNER_PRODUCT)
    sample = np.random.default_rng(seed).choice(len(gallery), min(len(gallery), 64 * nlist), replace=False)
    index.train(gallery[np.sort(sample)])
    index.add(gallery)
    build = time.perf_counter() - start
    rows = []
    for nprobe in (8, 32):
        index.nprobe = nprobe
        start = time.perf_counter()
        _, found = index.search(probes, 1)
        rows.append(
            {
                "nlist": nlist,
                "nprobe": nprobe,
                "build_s": round(build, 1),
                "search_s": round(time.perf_counter() - start, 1),
                "recall@1": float(np.mean(found[:, 0] == exact[:, 0])),
            }
        )
    return rows


def plot_curves(rows: list[dict[str, Any]], label: str, path: Path) -> None:
    """MegaFace-style curves: rank-k identification and TPIR at each FPIR against the number of distractors."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    counts = [row["distractors"] for row in rows]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2), layout="constrained")
    for k, marker in zip(RANKS, "osD"):
        left.plot(counts, [row[f"rank{k}"] for row in rows], marker=marker, label=f"rank-{k}")
    for fpir, marker in zip((0.1, 0.01, 0.001), "osD"):
        values = [row.get(f"tpir@fpir={fpir:g}") for row in rows]
        right.plot(counts, [np.nan if v is None else v for v in values], marker=marker, label=f"FPIR {fpir:g}")
    for ax, what in ((left, "closed set: identification rate"), (right, "open set: TPIR")):
        ax.set_xscale("log")
        ax.set(xlabel="distractors in the gallery (synthetic, log scale)", ylabel=what, ylim=(0, 1.02))
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=8, loc="lower left")
    fig.suptitle(f"1:N on LFW + distractors, {label}, {len(rows)} gallery sizes", fontsize=10)
    fig.savefig(path, dpi=130)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lfw", type=Path, default=Path("../shared/data/lfw"))
    parser.add_argument("--model", default="SFace")
    parser.add_argument("--detector", default="yunet")
    parser.add_argument("--distractors", default="10000,100000,1000000")
    parser.add_argument("--probes", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--faiss", action="store_true", help="also an IVF index at the largest gallery")
    parser.add_argument("--figure", type=Path, help="also draw rank-k and TPIR against the distractor count (PNG)")
    args = parser.parse_args()
    if args.faiss and importlib.util.find_spec("faiss") is None:
        parser.error("--faiss needs faiss-cpu: pip install -e '.[faiss]' (or leave --faiss out)")
    start = time.perf_counter()
    vectors, names = embeddings(args.lfw, args.model, args.detector, default_cache_dir(), default_weights_dir())
    enrolled, probes, mates = probes_and_gallery(vectors, names, args.probes, args.seed)
    counts = [int(n) for n in args.distractors.split(",")]
    extra = distractors(vectors, max(counts), args.seed)
    print(
        f"embeddings {vectors.shape} read in {time.perf_counter() - start:.1f} s; {len(enrolled)} enrolled, "
        f"{int((mates >= 0).sum())} mated + {int((mates < 0).sum())} non-mated probes",
        flush=True,
    )
    results = []
    for n in counts:
        gallery = np.concatenate([enrolled, extra[:n]])
        start = time.perf_counter()
        indices, scores = top_k(probes, gallery, max(RANKS))
        seconds = time.perf_counter() - start
        row = {
            "distractors": n,
            "gallery": len(gallery),
            "search_s": round(seconds, 1),
            **figures(indices, scores, mates),
        }
        if args.faiss and n == max(counts):
            row["faiss"] = faiss_recall(gallery, probes, indices, args.seed)
        results.append(row)
        print(json.dumps(row), flush=True)
    if args.figure:
        plot_curves(results, f"{args.model} x {args.detector}", args.figure)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    print(
        json.dumps(
            {"model": args.model, "detector": args.detector, "dim": vectors.shape[1], "peak_rss_gb": round(peak, 2)}
        )
    )


if __name__ == "__main__":
    main()
