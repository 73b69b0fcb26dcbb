"""Per-group rates at one threshold, GARBE and FDR, against hand computations."""

from __future__ import annotations

import numpy as np
import pytest

from bench.data.attributes import UNLABELLED
from bench.measure.differentials import (
    ALL,
    CROSS,
    PairSet,
    analyse,
    detection_by_group,
    fdr,
    garbe,
    gini,
    max_min_ratio,
    pair_groups,
)

# A built case (distances: lower = more similar). Labels of the two images, score, genuine?
CASE = [
    ("A", "A", 0.10, True),
    ("A", "A", 0.20, True),
    ("A", "A", 0.75, True),
    ("A", "A", 0.30, False),
    ("A", "A", 0.80, False),
    ("A", "A", 0.90, False),
    ("A", "A", 0.95, False),
    ("B", "B", 0.15, True),
    ("B", "B", 0.72, True),
    ("B", "B", 0.70, False),
    ("B", "B", 0.85, False),
    ("A", "B", 0.40, False),
    ("B", "A", 0.99, False),
    ("A", UNLABELLED, 0.25, True),
]


def _case() -> PairSet:
    left, right, scores, same = (np.array(c, dtype=object) for c in zip(*CASE))
    subjects_l = np.array([f"s{i}" for i in range(len(CASE))])
    subjects_r = np.array([f"s{i}" if s else f"t{i}" for i, s in enumerate(same)])
    return PairSet(scores.astype(float), same.astype(bool), False, left, right, subjects_l, subjects_r)


def test_pair_groups() -> None:
    got = pair_groups(["A", "A", "B", UNLABELLED], ["A", "B", "B", "A"]).tolist()
    assert got == ["A", CROSS, "B", UNLABELLED]


def test_per_group_rates_match_the_hand_computation() -> None:
    # 8 impostors, target FMR 0.25 -> at most 2 accepted: 0.30 and 0.40 pass, 0.70 does not; the threshold is
    # the midpoint 0.55. At 0.55: A accepts impostor 0.30 of 4 and rejects genuine 0.75 of 3; B accepts none of
    # its 2 impostors and rejects genuine 0.72 of 2; the cross-group impostor 0.40 of 2 is accepted.
    rows, summary = analyse(_case(), 0.25, n_bootstrap=0)
    by = {r["group"]: r for r in rows}
    assert summary["threshold"] == pytest.approx(0.55) and summary["fmr_achieved"] == 0.25
    assert (by["A"]["fmr"], by["A"]["fnmr"]) == (0.25, pytest.approx(1 / 3))
    assert (by["A"]["n_impostor"], by["A"]["n_false_match"], by["A"]["n_genuine"]) == (4, 1, 3)
    assert (by["B"]["fmr"], by["B"]["fnmr"]) == (0.0, 0.5)
    assert by[CROSS]["fmr"] == 0.5 and by[CROSS]["n_impostor"] == 2 and np.isnan(by[CROSS]["fnmr"])
    assert (by[ALL]["fmr"], by[ALL]["fnmr"]) == (0.25, pytest.approx(2 / 6))
    assert by[UNLABELLED]["n_genuine"] == 1 and by[UNLABELLED]["n_false_nonmatch"] == 0
    assert by["A"]["n_subjects"] == 3 + 2 * 4 and by[CROSS]["n_subjects"] == 4
    # Own thresholds: A's 4 impostors allow 1 false match -> accept up to genuine 0.75, reject 0.80: (0.775);
    # B's 2 allow none -> midpoint of 0.15 and 0.70 (0.425), where B's genuine 0.72 is rejected.
    assert by["A"]["group_threshold"] == pytest.approx(0.775) and by["A"]["group_threshold_fnmr"] == 0
    assert by["B"]["group_threshold"] == pytest.approx(0.425) and by["B"]["group_threshold_fnmr"] == 0.5
    # Differentials of FMR (0.25, 0) and FNMR (1/3, 1/2), alpha 0.5:
    # ratio FMR inf, ratio FNMR 1.5; Gini of two rates is |a-b|/(a+b): 1 and (1/6)/(5/6) = 0.2 -> GARBE 0.6;
    # FDR = 1 - (0.5 * 0.25 + 0.5 * 1/6) = 0.791667.
    assert summary["fmr_ratio"] == np.inf and summary["fnmr_ratio"] == pytest.approx(1.5)
    assert summary["garbe"] == pytest.approx(0.6) and summary["fdr"] == pytest.approx(1 - 0.125 - 1 / 12)


def test_gini_garbe_fdr_on_numbers_worked_by_hand() -> None:
    # Three groups 0.1, 0.2, 0.3: sum over ordered pairs of |x_i - x_j| = 0.8, mean 0.2:
    # G = 3/2 * 0.8 / (2 * 9 * 0.2) = 1/3 (= mean absolute difference 0.4/3 over twice the mean).
    assert gini(np.array([0.1, 0.2, 0.3])) == pytest.approx(1 / 3)
    assert gini(np.array([0.0, 0.0, 0.5])) == pytest.approx(1.0)  # all error in one group
    assert gini(np.zeros(3)) == 0
    fmr, fnmr = np.array([0.001, 0.003]), np.array([0.02, 0.05])
    # G(FMR) = 0.002/0.004 = 0.5; G(FNMR) = 0.03/0.07; alpha 0.3 -> 0.3*0.5 + 0.7*0.428571 = 0.45
    assert garbe(fmr, fnmr, 0.3) == pytest.approx(0.3 * 0.5 + 0.7 * 0.03 / 0.07)
    # FDR: A = 0.002, B = 0.03 -> 1 - (0.3*0.002 + 0.7*0.03) = 0.9784
    assert fdr(fmr, fnmr, 0.3) == pytest.approx(0.9784)
    assert fdr(np.array([0.01, 0.01]), np.array([0.1, 0.1])) == 1.0
    assert max_min_ratio(np.array([0.02, 0.005])) == pytest.approx(4.0)
    assert np.isnan(max_min_ratio(np.zeros(2)))


def test_bootstrap_intervals_are_seeded_and_bracket_the_estimate() -> None:
    rng = np.random.default_rng(1)
    n = 400
    subj = rng.integers(0, 60, size=(n, 2))
    same = rng.random(n) < 0.5
    subj[same, 1] = subj[same, 0]
    subj[~same & (subj[:, 0] == subj[:, 1]), 1] += 60  # impostors: two different subjects
    group = np.where(subj % 2 == 0, "A", "B").astype(object)  # a subject's group is fixed
    scores = np.where(same, rng.normal(0.5, 0.12, n), rng.normal(0.8, 0.1, n)) + 0.05 * (group[:, 0] == "B")
    pairs = PairSet(scores, same, False, group[:, 0], group[:, 1], subj[:, 0].astype(str), subj[:, 1].astype(str))
    rows, summary = analyse(pairs, 0.05, n_bootstrap=300, seed=4)
    again, summary2 = analyse(pairs, 0.05, n_bootstrap=300, seed=4)
    np.testing.assert_equal((rows, summary), (again, summary2))
    for row in rows[:2]:
        assert row["fmr_ci_low"] <= row["fmr"] <= row["fmr_ci_high"]
        assert row["fnmr_ci_low"] <= row["fnmr"] <= row["fnmr_ci_high"] and row["fnmr_ci_high"] > row["fnmr_ci_low"]
    assert summary["garbe_ci_low"] <= summary["garbe"] <= summary["garbe_ci_high"]
    assert summary["fdr_ci_low"] <= summary["fdr"] <= summary["fdr_ci_high"] <= 1


def test_failure_to_detect_by_group() -> None:
    groups = np.array(["A", "A", "B", "B", UNLABELLED], dtype=object)
    failed = np.array([True, False, False, False, True])
    rows = {r["group"]: r for r in detection_by_group(groups, failed, np.array(list("ppqrs")), n_bootstrap=0)}
    assert rows["A"]["ftd_rate"] == 0.5 and rows["B"]["ftd_rate"] == 0.0
    assert rows[ALL]["ftd_rate"] == 0.4 and rows[UNLABELLED]["n_failed_detection"] == 1
