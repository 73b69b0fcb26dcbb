"""Error-versus-discard curves: a hand-computed case, the fixed threshold, ties, the ideal curve."""

from __future__ import annotations

import numpy as np
import pytest

from bench.measure import edc, ranks
from facebench_plugins.evaluations import quality_edc

# 10 genuine comparisons; at threshold 0.5 the errors are pairs 0, 2 and 5 (FNMR 0.3)
SCORES = np.array([0.2, 0.9, 0.4, 0.8, 0.7, 0.3, 0.95, 0.85, 0.6, 0.75])
QUALITY = np.array([1, 5, 2, 6, 3, 2, 7, 8, 4, 9], dtype=float)
SAME = np.ones(10, bool)


def test_hand_computed_curve_and_pauc() -> None:
    curve = edc.fnmr_curve(SCORES, SAME, QUALITY, 0.5)
    # sorted by quality: q=1 (error), q=2 twice (both errors, a tie: one step), then q=3..9 (no errors)
    np.testing.assert_allclose(curve.discard, [0, 0.1, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9])
    np.testing.assert_allclose(curve.error[:3], [3 / 10, 2 / 9, 0])
    assert curve.error[3:].max() == 0
    assert edc.pauc(curve) == pytest.approx(0.3 * 0.1 + 2 / 9 * 0.1)  # steps at 0 and 0.1 up to 0.2
    np.testing.assert_allclose(curve.at(np.array([0, 0.05, 0.1, 0.2, 0.29, 0.3])), [0.3, 0.3, 2 / 9, 2 / 9, 2 / 9, 0])
    assert edc.ideal_pauc(0.3) == pytest.approx(0.2 + 0.7 * np.log(0.8))  # integral of (0.3 - x) / (1 - x)


def test_threshold_stays_fixed_while_discarding() -> None:
    """Every point equals the FNMR of the kept pairs at the threshold set on all pairs; recomputing the
    threshold at the starting FNMR on the kept pairs would instead hold it at 0.3."""
    threshold = edc.threshold_at_fnmr(SCORES, SAME, 0.3)
    assert threshold == 0.6 and np.mean(threshold > SCORES) == 0.3
    curve = edc.fnmr_curve(SCORES, SAME, QUALITY, threshold)
    for fraction, error in zip(curve.discard, curve.error):
        kept = np.sort(QUALITY)[round(fraction * 10)] <= QUALITY
        assert error == pytest.approx(np.mean(SCORES[kept] < threshold))
        recomputed = edc.threshold_at_fnmr(SCORES[kept], SAME[kept], 0.3)
        if 0.3 <= fraction <= 0.5:  # 5..7 pairs kept: the recomputed threshold re-creates errors
            assert np.mean(SCORES[kept] < recomputed) > 0 == error
    assert curve.error[-1] == 0


def test_thresholds_at_fmr_and_fnmr_and_the_fmr_curve() -> None:
    scores = np.array([0.1, 0.2, 0.55, 0.65, 0.3, 0.9, 0.8])
    same = np.array([0, 0, 0, 0, 0, 1, 1], bool)
    t = edc.threshold_at_fmr(scores, same, 0.2)
    assert 0.55 < t < 0.56 and np.mean(scores[~same] >= t) == 0.2
    assert np.mean(scores[~same] >= edc.threshold_at_fmr(scores, same, 0.0)) == 0
    quality = np.array([5, 4, 3, 1, 2, 9, 9], dtype=float)  # the false match (0.65) has the lowest quality
    curve = edc.fmr_curve(scores, same, quality, t)
    np.testing.assert_allclose(curve.discard, [0, 0.2, 0.4, 0.6, 0.8])
    np.testing.assert_allclose(curve.error, [0.2, 0, 0, 0, 0])
    with pytest.raises(ValueError):
        edc.threshold_at_fnmr(scores, np.zeros(7, bool), 0.1)


def test_pair_quality_is_the_lower_and_nan_goes_first() -> None:
    quality = np.array([0.9, np.nan, 0.5, 0.7])
    pq = edc.pair_quality(quality, np.array([0, 0, 2]), np.array([3, 1, 3]))
    np.testing.assert_array_equal(pq, [0.7, -np.inf, 0.5])


def test_ideal_curve_is_reached_by_an_oracle_and_random_quality_stays_flat() -> None:
    rng = np.random.default_rng(0)
    scores = rng.normal(1, 1, 4000)
    errors = scores < 0.5
    start = errors.mean()
    oracle = edc.fnmr_curve(scores, np.ones(4000, bool), scores, 0.5)  # quality = the score itself
    x = np.linspace(0, 0.5, 11)
    np.testing.assert_allclose(oracle.at(x), edc.ideal_curve(start, x), atol=1e-3)
    assert edc.pauc(oracle) == pytest.approx(edc.ideal_pauc(start), abs=1e-4)
    flat = edc.fnmr_curve(scores, np.ones(4000, bool), rng.random(4000), 0.5)
    assert edc.pauc(flat) == pytest.approx(start * edc.PAUC_LIMIT, rel=0.1)
    assert edc.ideal_pauc(0.05) == pytest.approx(0.05 + 0.95 * np.log(0.95))  # the ideal reaches 0 before 0.2


def test_measures_within_noise_share_a_rank_and_an_informative_one_stands_apart() -> None:
    rng = np.random.default_rng(0)
    errors = rng.random(400) < 0.1
    qualities = {f"noise{k}": rng.random(400) for k in range(6)}
    qualities["oracle"] = np.where(errors, 0.0, 0.5) + rng.random(400)
    draws = ranks.resamples(400, 100)
    summary = [{"measure": name, "pauc_fnmr": edc.pauc(edc.curve(errors, q))} for name, q in qualities.items()]
    rows = quality_edc.ranked(summary, np.array([edc.pauc_draws(errors, q, draws) for q in qualities.values()]))
    assert rows[0]["measure"] == "oracle" and rows[0]["rank"] == 1 and rows[0]["group"] == "a"
    assert {r["rank"] for r in rows[1:]} == {2} and len({r["group"] for r in rows[1:]}) == 1
    assert all(r["pauc_fnmr_lo"] <= r["pauc_fnmr"] <= r["pauc_fnmr_hi"] for r in rows)
    assert all(r["rank_rule"] == ranks.BOOTSTRAP_RULE for r in rows)
