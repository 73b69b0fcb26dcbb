"""Block top-k: the same as brute force (and scikit-learn's exact search), whatever the block sizes."""

from __future__ import annotations

import numpy as np
import pytest

from bench.measure.topk import mate_ranks, top_k


def _unit(rng: np.random.Generator, n: int, dim: int = 16) -> np.ndarray:
    x = rng.standard_normal((n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.mark.parametrize(("probe_block", "gallery_block"), [(1, 1), (7, 13), (64, 1000), (1000, 50)])
def test_blocks_give_the_brute_force_top_k(probe_block: int, gallery_block: int) -> None:
    rng = np.random.default_rng(0)
    probes, gallery = _unit(rng, 40), _unit(rng, 300)
    idx, scores = top_k(probes, gallery, 5, probe_block, gallery_block)
    full = probes @ gallery.T
    expected = np.argsort(-full, axis=1, kind="stable")[:, :5]
    np.testing.assert_array_equal(idx, expected)
    np.testing.assert_allclose(scores, np.take_along_axis(full, expected, 1), rtol=1e-6)


def test_matches_scikit_learn_exact_neighbours() -> None:
    neighbors = pytest.importorskip("sklearn.neighbors")
    rng = np.random.default_rng(1)
    probes, gallery = _unit(rng, 25), _unit(rng, 500)
    idx, _ = top_k(probes, gallery, 3, gallery_block=64)
    found = neighbors.NearestNeighbors(n_neighbors=3, algorithm="brute", metric="cosine").fit(gallery)
    np.testing.assert_array_equal(idx, found.kneighbors(probes, return_distance=False))


def test_k_larger_than_the_gallery_returns_every_row_best_first() -> None:
    gallery = np.eye(3, dtype=np.float32)
    idx, scores = top_k(np.array([[0.1, 0.9, 0.5]], np.float32), gallery, 10, gallery_block=2)
    assert idx.tolist() == [[1, 2, 0]] and scores.shape == (1, 3)


def test_equal_scores_are_ordered_by_gallery_index_and_count_against_the_probe() -> None:
    gallery = np.array([[1, 0], [1, 0], [0, 1]], np.float32)  # rows 0 and 1 tie
    idx, scores = top_k(np.array([[1, 0], [0, 1]], np.float32), gallery, 3, gallery_block=1)
    assert idx.tolist() == [[0, 1, 2], [2, 0, 1]]
    ranks = mate_ranks(idx, scores, np.array([0, -1]))
    assert ranks[0] == 2 and np.isinf(ranks[1])  # the tied row ranks ahead of the mate; no mate: inf


def test_a_mate_outside_the_top_k_has_no_rank() -> None:
    rng = np.random.default_rng(2)
    probes, gallery = _unit(rng, 10), _unit(rng, 100)
    idx, scores = top_k(probes, gallery, 2)
    worst = np.argmin(probes @ gallery.T, axis=1)
    assert np.isinf(mate_ranks(idx, scores, worst)).all()
    assert (mate_ranks(idx, scores, idx[:, 1]) == 2).all()
