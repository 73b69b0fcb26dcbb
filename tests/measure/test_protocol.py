"""Checks of bench.measure.kfold against scikit-learn, brute force and hand-worked cases."""

from __future__ import annotations

import itertools
import statistics

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, roc_auc_score, roc_curve

from bench.measure import kfold as P


def make_pairs(kind: str, higher: bool, n: int = 400, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Scores (similarities, or distances ``1 - sim``) and labels; "ties" has ~7 distinct values."""
    rng = np.random.default_rng(seed)
    same = rng.random(n) < 0.4
    sim = rng.normal(same.astype(float), 1.0)
    if kind == "ties":
        sim = np.round(sim)
    return (sim if higher else 1 - sim), same


@pytest.fixture(params=[(k, h) for k in ("random", "ties") for h in (True, False)], ids=str)
def pairs(request: pytest.FixtureRequest) -> tuple[np.ndarray, np.ndarray, bool]:
    kind, higher = request.param
    return (*make_pairs(kind, higher), higher)


def as_similarity(scores: np.ndarray, higher: bool) -> np.ndarray:
    return scores if higher else -scores


def predict_same(scores: np.ndarray, threshold: float, higher: bool) -> np.ndarray:
    return scores >= threshold if higher else scores <= threshold


def test_roc_matches_sklearn(pairs):
    scores, same, higher = pairs
    fpr, tpr, thresholds = P.roc(scores, same, higher)
    s = as_similarity(scores, higher)
    sk_fpr, sk_tpr, sk_thresholds = roc_curve(same, s, drop_intermediate=False)
    np.testing.assert_allclose(fpr, sk_fpr)
    np.testing.assert_allclose(tpr, sk_tpr)
    np.testing.assert_array_equal(thresholds, as_similarity(sk_thresholds, higher))


def test_roc_auc_matches_sklearn(pairs):
    scores, same, higher = pairs
    expected = roc_auc_score(same, as_similarity(scores, higher))
    assert P.roc_auc(scores, same, higher) == pytest.approx(expected, abs=1e-12)


def test_accuracy_at_matches_sklearn(pairs):
    scores, same, higher = pairs
    # Thresholds equal to scores exercise the tie (<= / >=) rule.
    for threshold in [*np.quantile(scores, [0.1, 0.5, 0.9]), *scores[:5]]:
        expected = accuracy_score(same, predict_same(scores, threshold, higher))
        assert P.accuracy_at(scores, same, threshold, higher) == pytest.approx(expected)


def test_best_threshold_is_brute_force_maximum(pairs):
    scores, same, higher = pairs
    threshold, accuracy = P.best_threshold(scores, same, higher)
    scan = [*np.unique(scores), scores.min() - 1, scores.max() + 1]
    brute = max(np.mean(predict_same(scores, t, higher) == same) for t in scan)
    assert accuracy == pytest.approx(brute)
    assert P.accuracy_at(scores, same, threshold, higher) == pytest.approx(accuracy)


def plateau_middle(scores, same, higher) -> float:
    """Independent best threshold in original units: the middle run of optimal candidates (counted from the most
    permissive), and the midpoint of the score values bounding that run (2 beyond the ends where it is open)."""
    values = sorted(set(scores.tolist()))
    edges = [values[0] - 2, *values, values[-1] + 2]
    candidates = [(a + b) / 2 for a, b in itertools.pairwise(edges)]  # candidate i lies between edges i and i+1
    accuracy = [np.mean(predict_same(scores, t, higher) == same) for t in candidates]
    order = list(range(len(candidates))) if higher else list(range(len(candidates)))[::-1]  # most permissive first
    best = [k for k, i in enumerate(order) if accuracy[i] == max(accuracy)]
    runs: list[list[int]] = []
    for k in best:
        if runs and k == runs[-1][-1] + 1:
            runs[-1].append(k)
        else:
            runs.append([k])
    run = [order[k] for k in runs[(len(runs) - 1) // 2]]
    low, high = min(run), max(run)
    return (edges[low] + edges[high + 1]) / 2


def brute_kfold(scores, same, folds, higher) -> tuple[float, float, list[float], list[float]]:
    """Independent k-fold with the threshold at the middle of the optimal plateau of the training folds."""
    thresholds, accuracies = [], []
    for k in sorted(set(folds.tolist())):
        train, test = folds != k, folds == k
        best = plateau_middle(scores[train], same[train], higher)
        thresholds.append(best)
        accuracies.append(float(np.mean(predict_same(scores[test], best, higher) == same[test])))
    return statistics.fmean(accuracies), statistics.pstdev(accuracies), thresholds, accuracies


@pytest.mark.parametrize("higher", [True, False])
def test_best_threshold_middle_of_plateau_hand_case(higher):
    to_scores = (lambda sim: np.asarray(sim, dtype=float)) if higher else (lambda sim: 1 - np.asarray(sim))
    # Similarities 0.1 (diff), 0.3 (diff), 0.5 (same), 0.6 (diff), 0.7 (same), 0.9 (same). Accepting >= t:
    # t in (0.3, 0.5] -> 5/6 correct (only 0.6 wrong); t in (0.6, 0.7] -> 5/6 (only 0.5 wrong); no t beats 5/6.
    # Two optimal runs, counted from the most permissive: the middle one is run 0, (0.3, 0.5): midpoint 0.4.
    same = np.array([0, 0, 1, 0, 1, 1], dtype=bool)
    threshold, accuracy = P.best_threshold(to_scores([0.1, 0.3, 0.5, 0.6, 0.7, 0.9]), same, higher)
    assert accuracy == pytest.approx(5 / 6)
    assert threshold == pytest.approx(float(to_scores(0.4)))
    # A plateau over tied scores whose flips cancel: 0.2 (diff), 0.5 (same) and 0.5 (diff), 0.8 (same).
    # t in (0.2, 0.5] and t in (0.5, 0.8] both give 3/4: one run from 0.2 to 0.8, middle 0.5.
    same = np.array([0, 1, 0, 1], dtype=bool)
    threshold, accuracy = P.best_threshold(to_scores([0.2, 0.5, 0.5, 0.8]), same, higher)
    assert (threshold, accuracy) == pytest.approx((float(to_scores(0.5)), 3 / 4))
    # Separable: the one optimal step between 0.4 and 0.6 -> 0.5.
    threshold, accuracy = P.best_threshold(to_scores([0.1, 0.4, 0.6, 0.9]), np.array([0, 0, 1, 1]), higher)
    assert (threshold, accuracy) == pytest.approx((float(to_scores(0.5)), 1.0))


def test_best_threshold_matches_independent_plateau_middle(pairs):
    scores, same, higher = pairs
    assert P.best_threshold(scores, same, higher)[0] == pytest.approx(plateau_middle(scores, same, higher))


def test_kfold_matches_brute_force(pairs):
    scores, same, higher = pairs
    folds = np.repeat([3, 0, 2, 1], [100, 50, 150, 100])  # uneven, hand-made, ids out of order
    result = P.kfold_accuracy(scores, same, folds, higher)
    mean, std, thresholds, accuracies = brute_kfold(scores, same, folds, higher)
    assert result.accuracy_mean == pytest.approx(mean)
    assert result.accuracy_std == pytest.approx(std)
    np.testing.assert_allclose(result.thresholds, thresholds)
    np.testing.assert_allclose(result.fold_accuracies, accuracies)


@pytest.mark.parametrize("higher", [True, False])
def test_eer_known_answers(higher):
    to_scores = (lambda sim: np.asarray(sim)) if higher else (lambda sim: 1 - np.asarray(sim))
    # Crossing between ROC points (FPR 1/3 -> 1/3, FNR 1/2 -> 0): meet at 1/3, a third of the way.
    same = np.array([1, 0, 1, 0, 0])
    rate, threshold = P.eer(to_scores([0.9, 0.7, 0.5, 0.3, 0.2]), same, higher)
    assert rate == pytest.approx(1 / 3)
    assert threshold == pytest.approx(float(to_scores(0.7 - (0.7 - 0.5) / 3)))
    # Crossing exactly on a ROC point: at 0.6, FPR = FNR = 1/4.
    same = np.array([1, 1, 1, 0, 1, 0, 0, 0])
    rate, threshold = P.eer(to_scores([0.9, 0.8, 0.7, 0.6, 0.4, 0.3, 0.2, 0.1]), same, higher)
    assert (rate, threshold) == pytest.approx((0.25, float(to_scores(0.6))))
    # Separable: no errors.
    assert P.eer(to_scores([0.9, 0.8, 0.2, 0.1]), np.array([1, 1, 0, 0]), higher)[0] == 0
    # All tied: halfway along the one ROC segment; the threshold stays finite (not the ROC's inf).
    rate, threshold = P.eer(to_scores([0.4] * 4), np.array([1, 0, 1, 0]), higher)
    assert (rate, threshold) == pytest.approx((0.5, float(to_scores(0.4))))


def test_tar_at_far_none_when_too_few_different_pairs():
    rng = np.random.default_rng(1)
    scores, same = rng.random(199), np.arange(199) < 100  # 99 different pairs
    assert P.tar_at_far(scores, same, 1e-2, True) is None
    assert P.tar_at_far(scores, same, 1e-1, True) is not None
    assert P.tar_at_far(np.append(scores, 0.5), np.append(same, False), 1e-2, True) is not None


def test_tar_at_far_hand_case_and_sklearn(pairs):
    diff = np.arange(10) / 10  # 0.0 .. 0.9
    sims = np.concatenate([diff, [0.95, 0.85, 0.5]])
    same = np.arange(13) >= 10
    assert P.tar_at_far(sims, same, 0.1, True) == pytest.approx(2 / 3)  # accepts 0.9 (FAR 1/10)
    assert P.tar_at_far(1 - sims, same, 0.1, False) == pytest.approx(2 / 3)
    scores, same, higher = pairs
    fpr, tpr, _ = roc_curve(same, as_similarity(scores, higher), drop_intermediate=False)
    assert P.tar_at_far(scores, same, 0.1, higher) == pytest.approx(tpr[fpr <= 0.1].max())


def test_flipping_sign_and_flag_changes_nothing(pairs):
    scores, same, higher = pairs
    flipped = (-scores, same, not higher)
    threshold = float(np.median(scores))
    a = P.summarize(scores, same, higher, default_threshold=threshold)
    b = P.summarize(*flipped, default_threshold=-threshold)
    for key in ("best_threshold", "eer_threshold"):
        assert a.pop(key) == pytest.approx(-b.pop(key))
    assert a == pytest.approx(b)
    np.testing.assert_array_equal(P.roc(scores, same, higher)[2], -P.roc(*flipped)[2])


def test_wrong_flag_inverts_auc():
    distances, same = make_pairs("random", higher=False)
    auc = P.roc_auc(distances, same, False)
    assert auc > 0.7
    assert P.roc_auc(distances, same, True) == pytest.approx(1 - auc)
    separable = np.array([0.1, 0.2, 0.8, 0.9])
    assert P.roc_auc(separable, np.array([1, 1, 0, 0]), False) == 1.0


@pytest.mark.parametrize(
    ("scores", "same", "message"),
    [
        ([0.1, 0.2], [1, 1], "no different"),
        ([0.1, 0.2], [0, 0], "no same"),
        ([0.1, 0.2, 0.3], [1, 0], "differ in length"),
        ([0.1, np.nan], [1, 0], "NaN"),
    ],
)
def test_invalid_input_raises(scores, same, message):
    for call in (
        lambda: P.roc(scores, same, True),
        lambda: P.best_threshold(scores, same, False),
        lambda: P.summarize(scores, same, True),
    ):
        with pytest.raises(ValueError, match=message):
            call()


def test_accuracy_at_accepts_one_class():  # a k-fold test fold may hold a single class
    assert P.accuracy_at([0.2, 0.6, 0.9], [1, 1, 1], 0.5, False) == pytest.approx(1 / 3)


def test_make_folds_stratified_and_deterministic():
    same = np.arange(103) < 41
    folds = P.make_folds(103, 10, seed=3, same=same)
    np.testing.assert_array_equal(folds, P.make_folds(103, 10, seed=3, same=same))
    assert not np.array_equal(folds, P.make_folds(103, 10, seed=4, same=same))
    for subset in (np.ones_like(same), same, ~same):
        counts = np.bincount(folds[subset], minlength=10)
        assert counts.max() - counts.min() <= 1
    assert sorted(np.unique(P.make_folds(20, 4))) == [0, 1, 2, 3]


def test_summarize_keys():
    scores, same = make_pairs("random", higher=True, n=300)
    summary = P.summarize(scores, same, True)
    assert summary["n_folds"] == 10 and summary["acc_at_default"] is None
    counts = (summary["n_pairs"], summary["n_same"], summary["n_diff"])
    assert counts == (300, same.sum(), (~same).sum())
    assert summary["tar_at_far_1e-01"] is not None and summary["tar_at_far_1e-03"] is None
    assert summary["acc_best_same_pairs"] >= summary["acc_kfold_mean"] - 0.05


def test_with_failures_counts_unscored_pairs_as_non_matches():
    # Similarities; NaN = an image without an embedding. Folds 0 and 1.
    # Fold 0 scored: 0.9 same, 0.8 same, 0.2 diff -> trained on fold 1.
    # Fold 1 scored: 0.7 same, 0.3 diff, 0.1 diff; unscored: one same (wrong), one diff (right).
    scores = np.array([0.9, 0.8, 0.2, np.nan, 0.7, 0.3, 0.1, np.nan, np.nan])
    same = np.array([1, 1, 0, 1, 1, 0, 0, 1, 0], dtype=bool)
    folds = np.array([0, 0, 0, 0, 1, 1, 1, 1, 1])
    out = P.with_failures(scores, same, folds, True, default_threshold=0.75)
    # Fold 1's scored pairs separate between 0.3 and 0.7 -> threshold 0.5; fold 0: 3 right of 3 scored, its
    # unscored same pair wrong -> 3/4. Fold 0's scored pairs: threshold (0.2 + 0.8) / 2 = 0.5; fold 1: 3 scored
    # right, unscored same wrong, unscored diff right -> 4/5.
    assert out["acc_kfold_mean_fail_as_nonmatch"] == pytest.approx((3 / 4 + 4 / 5) / 2)
    assert out["acc_kfold_std_fail_as_nonmatch"] == pytest.approx(abs(3 / 4 - 4 / 5) / 2)
    assert out["acc_best_same_pairs_fail_as_nonmatch"] == pytest.approx(7 / 9)  # 6 scored right + 1 unscored diff
    # At 0.75: 0.7 (same) rejected -> 5 scored right, + 1 unscored diff.
    assert out["acc_at_default_fail_as_nonmatch"] == pytest.approx(6 / 9)
    distances = P.with_failures(1 - scores, same, folds, False, default_threshold=0.25)
    assert distances == pytest.approx(out)


@pytest.mark.parametrize("higher", [True, False])
def test_a_one_class_fold_is_reported_and_left_out_of_the_mean(higher):
    scores, same = make_pairs("random", higher, n=300, seed=4)
    folds = np.arange(300) % 5
    folds[same] = np.where(folds[same] == 3, 1, folds[same])  # fold 3: impostors only
    result = P.kfold_accuracy(scores, same, folds, higher)
    assert result.left_out == {3: P.ONE_CLASS} and result.describe_left_out() == "3 (one class)"
    _, _, thresholds, accuracies = brute_kfold(scores, same, folds, higher)
    kept = [a for k, a in enumerate(accuracies) if k != 3]
    assert result.accuracy_mean == pytest.approx(statistics.fmean(kept))
    assert result.accuracy_std == pytest.approx(statistics.pstdev(kept))
    np.testing.assert_allclose(result.fold_accuracies, accuracies)  # fold 3 is still reported
    np.testing.assert_allclose(result.thresholds, thresholds)
    failures = P.with_failures(scores, same, folds, higher)
    assert failures["acc_kfold_mean_fail_as_nonmatch"] == pytest.approx(result.accuracy_mean)
    assert failures["folds_left_out_fail_as_nonmatch"] == "3 (one class)"


def test_folds_blocked_by_class_are_all_left_out_not_raised():
    same = np.array([True] * 4 + [False] * 4)
    scores = np.linspace(1, 0, 8)
    result = P.kfold_accuracy(scores, same, np.repeat([7, 2], 4), True)  # each fold holds one class
    assert result.left_out == {2: P.UNTRAINED, 7: P.UNTRAINED} and np.isnan(result.accuracy_mean)
    assert np.isnan(result.thresholds).all() and np.isnan(result.fold_accuracies).all()
    single = P.kfold_accuracy(scores, same, np.zeros(8, int), True)
    assert single.left_out == {0: P.UNTRAINED} and np.isnan(single.accuracy_mean)


def test_pairs_in_any_order_with_their_folds_give_the_same_kfold(pairs):
    scores, same, higher = pairs
    folds = np.repeat([3, 0, 2, 1], [100, 50, 150, 100])
    shuffle = np.random.default_rng(5).permutation(len(scores))
    result = P.kfold_accuracy(scores, same, folds, higher)
    again = P.kfold_accuracy(scores[shuffle], same[shuffle], folds[shuffle], higher)
    assert again == result
    assert P.summarize(scores, same, higher, folds) == P.summarize(
        scores[shuffle], same[shuffle], higher, folds[shuffle]
    )


def test_kfold_against_sklearn_on_given_folds(pairs):
    scores, same, higher = pairs
    folds = np.arange(len(scores)) % 4
    result = P.kfold_accuracy(scores, same, folds, higher)
    for k, threshold in enumerate(result.thresholds):
        test = folds == k
        expected = accuracy_score(same[test], predict_same(scores[test], threshold, higher))
        assert result.fold_accuracies[k] == pytest.approx(expected)
