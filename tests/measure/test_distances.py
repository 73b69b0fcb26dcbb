"""Our vectorised metrics equal DeepFace's find_distance row by row."""

from __future__ import annotations

import numpy as np
import pytest

from bench.plugins import load
from bench.registry import UnknownName
from facebench_plugins.measures.distances import METRICS as _METRICS

METRICS = {m.name: m for m in _METRICS}


@pytest.mark.parametrize("metric", list(METRICS))
def test_metric_matches_deepface(metric: str) -> None:
    from deepface.modules.verification import find_distance

    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(20, 128)), rng.normal(size=(20, 128))
    ours = METRICS[metric].pair(a, b)
    theirs = [find_distance(x, y, metric) for x, y in zip(a, b)]
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)  # DeepFace computes in float32


def test_pair_distances_index_rows() -> None:
    vectors = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], dtype=np.float32)
    got = METRICS["cosine"].pairs(vectors, np.array([0, 0]), np.array([1, 2]))
    np.testing.assert_allclose(got, [1.0, 1 - 1 / np.sqrt(2)], rtol=1e-6)


def test_select_rejects_unknown_metric() -> None:
    registry = load().metrics
    assert [m.name for m in registry.select("all")] == list(METRICS)
    assert registry.get("Cosine").name == "cosine"
    with pytest.raises(UnknownName, match="unknown metric 'cos' \\(did you mean 'cosine'"):
        registry.select("cos")
