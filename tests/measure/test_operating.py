"""Operating points (FNMR at FMR), subject bootstrap, DET geometry: hand computations and scikit-learn agreement."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import norm
from sklearn import metrics as skm

from bench.measure import kfold as protocol
from bench.measure import operating


def _nearest_fpr_threshold(scores: np.ndarray, same: np.ndarray, fmr: float) -> tuple[float, float]:
    """The insightface/TFace rule on similarities: the ROC threshold whose FPR is nearest the target."""
    fpr, _, thresholds = skm.roc_curve(same, scores, drop_intermediate=False)
    k = int(np.argmin(np.abs(fpr - fmr)))
    return float(thresholds[k]), float(fpr[k])


def test_hand_computation_distances() -> None:
    # 10 impostor distances and 4 genuine; at FMR 0.2 at most 2 impostors may be accepted.
    imp = np.array([0.15, 0.3, 0.45, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 1.0])
    gen = np.array([0.1, 0.2, 0.4, 0.55])
    scores, same = np.concatenate([imp, gen]), np.r_[np.zeros(10, bool), np.ones(4, bool)]
    op = operating.threshold_at_fmr(scores, same, 0.2, higher_is_more_similar=False)
    # Accepted: distances below 0.45 (the 3rd impostor is the first rejected); threshold halfway to 0.4.
    assert op.threshold == pytest.approx((0.4 + 0.45) / 2)
    assert (op.fmr, op.fnmr, op.n_false_matches) == (0.2, 0.25, 2)
    assert (op.n_impostor, op.n_genuine) == (10, 4)
    assert op.tar == 0.75
    assert op.insufficient  # 10 impostors < 10 / 0.2
    assert operating.rates_at(scores, same, op.threshold, False) == (op.fmr, op.fnmr)
    # FMR 0.05: no impostor may be accepted -> only distances below 0.15.
    strict = operating.threshold_at_fmr(scores, same, 0.05, higher_is_more_similar=False)
    assert strict.threshold == pytest.approx(0.125) and (strict.fmr, strict.fnmr) == (0.0, 0.75)


def test_similarities_mirror_distances() -> None:
    rng = np.random.default_rng(1)
    scores, same = rng.normal(size=300), rng.random(300) < 0.5
    for a, b in zip(operating.operating_points(scores, same, True), operating.operating_points(-scores, same, False)):
        assert a.threshold == pytest.approx(-b.threshold)
        assert (a.fmr, a.fnmr, a.n_impostor) == (b.fmr, b.fnmr, b.n_impostor)


def test_nearest_fpr_overshoots_facebench_never_does() -> None:
    # 10 impostors spaced apart; at target 0.17 the nearest ROC FPR is 0.2 (2 impostors), above the target.
    imp = np.linspace(0.0, 0.9, 10)
    gen = np.array([0.85, 0.87, 0.89, 0.95])
    scores, same = np.concatenate([imp, gen]), np.r_[np.zeros(10, bool), np.ones(4, bool)]
    _, nearest = _nearest_fpr_threshold(scores, same, 0.17)
    assert nearest == pytest.approx(0.2) and nearest > 0.17
    op = operating.threshold_at_fmr(scores, same, 0.17, higher_is_more_similar=True)
    assert op.fmr == 0.1 and op.n_false_matches == 1
    assert operating.rates_at(scores, same, op.threshold, True)[0] <= 0.17


@pytest.mark.parametrize("seed", range(5))
def test_never_above_target_and_most_permissive(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 400
    scores = np.round(rng.normal(size=n), 1)  # many ties
    same = rng.random(n) < 0.3
    scores[same] += 1.5
    candidates = np.unique(scores)
    for op in operating.operating_points(scores, same, True, (0.5, 0.1, 0.03, 0.01, 1e-3)):
        assert op.fmr <= op.fmr_target
        # The next more permissive observed score would exceed the target.
        looser = candidates[candidates < op.threshold]
        if len(looser):
            assert operating.rates_at(scores, same, looser.max(), True)[0] > op.fmr_target


def test_ties_at_the_boundary_are_rejected_together() -> None:
    scores = np.array([0.9, 0.9, 0.9, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.95, 0.97])
    same = np.r_[np.zeros(10, bool), True, True]
    op = operating.threshold_at_fmr(scores, same, 0.2, higher_is_more_similar=True)  # 2 allowed, 3 tied at 0.9
    assert op.fmr == 0.0 and op.threshold == pytest.approx(0.925) and op.fnmr == 0.0


def test_insufficient_flag_follows_ten_over_fmr() -> None:
    rng = np.random.default_rng(0)
    scores, same = rng.normal(size=3600), np.r_[np.zeros(3000, bool), np.ones(600, bool)]
    flags = {op.fmr_target: op.insufficient for op in operating.operating_points(scores, same, True)}
    assert flags == {1e-1: False, 1e-2: False, 1e-3: True, 1e-4: True, 1e-5: True, 1e-6: True}


def test_bad_inputs() -> None:
    with pytest.raises(ValueError, match="both genuine"):
        operating.threshold_at_fmr([0.1, 0.2], [1, 1], 0.1, False)
    with pytest.raises(ValueError, match="fmr must be"):
        operating.threshold_at_fmr([0.1, 0.2], [0, 1], 0.0, False)
    with pytest.raises(ValueError, match="NaN"):
        operating.threshold_at_fmr([np.nan, 0.2], [0, 1], 0.1, False)


def _data(seed: int = 0, n: int = 500) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    same = rng.random(n) < 0.5
    return np.round(rng.normal(size=n) + 1.2 * same, 2), same


def test_det_and_roc_agree_with_sklearn() -> None:
    scores, same = _data()
    fmr, fnmr, thresholds = operating.det_curve(scores, same, True)
    sk_fpr, sk_fnr, _ = skm.det_curve(same, scores)
    points = set(zip(np.round(fmr, 12), np.round(fnmr, 12)))
    assert set(zip(np.round(sk_fpr, 12), np.round(sk_fnr, 12))) <= points
    for f, r, t in zip(fmr[::25], fnmr[::25], thresholds[::25]):
        assert operating.rates_at(scores, same, t, True) == pytest.approx((f, r))
    g = operating.Grouped.of(scores, same, True)
    ones = np.ones((1, len(scores)))
    assert operating.weighted_auc(g, ones)[0] == pytest.approx(skm.roc_auc_score(same, scores))
    assert operating.weighted_eer(g, ones)[0] == pytest.approx(protocol.eer(scores, same, True)[0])


def test_weighted_statistics_agree_with_sklearn_sample_weight() -> None:
    scores, same = _data(3)
    w = np.random.default_rng(3).integers(0, 4, size=(3, len(scores))).astype(float)
    g = operating.Grouped.of(-scores, same, False)  # distances: the direction must not matter
    auc = operating.weighted_auc(g, w)
    for row, value in zip(w, auc):
        assert value == pytest.approx(skm.roc_auc_score(same, scores, sample_weight=row))
    # A weight row of integer multiplicities equals repeating the pairs.
    repeated = np.repeat(np.arange(len(scores)), w[0].astype(int))
    op = operating.threshold_at_fmr(-scores[repeated], same[repeated], 0.1, False)
    threshold, fmr, fnmr, *_ = operating._points(g, w[:1], (0.1,))
    assert (threshold[0, 0], fmr[0, 0], fnmr[0, 0]) == pytest.approx((op.threshold, op.fmr, op.fnmr))


def _subjects(n_subjects: int, n_pairs: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    same = rng.random(n_pairs) < 0.5
    left = rng.integers(0, n_subjects, n_pairs)
    other = (left + rng.integers(1, n_subjects, n_pairs)) % n_subjects
    return left, np.where(same, left, other), same


def test_subject_weights() -> None:
    rng = np.random.default_rng(0)
    left, right, same = _subjects(20, 200, rng)
    w = operating.subject_weights(left, right, 50, seed=7)
    assert w.shape == (50, 200)
    assert np.array_equal(w, operating.subject_weights(left, right, 50, seed=7))
    assert not np.array_equal(w, operating.subject_weights(left, right, 50, seed=8))
    # Pairs of one person move together: every genuine pair of subject s has the same weight in a sample.
    for s in range(20):
        mine = same & (left == s)
        if mine.sum() > 1:
            assert (w[:, mine] == w[:, mine][:, :1]).all()
    # Impostor weight = product of both subjects' draw counts.
    i = int(np.flatnonzero(~same)[0])
    g = w[:, same]
    count = {int(s): g[:, np.flatnonzero(left[same] == s)[0]] for s in (left[i], right[i]) if (left[same] == s).any()}
    if len(count) == 2:
        assert np.array_equal(w[:, i], count[int(left[i])] * count[int(right[i])])


def test_subject_bootstrap_is_chunked_and_deterministic() -> None:
    rng = np.random.default_rng(0)
    left, right, _ = _subjects(30, 300, rng)
    samples = operating.subject_bootstrap(lambda w: w.sum(axis=1), left, right, 450, seed=1)
    assert samples.shape == (450,)  # 3 chunks of operating.CHUNK
    assert np.array_equal(samples, operating.subject_weights(left, right, 450, seed=1).sum(axis=1))


def _clustered(rng: np.random.Generator, n_subjects: int = 60) -> tuple[np.ndarray, ...]:
    """Genuine scores with a per-subject effect: N(2 + u_s, 1), u_s ~ N(0, 0.7^2); impostors N(0, 1)."""
    left, right, same = _subjects(n_subjects, 600, rng)
    effect = rng.normal(0, 0.7, n_subjects)
    scores = rng.normal(size=len(same)) + np.where(same, 2 + effect[left], 0.0)
    return scores, same, left, right


def test_bootstrap_interval_coverage() -> None:
    # True FNMR at FMR 0.1: threshold Phi^-1(0.9) for N(0,1) impostors; genuine marginal N(2, 1 + 0.49).
    truth = norm.cdf((norm.ppf(0.9) - 2) / np.sqrt(1.49))
    rng = np.random.default_rng(42)
    hits, widths = 0, []
    trials = 40
    for t in range(trials):
        scores, same, left, right = _clustered(rng)
        ci = operating.bootstrap_intervals(scores, same, True, left, right, n=100, seed=t, fmrs=(0.1,))
        lo, hi = ci.fnmr[0]
        hits += lo <= truth <= hi
        widths.append(hi - lo)
    assert 0.8 <= hits / trials <= 1.0  # nominal 0.95; 40 trials
    assert 0.02 < np.mean(widths) < 0.3


def test_bootstrap_intervals_contain_point_estimates() -> None:
    rng = np.random.default_rng(5)
    scores, same, left, right = _clustered(rng)
    point = operating.operating_points(scores, same, True, (0.1, 0.01))
    correct = (scores >= 1.0) == same
    ci = operating.bootstrap_intervals(
        scores, same, True, left, right, n=300, seed=0, fmrs=(0.1, 0.01), correct=correct
    )
    for k, op in enumerate(point):
        assert ci.fnmr[k, 0] <= op.fnmr <= ci.fnmr[k, 1]
        assert ci.threshold[k, 0] <= op.threshold <= ci.threshold[k, 1]
    assert ci.auc[0] <= protocol.roc_auc(scores, same, True) <= ci.auc[1]
    assert ci.eer[0] <= protocol.eer(scores, same, True)[0] <= ci.eer[1]
    assert ci.accuracy is not None and ci.accuracy[0] <= correct.mean() <= ci.accuracy[1]
    again = operating.bootstrap_intervals(scores, same, True, left, right, n=300, seed=0, fmrs=(0.1, 0.01))
    assert np.array_equal(again.fnmr, ci.fnmr)


def test_subject_split_is_disjoint() -> None:
    rng = np.random.default_rng(0)
    left, right, _ = _subjects(40, 400, rng)
    dev, ev = operating.subject_split(left, right, 0.5, seed=3)
    assert not (dev & ev).any() and dev.any() and ev.any()
    dev_subjects = set(left[dev]) | set(right[dev])
    assert not dev_subjects & (set(left[ev]) | set(right[ev]))


def test_normal_deviate() -> None:
    assert operating.normal_deviate([0.5])[0] == pytest.approx(0.0)
    assert np.isfinite(operating.normal_deviate([0.0, 1.0])).all()


def test_a_bootstrap_sample_without_impostors_has_no_threshold() -> None:
    g = operating.Grouped.of([0.1, 0.2, 0.9], [True, True, False], False)
    threshold, fmr, *_ = operating._points(g, np.array([[1.0, 1.0, 0.0], [1.0, 1.0, 1.0]]), (0.1,))
    assert np.isnan(threshold[0, 0]) and np.isnan(fmr[0, 0]) and np.isfinite(threshold[1, 0])


def test_the_accuracy_interval_leaves_out_the_pairs_marked_nan() -> None:
    """Pairs of a fold the k-fold mean leaves out (NaN) are not counted in the accuracy interval."""
    rng = np.random.default_rng(5)
    scores, same, left, right = _clustered(rng)
    correct = ((scores >= 1.0) == same).astype(float)
    wrong_fold = correct.copy()
    wrong_fold[:40] = 0.0  # a fold of all-wrong pairs, left out of the mean
    marked = correct.copy()
    marked[:40] = np.nan
    kept = operating.bootstrap_intervals(scores, same, True, left, right, n=300, seed=0, correct=marked)
    pooled = operating.bootstrap_intervals(scores, same, True, left, right, n=300, seed=0, correct=wrong_fold)
    assert kept.accuracy is not None and pooled.accuracy is not None
    assert kept.accuracy[0] <= np.mean(correct[40:]) <= kept.accuracy[1]
    assert pooled.accuracy[1] < kept.accuracy[1]  # counting the left-out fold would drag the interval down
