"""Real processes: a run killed with SIGKILL resumes without redoing finished work and gives identical
results; two runs sharing one cache both finish and agree with a run on its own."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from bench.compute.store import Store
from tests.conftest import LFW, WEIGHTS, needs_lfw, needs_weights

pytestmark = [needs_lfw, needs_weights]


@pytest.fixture(scope="module")
def pairs_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """80 LFW pairs (40 same, 40 different) from View 1's test list: ~150 images."""
    lines = (LFW / "pairsDevTest.txt").read_text().splitlines()[1:]
    chosen = lines[:40] + lines[500:540]
    rows = ["file_x,file_y,same"]
    for parts in (ln.split() for ln in chosen):
        if len(parts) == 3:
            rows.append(
                f"{parts[0]}/{parts[0]}_{int(parts[1]):04d}.jpg,{parts[0]}/{parts[0]}_{int(parts[2]):04d}.jpg,1"
            )
        else:
            rows.append(
                f"{parts[0]}/{parts[0]}_{int(parts[1]):04d}.jpg,{parts[2]}/{parts[2]}_{int(parts[3]):04d}.jpg,0"
            )
    path = tmp_path_factory.mktemp("pairs") / "pairs.csv"
    path.write_text("\n".join(rows) + "\n")
    return path


def _command(cache: Path, out: Path, run_id: str, pairs: Path, model: str = "Dlib") -> list[str]:
    return [
        sys.executable,
        "-c",
        "from bench.interface.cli import main; main()",
        "-q",
        "--cache-dir",
        str(cache),
        "--weights-dir",
        str(WEIGHTS),
        "accuracy",
        "--i",
        str(LFW),
        "--pairs",
        str(pairs),
        "--model",
        model,
        "--backend",
        "opencv",
        "--o",
        str(out),
        "--run-id",
        run_id,
    ]


def _count(cache: Path, kind: str) -> int:
    """Cached results of a kind ("detections": images, "embeddings": faces) so far."""
    return sum(key.startswith(f"{kind}/") for key in Store(cache).results()) if cache.exists() else 0


def _kill_when(cmd: list[str], cache: Path, kind: str, at_least: int) -> None:
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while _count(cache, kind) < at_least and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    assert proc.poll() is None, "the run ended before it could be interrupted"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()


def _timings(run: Path) -> dict[str, dict[str, float]]:
    return json.loads((run / "manifest.json").read_text())["timings"]  # type: ignore[no-any-return]


def _results(run: Path) -> pd.DataFrame:
    return pd.read_csv(run / "accuracy.csv")


def test_kill_during_detection_and_embedding_then_resume(pairs_file: Path, tmp_path: Path) -> None:
    cache, out = tmp_path / "cache", tmp_path / "out"
    _kill_when(_command(cache, out, "killed1", pairs_file), cache, "detections", 40)
    done_detect = _count(cache, "detections")
    _kill_when(_command(cache, out, "killed2", pairs_file), cache, "embeddings", 32)
    done_embed = _count(cache, "embeddings")
    assert 0 < done_embed < _images(pairs_file)
    for path in cache.rglob("*.json"):
        json.loads(path.read_text())  # a killed writer leaves at most a hidden .tmp, never a half entry
    subprocess.run(_command(cache, out, "resumed", pairs_file), check=True, capture_output=True)
    timings = _timings(out / "resumed")
    assert timings["detect:opencv"]["cached"] >= done_detect
    assert timings["embed:Dlib"]["cached"] >= done_embed
    assert timings["embed:Dlib"]["computed"] + timings["embed:Dlib"]["cached"] == _images(pairs_file)
    fresh_cache = tmp_path / "fresh"
    subprocess.run(_command(fresh_cache, out, "clean", pairs_file), check=True, capture_output=True)
    pd.testing.assert_frame_equal(_results(out / "resumed"), _results(out / "clean"))


def _images(pairs: Path) -> int:
    frame = pd.read_csv(pairs)
    return len(set(frame.file_x) | set(frame.file_y))


def test_two_processes_share_one_cache(pairs_file: Path, tmp_path: Path) -> None:
    cache, out = tmp_path / "cache", tmp_path / "out"
    procs = [
        subprocess.Popen(_command(cache, out, m, pairs_file, m), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for m in ("Dlib", "SFace")
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err.decode()[-2000:]
    assert not [p for p in cache.rglob("*") if p.name.endswith(".tmp")]
    for path in cache.rglob("*.json"):
        json.loads(path.read_text())  # every entry complete
    subprocess.run(_command(tmp_path / "alone", out, "alone", pairs_file, "Dlib"), check=True, capture_output=True)
    pd.testing.assert_frame_equal(_results(out / "Dlib"), _results(out / "alone"))
