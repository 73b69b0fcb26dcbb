"""Our vectorised metrics equal DeepFace's find_distance row by row."""

from __future__ import annotations

import numpy as np
import pytest

from bench.distances import METRICS, pair_distances, select


@pytest.mark.parametrize("metric", list(METRICS))
def test_metric_matches_deepface(metric: str) -> None:
    from deepface.modules.verification import find_distance

    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(20, 128)), rng.normal(size=(20, 128))
    ours = METRICS[metric](a, b)
    theirs = [find_distance(x, y, metric) for x, y in zip(a, b)]
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)  # DeepFace computes in float32


def test_pair_distances_index_rows() -> None:
    vectors = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], dtype=np.float32)
    got = pair_distances(vectors, np.array([0, 0]), np.array([1, 2]), "cosine")
    np.testing.assert_allclose(got, [1.0, 1 - 1 / np.sqrt(2)], rtol=1e-6)


def test_select_rejects_unknown_metric() -> None:
    assert select("all") == list(METRICS)
    with pytest.raises(ValueError, match="unknown metric cosin"):
        select("cosin")
