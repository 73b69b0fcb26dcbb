"""Shared fixtures: the real weights and images from ../shared, and an isolated cache per test session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("FACEBENCH_SHARED", REPO.parent / "shared"))
WEIGHTS = SHARED / "weights"
LFW = SHARED / "data" / "lfw"
SAMPLE = REPO / "datasets" / "sample"

needs_weights = pytest.mark.skipif(
    not (WEIGHTS / "dlib_face_recognition_resnet_model_v1.dat").is_file(), reason=f"real weights not in {WEIGHTS}"
)
needs_lfw = pytest.mark.skipif(not (LFW / "pairs.txt").is_file(), reason=f"LFW not in {LFW}")


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Every test sees the shared weights and a session-wide cache, never the user's own."""
    monkeypatch.setenv("BENCH_WEIGHTS_DIR", str(WEIGHTS))
    monkeypatch.setenv("BENCH_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "cache"))
    monkeypatch.delenv("BENCH_PLUGINS_DIR", raising=False)


def read_pairs(dataset, path):  # type: ignore[no-untyped-def]
    """A pair list read through the registered protocol readers (declared by sniffing), as the CLI does."""
    from bench import plugins, protocols

    return protocols.read_pairs(plugins.load().protocols, dataset, path)
