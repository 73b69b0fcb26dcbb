"""Exact blockwise identity similarity against brute force; outputs and heatmap subsets; identification blocks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bench.measure.gallery import identity_distances, split
from bench.measure.identity_matrix import identity_totals, most_confused, per_identity, spans, summary, vector_scorer
from bench.metrics import Metric
from bench.report.heatmaps import HeatmapChoice, HeatmapSubsetError, files, subset
from bench.run.runs import write_file
from facebench_plugins.measures.distances import METRICS

BY_NAME = {m.name: m for m in METRICS}
DOT = Metric("dot", lambda a, b: (a * b).sum(-1), lambda a, b: a @ b.T, higher_is_more_similar=True)


def _data(n: int = 120, k: int = 15, dim: int = 8, seed: int = 0) -> tuple[np.ndarray, list[str]]:
    rng = np.random.default_rng(seed)
    identity = [f"id{rng.integers(0, k):02d}" for _ in range(n)]
    vectors = rng.normal(size=(n, dim))
    vectors[3] = np.nan  # an image without a face
    return vectors, identity


def _totals(vectors: np.ndarray, identity: list[str], metric: str, block: int = 2048):  # type: ignore[no-untyped-def]
    embedded = np.isfinite(vectors).all(axis=1)
    return identity_totals(vector_scorer(vectors, BY_NAME[metric]), identity, embedded, block)


def _brute(vectors: np.ndarray, identity: list[str], metric_name: str) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Means and unordered pair counts by looping over every image pair."""
    metric = BY_NAME[metric_name]
    ok = np.isfinite(vectors).all(axis=1)
    names = sorted({identity[i] for i in range(len(vectors)) if ok[i]})
    scores = metric.pair(vectors[:, None, :], vectors[None, :, :])
    means, counts = np.full((len(names),) * 2, np.nan), np.zeros((len(names),) * 2, int)
    labels = np.array(identity)
    for a, x in enumerate(names):
        for b, y in enumerate(names):
            cell = np.outer(ok & (labels == x), ok & (labels == y)) & ~np.eye(len(vectors), dtype=bool)
            values = scores[cell]  # every ordered pair of distinct images
            counts[a, b] = len(values) // 2 if a == b else len(values)
            if len(values):
                means[a, b] = values.mean()
    return names, means, counts


@pytest.mark.parametrize("metric", list(BY_NAME))
@pytest.mark.parametrize("block", [7, 37, 4096])
def test_blockwise_means_equal_brute_force(metric: str, block: int) -> None:
    vectors, identity = _data()
    totals = _totals(vectors, identity, metric, block)
    names, means, counts = _brute(vectors, identity, metric)
    assert totals.identities == names
    np.testing.assert_allclose(totals.means, means, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(totals.pair_counts(), counts)
    assert (totals.means == totals.means.T)[np.isfinite(totals.means)].all()  # exactly symmetric


def test_single_image_identity_has_no_same_cell() -> None:
    vectors = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    totals = _totals(vectors, ["a", "b", "b"], "euclidean")
    assert np.isnan(totals.means[0, 0]) and totals.pair_counts()[0, 0] == 0
    assert totals.means[1, 1] == pytest.approx(1.0)  # |(0,1) - (1,1)|
    assert totals.means[0, 1] == pytest.approx((np.sqrt(2) + 1) / 2) and totals.pair_counts()[0, 1] == 2


def test_a_scorer_decides_image_pair_scores() -> None:
    """Every-face policy: the combination's cross form scores an image pair at its closest face pair; the sums
    use whatever the scorer returns, block by block."""
    rng = np.random.default_rng(3)
    faces = [rng.normal(size=(int(rng.integers(1, 4)), 5)) for _ in range(40)]
    identity = [f"p{i % 6}" for i in range(40)]
    metric = BY_NAME["cosine"]

    def closest(rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        return np.array([[metric.all_against(faces[i], faces[j]).min() for j in cols] for i in rows])

    totals = identity_totals(closest, identity, np.ones(40, bool), block=11)
    best = closest(np.arange(40), np.arange(40))
    for x, name_x in enumerate(totals.identities):
        for y, name_y in enumerate(totals.identities):
            cell = [
                best[a, b]
                for a in range(40)
                for b in range(40)
                if a != b and identity[a] == name_x and identity[b] == name_y
            ]
            assert totals.means[x, y] == pytest.approx(np.mean(cell), abs=1e-12)


def test_spans_cut_only_at_group_starts() -> None:
    starts = np.array([0, 3, 4, 10, 11])
    cuts = list(spans(starts, 14, 5))
    assert cuts == [(0, 4), (4, 10), (10, 14)]  # the group 4..10 is longer than 5: kept whole
    assert list(spans(np.arange(5), 5, 2)) == [(0, 2), (2, 4), (4, 5)]


def test_confused_pairs_summary_and_nearest() -> None:
    vectors, identity = _data()
    metric = BY_NAME["euclidean"]
    totals = _totals(vectors, identity, "euclidean", 16)
    names, means, _ = _brute(vectors, identity, "euclidean")
    confused = most_confused(totals, metric, 5)
    cross = [(means[a, b], names[a], names[b]) for a in range(len(names)) for b in range(a + 1, len(names))]
    assert list(zip(confused.identity_a, confused.identity_b)) == [(a, b) for _, a, b in sorted(cross)[:5]]
    assert confused.mean_score.is_monotonic_increasing and list(confused["rank"]) == [1, 2, 3, 4, 5]
    rows = per_identity(totals, metric)
    masked = np.where(np.eye(len(names), dtype=bool), np.inf, means)
    assert list(rows.nearest_identity) == [names[j] for j in masked.argmin(axis=1)]
    figures = summary(totals)
    ok = [i for i in range(len(vectors)) if np.isfinite(vectors[i]).all()]
    dist = metric.pair(vectors[:, None, :], vectors[None, :, :])
    same = [dist[i, j] for i in ok for j in ok if i < j and identity[i] == identity[j]]
    assert figures["same_identity_mean"] == pytest.approx(np.mean(same)) and figures["same_pairs"] == len(same)


def test_similarity_metric_uses_most_similar_first() -> None:
    """A higher-is-more-similar metric: the most confused pair has the highest mean score."""
    vectors = np.array([[1.0, 0], [1.0, 0.1], [0, 1.0], [0.1, 1.0], [5.0, 5.0]])
    totals = identity_totals(vector_scorer(vectors, DOT), ["a", "a", "b", "b", "c"], np.ones(5, bool))
    top = most_confused(totals, DOT, 3)
    assert top.mean_score.is_monotonic_decreasing
    assert {top.identity_a[0], top.identity_b[0]} == {"a", "c"}


def test_heatmap_subsets() -> None:
    vectors, identity = _data(n=300, k=60)
    metric = BY_NAME["cosine"]
    totals = _totals(vectors, identity, "cosine")
    picked, phrase = subset(totals, metric, HeatmapChoice())
    assert len(picked) == 30 and "most-confused" in phrase and len(set(picked)) == 30
    top_pair = most_confused(totals, metric, 1)
    index = {n: i for i, n in enumerate(totals.identities)}
    assert {index[top_pair.identity_a[0]], index[top_pair.identity_b[0]]} <= set(picked)
    picked, _ = subset(totals, metric, HeatmapChoice(top=8))
    assert len(picked) == 8
    picked, phrase = subset(totals, metric, HeatmapChoice(identities=("id05", "ID01")))
    assert [totals.identities[i] for i in picked] == ["id05", "id01"] and "2 chosen" in phrase
    with pytest.raises(HeatmapSubsetError, match="unknown identity 'nobody'"):
        subset(totals, metric, HeatmapChoice(identities=("nobody",)))


def test_large_matrix_is_written_as_npy_with_readable_tables(tmp_path: Path) -> None:
    vectors, identity = _data(n=400, k=150)
    metric = BY_NAME["cosine"]
    totals = _totals(vectors, identity, "cosine")
    written, heatmap = files(totals, metric, "x", "title", HeatmapChoice(top=10))
    assert set(written) == {"similarity_x_identities.csv", "similarity_x_confused.csv", "similarity_x.npy"}
    assert heatmap.name == "similarity_x.png"
    for name, data in written.items():
        write_file(tmp_path / name, data)
    matrix = np.load(tmp_path / "similarity_x.npy")
    np.testing.assert_allclose(matrix, totals.means, rtol=1e-6)
    identities = pd.read_csv(tmp_path / "similarity_x_identities.csv")
    assert list(identities.identity) == totals.identities  # the .npy's row and column order


@pytest.mark.parametrize("metric", list(BY_NAME))
def test_identification_blocks_equal_one_block(metric: str) -> None:
    vectors, identity = _data(n=200, k=30)
    s = split(identity, per_identity=2, seed=1)
    whole = identity_distances(vectors, s, BY_NAME[metric], block=10_000)
    np.testing.assert_allclose(identity_distances(vectors, s, BY_NAME[metric], block=7), whole, rtol=1e-12, atol=1e-12)
    scores = -BY_NAME[metric].similarity(BY_NAME[metric].all_against(vectors[s.probes], vectors[s.gallery]))
    for label in range(len(s.enrolled)):
        cols = s.gallery_label == label
        finite = np.isfinite(vectors[s.gallery[cols]]).all(axis=1)
        expected = scores[:, cols][:, finite].min(axis=1) if finite.any() else np.inf
        np.testing.assert_allclose(
            whole[:, label][np.isfinite(whole[:, label])],
            np.broadcast_to(expected, len(whole))[np.isfinite(whole[:, label])],
        )


def test_equal_confusions_share_a_rank_and_the_cut_goes_by_name() -> None:
    vectors = np.array([[1.0, 0], [0, 1.0], [1.0, 0], [0, 1.0], [0.6, 0.8]])  # a, b, c, d, e
    totals = identity_totals(vector_scorer(vectors, DOT), ["a", "b", "c", "d", "e"], np.ones(5, bool))
    top = most_confused(totals, DOT, 3)  # a-c and b-d tie at 1; b-e and d-e tie at 0.8: b-e by name
    assert list(zip(top.identity_a, top.identity_b, top["rank"])) == [("a", "c", 1), ("b", "d", 1), ("b", "e", 3)]
