"""Pair sampling that always returns and says what it could not do; files used by content, not by name."""

from __future__ import annotations

import shutil
from pathlib import Path

import cv2
import numpy as np

from bench.compute.executors import LocalExecutor
from bench.compute.pipeline import Pipeline
from bench.compute.store import Store
from bench.compute.sweep import Sweep
from bench.data.datasets import Pairs, sample_pairs, scan, subsample
from tests.conftest import SAMPLE


def _tiny(root: Path, identities: int, per_identity: int) -> Path:
    for k in range(identities):
        folder = root / f"id{k}"
        folder.mkdir(parents=True)
        for j in range(per_identity):
            cv2.imwrite(str(folder / f"{j}.png"), np.full((8, 8, 3), 10 * k + j, np.uint8))
    return root


def test_asking_for_more_pairs_than_exist_returns_all_and_says_so(tmp_path: Path) -> None:
    data = scan(_tiny(tmp_path, 2, 2))  # 2 same pairs, 2 x 2 = 4 different pairs
    pairs = sample_pairs(data, 12)
    assert (int(pairs.same.sum()), int((~pairs.same).sum())) == (2, 4)
    assert len({(a, b) for a, b in zip(pairs.left, pairs.right)}) == 6
    assert any("only 2 same + 4 different exist" in note for note in pairs.notes)
    assert sample_pairs(data, 4).notes == ()  # 2 + 2: balanced, nothing to say


def test_unbalanced_sampling_is_noted(tmp_path: Path) -> None:
    data = scan(_tiny(tmp_path, 5, 2))  # 5 same pairs, 40 different
    pairs = sample_pairs(data, 30, seed=1)
    assert len(pairs) == 30 and pairs.same.sum() == 5
    assert any("cannot balance: 5 same + 25 different" in note for note in pairs.notes)
    again = sample_pairs(data, 30, seed=1)
    assert (again.left == pairs.left).all() and (again.right == pairs.right).all()


def test_subsample_draws_from_the_given_list_and_keeps_folds() -> None:
    n = 40
    listed = Pairs(np.arange(n), np.arange(n) + 100, np.arange(n) % 4 == 0, np.arange(n) // 10, "list.txt")
    picked = subsample(listed, 12, seed=2)
    assert len(picked) == 12 and picked.same.sum() == 6 and picked.notes == ()
    assert set(picked.left) <= set(listed.left) and (np.diff(picked.left) > 0).all()  # list order
    np.testing.assert_array_equal(picked.folds, picked.left // 10)
    assert picked.same.sum() == 6 and (picked.right == picked.left + 100).all()
    short = subsample(listed, 30, seed=2)  # only 10 same pairs exist
    assert short.same.sum() == 10 and len(short) == 30 and "cannot balance" in " ".join(short.notes)


def test_files_are_used_by_content_and_the_rest_reported(tmp_path: Path) -> None:
    root = tmp_path / "data"
    shutil.copytree(SAMPLE / "Colin_Powell", root / "Colin_Powell")
    shutil.copy(SAMPLE / "Colin_Powell" / "Colin_Powell_0001.jpg", root / "Colin_Powell" / "subject01.happy")
    grey = cv2.cvtColor(cv2.imread(str(SAMPLE / "Colin_Powell" / "Colin_Powell_0002.jpg")), cv2.COLOR_BGR2GRAY)
    _, pgm = cv2.imencode(".pgm", grey)
    (root / "Colin_Powell" / "face.pgm.bad").write_bytes(pgm.tobytes())
    (root / "Colin_Powell" / "notes.txt").write_text("taken in 2003\n")
    data = scan(root)
    rels = [img.rel for img in data.images]
    assert "Colin_Powell/subject01.happy" in rels and "Colin_Powell/face.pgm.bad" in rels
    assert [rel for rel, _ in data.skipped] == ["Colin_Powell/notes.txt"]
    sweep = Sweep(Pipeline(Store(tmp_path / "cache"), tmp_path, executor=LocalExecutor(quiet=True)), [], [])
    list(sweep.run(data))
    row = sweep.failures_frame().iloc[0]
    assert (row.image, row.status) == ("Colin_Powell/notes.txt", "unreadable") and "not an image" in row.reason
