"""Rankings with uncertainty (bench.ranks): properties over seeded random cases, and hand-worked ones."""

from __future__ import annotations

import numpy as np
import pytest

from bench.measure import ranks as R


def _case(seed: int) -> tuple[list[str], np.ndarray]:
    """Names and paired replicates (items x draws) of 2..9 items, some of them exact copies of another."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 10))
    replicates = rng.normal(rng.normal(0, 0.3, n)[:, None], rng.uniform(0.01, 0.5, n)[:, None], (n, 60))
    copies = rng.integers(0, n, n // 2)
    replicates[rng.integers(0, n, n // 2)] = replicates[copies]
    return [f"m{k}" for k in rng.permutation(n)], replicates


def _ranked(names: list[str], replicates: np.ndarray, lower: bool = True) -> R.Ranking:
    return R.rank_items(names, replicates.mean(axis=1), R.apart_by_replicates(replicates), lower)


@pytest.mark.parametrize("seed", range(40))
def test_identical_items_share_a_rank_and_a_letter(seed: int) -> None:
    names, replicates = _case(seed)
    ranking = _ranked(names, replicates)
    for i in range(len(names)):
        for j in range(len(names)):
            if np.array_equal(replicates[i], replicates[j]):
                assert ranking.rank[i] == ranking.rank[j] and set(ranking.group[i]) & set(ranking.group[j])


@pytest.mark.parametrize("seed", range(40))
def test_the_order_of_the_input_never_changes_the_output(seed: int) -> None:
    names, replicates = _case(seed)
    ranking = _ranked(names, replicates)
    shuffle = np.random.default_rng(seed + 1000).permutation(len(names))
    again = _ranked([names[k] for k in shuffle], replicates[shuffle])
    assert [names[k] for k in ranking.order] == [names[shuffle[k]] for k in again.order]
    np.testing.assert_array_equal(ranking.rank[shuffle], again.rank)
    assert [ranking.group[k] for k in shuffle] == again.group


@pytest.mark.parametrize("lower", [True, False])
def test_a_clearly_separated_set_gets_distinct_ranks_and_letters(lower: bool) -> None:
    rng = np.random.default_rng(0)
    replicates = np.arange(6)[:, None] + rng.normal(0, 0.01, (6, 100))
    ranking = _ranked(["f", "e", "d", "c", "b", "a"], replicates, lower)
    expected = np.arange(1, 7) if lower else np.arange(6, 0, -1)
    np.testing.assert_array_equal(ranking.rank, expected)
    assert len(set(ranking.group)) == 6 and all(len(g) == 1 for g in ranking.group)


def test_indistinguishable_items_share_rank_one_and_ties_go_by_name() -> None:
    # b and a are equal; c is within noise of them; d is far worse
    base = np.random.default_rng(1).normal(0, 1, 200)
    replicates = np.stack([base, base, base + 0.001 * np.sign(base), base + 5])
    ranking = _ranked(["b", "a", "c", "d"], replicates)
    assert ranking.rank.tolist() == [1, 1, 1, 4]
    assert ranking.order.tolist() == [1, 0, 2, 3]  # a before b: same estimate, by name
    assert ranking.group == ["a", "a", "a", "b"]


def test_overlapping_intervals_share_letters_in_a_chain() -> None:
    # x overlaps y, y overlaps z, x and z apart: letters a (x, y) and b (y, z)
    lo, hi = np.array([0.0, 0.9, 1.8]), np.array([1.0, 1.9, 2.8])
    ranking = R.rank_items(["x", "y", "z"], (lo + hi) / 2, R.apart_by_intervals(lo, hi), lower_is_better=True)
    assert ranking.rank.tolist() == [1, 1, 2] and ranking.group == ["a", "ab", "b"]


def test_nan_is_worst_and_apart() -> None:
    ranking = R.rank_items(["a", "b"], np.array([np.nan, 0.3]), np.zeros((2, 2), bool), lower_is_better=True)
    assert ranking.rank.tolist() == [2, 1] and ranking.order.tolist() == [1, 0] and ranking.group == ["b", "a"]


def test_resamples_are_seeded_and_the_interval_is_percentiles() -> None:
    np.testing.assert_array_equal(R.resamples(5, 3), R.resamples(5, 3))
    assert R.resamples(5, 3).shape == (3, 5) and R.resamples(5, 3).max() < 5
    lo, hi = R.interval(np.arange(101.0)[None, :])
    assert (lo[0], hi[0]) == pytest.approx((2.5, 97.5))


def test_equal_estimates_share_a_rank_whatever_their_spread() -> None:
    # b and c have the same estimate; a is clearly better than the narrow b but not than the wide c
    rng = np.random.default_rng(2)
    noise = rng.normal(0, 1, 300)
    replicates = np.stack([noise * 0.01, 1 + noise * 0.01, 1 + rng.normal(0, 1, 300) * 3])
    estimate = np.array([0.0, 1.0, 1.0])
    ranking = R.rank_items(["a", "b", "c"], estimate, R.apart_by_replicates(replicates), lower_is_better=True)
    assert ranking.rank.tolist() == [1, 1, 1] and ranking.group[1] == ranking.group[2]


def test_competition_ranks_share_equal_values() -> None:
    assert R.competition(np.array([0.3, 0.1, 0.3, np.nan, 0.2])).tolist() == [3, 1, 3, 5, 2]
