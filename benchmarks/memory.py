"""Memory over a long run: RSS of ``bench accuracy`` sampled while it embeds many LFW images.

    python benchmarks/memory.py [--pairs N] [--model Dlib] [--backend opencv] [--out FILE]

Runs ``bench accuracy`` on N sampled LFW pairs (a fresh cache, so every image is detected and embedded) in a
child process, reads its resident set size from /proc every 0.5 s, and reports RSS against progress (images
embedded so far, counted in the cache). Flat memory means RSS at 25 % of the images is about RSS at 100 %.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"


def rss_mb(pid: int) -> float | None:
    """Current resident set size of a process in MiB (None once it has exited)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    kb = next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")), None)
    return None if kb is None else kb / 1024


def count(folder: Path) -> int:
    """Faces embedded into a cache folder so far: the rows of its packs (memory-mapped, so only headers are read)."""
    total = 0
    for pack in folder.rglob("pack-*.npy"):
        with contextlib.suppress(OSError, ValueError):
            total += len(np.load(pack, mmap_mode="r"))
    return total


def main() -> None:
    """Run, sample, print and save."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=4000)
    parser.add_argument("--model", default="Dlib")
    parser.add_argument("--backend", default="opencv")
    parser.add_argument("--out", type=Path, default=REPO / "results" / "memory.json")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="facebench-memory-"))
    cmd = [
        sys.executable,
        "-c",
        "from bench.interface.cli import main; main()",
        "-q",
        "--cache-dir",
        str(work / "cache"),
        "--weights-dir",
        str(SHARED / "weights"),
        "accuracy",
        "--i",
        str(SHARED / "data" / "lfw"),
        "--n",
        str(args.pairs),
        "--model",
        args.model,
        "--backend",
        args.backend,
        "--metric",
        "cosine",
        "--o",
        str(work / "out"),
    ]
    started = time.time()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    samples = []
    while proc.poll() is None:
        rss = rss_mb(proc.pid)
        if rss is not None:
            samples.append(
                {
                    "t": round(time.time() - started, 1),
                    "rss_mb": round(rss, 1),
                    "embedded": count(work / "cache" / "embeddings"),
                }
            )
        time.sleep(0.5)
    output = proc.stdout.read().decode() if proc.stdout else ""
    if proc.returncode != 0:
        sys.exit(f"bench failed:\n{output[-2000:]}")
    total = max(s["embedded"] for s in samples)
    marks = {}
    for share in (0.25, 0.5, 0.75, 1.0):
        reached = [s for s in samples if s["embedded"] >= share * total]
        marks[f"{int(share * 100)}%"] = max(s["rss_mb"] for s in samples if s["t"] <= reached[0]["t"])
    result = {
        "pairs": args.pairs,
        "images_embedded": total,
        "model": args.model,
        "backend": args.backend,
        "wall_s": round(time.time() - started, 1),
        "peak_rss_mb": max(s["rss_mb"] for s in samples),
        "peak_rss_by_progress_mb": marks,
        "samples": samples,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    print(f"{total} images embedded by {args.model}/{args.backend} in {result['wall_s']} s")
    print("peak RSS (MiB) up to each share of the images:", marks)


if __name__ == "__main__":
    main()
