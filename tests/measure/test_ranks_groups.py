"""TinyFace-style image-level ranks and RFW-style per-group accuracy, against direct computations."""

from __future__ import annotations

import numpy as np

from bench import plugins
from bench.measure import kfold as protocol
from bench.measure.groups import group_accuracy
from bench.measure.ranks import probe_ranks, rank_rates


def _metric(name: str):  # type: ignore[no-untyped-def]
    return plugins.load().metrics.get(name)


def test_ranks_by_hand() -> None:
    gallery = np.array([[1.0, 0.0], [0.0, 1.0], [0.7, 0.7], [np.nan, np.nan]])
    gallery_ids = np.array(["a", "b", "x", "a"])  # x: a distractor; the NaN row is left out
    probes = np.array([[1.0, 0.1], [1.0, 0.1], [0.6, 0.8], [np.nan, 0.0]])
    probe_ids = np.array(["a", "b", "c", "a"])
    ranks = probe_ranks(probes, probe_ids, gallery, gallery_ids, _metric("cosine"))
    # probe 0 (a): a is closest -> 1; probe 1 (b): a and x beat b -> 3; c: not in the gallery; NaN probe: miss
    assert ranks.tolist() == [1, 3, np.inf, np.inf]
    assert rank_rates(ranks, (1, 5)) == {"rank1": 0.25, "rank5": 0.5}


def test_ranks_match_a_brute_force_loop_in_any_block() -> None:
    rng = np.random.default_rng(0)
    gallery, gallery_ids = rng.normal(size=(300, 8)), rng.integers(0, 40, 300)
    gallery_ids[250:] = -1  # distractors
    probes, probe_ids = rng.normal(size=(90, 8)), rng.integers(0, 45, 90)
    metric = _metric("euclidean")
    expected = []
    for vec, pid in zip(probes, probe_ids):
        dist = np.linalg.norm(gallery - vec, axis=1)
        mated = gallery_ids == pid
        expected.append(1 + np.sum(dist[~mated] <= dist[mated].min()) if mated.any() else np.inf)
    for cells in (1, 1000, 1 << 22):
        np.testing.assert_array_equal(probe_ranks(probes, probe_ids, gallery, gallery_ids, metric, cells), expected)


def test_group_accuracy_is_each_groups_own_kfold_and_the_spread() -> None:
    rng = np.random.default_rng(3)
    n = 800
    same = rng.random(n) < 0.5
    groups = np.array(["African", "Asian", "Caucasian", "Indian"])[rng.integers(0, 4, n)]
    noise = {"African": 1.2, "Asian": 1.0, "Caucasian": 0.5, "Indian": 0.8}
    scores = same * 1.0 + rng.normal(size=n) * np.array([noise[g] for g in groups])
    folds = np.arange(n) % 10
    rows, spread = group_accuracy(scores, same, folds, groups, True)
    assert [r["group"] for r in rows] == ["African", "Asian", "Caucasian", "Indian"]
    for row in rows:
        mask = groups == row["group"]
        assert (
            row["acc_kfold_mean"] == protocol.kfold_accuracy(scores[mask], same[mask], folds[mask], True).accuracy_mean
        )
    acc = np.array([r["acc_kfold_mean"] for r in rows])
    assert spread["max_gap"] == acc.max() - acc.min() and np.isclose(spread["std"], np.std(acc))
    assert np.isclose(spread["ser"], (1 - acc.min()) / (1 - acc.max()))
    assert rows[2]["acc_kfold_mean"] == acc.max()  # the least noisy group is the most accurate


def test_a_group_with_one_class_has_no_accuracy_and_no_part_in_the_spread() -> None:
    scores = np.array([0.9, 0.8, 0.1, 0.2, 0.95, 0.85, 0.9, 0.7])
    same = np.array([True, True, False, False, True, True, True, True])
    groups = np.array(["a", "a", "a", "a", "b", "b", "b", "b"])
    rows, spread = group_accuracy(scores, same, np.array([0, 1, 0, 1, 0, 1, 0, 1]), groups, True)
    assert rows[0]["acc_kfold_mean"] == 1.0 and rows[1]["acc_kfold_mean"] is None
    assert rows[1]["status"] == "too few pairs of each class" and spread["max_gap"] == 0.0
