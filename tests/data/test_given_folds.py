"""Given folds on real LFW pairs: a pair file listed in another order, with its fold numbers, scores as View 2."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from bench.data.datasets import scan
from benchmarks.build_formats import fold_subset
from tests.conftest import LFW, bench_fakes, needs_lfw, read_pairs

FIGURES = ["acc_kfold_mean", "acc_kfold_std", "n_folds", "acc_best_same_pairs", "auc", "eer", "n_pairs_scored"]


def _name_number(path: str) -> tuple[str, int]:
    """``("Name", 1)`` of ``Name/Name_0001.jpg``."""
    return path.split("/")[0], int(Path(path).stem.rsplit("_", 1)[1])


def _lfw_line(a: str, b: str, same: bool) -> str:
    """``name n1 n2`` (same) or ``name1 n1 name2 n2`` (different)."""
    (na, ka), (nb, kb) = _name_number(a), _name_number(b)
    return f"{na}\t{ka}\t{kb}" if same else f"{na}\t{ka}\t{nb}\t{kb}"


def _accuracy(pairs_file: Path, out: Path) -> pd.DataFrame:
    code, text = bench_fakes("accuracy", LFW, out, "--pairs", str(pairs_file), "--metric", "cosine", "--run-id", "r")
    assert code == 0, text
    return pd.read_csv(out / "r" / "accuracy.csv")


@needs_lfw
def test_a_pair_file_ordered_by_source_with_its_folds_scores_as_the_standard_order(tmp_path: Path) -> None:
    data = scan(LFW)
    pairs = fold_subset(read_pairs(data, LFW / "pairs.txt"), 15)  # View 2's 10 folds, 15 + 15 pairs each
    rel = [img.rel for img in data.images]
    a, b = [rel[i] for i in pairs.left], [rel[i] for i in pairs.right]
    standard = tmp_path / "pairs.txt"  # LFW's own layout: the folds are the consecutive blocks
    standard.write_text("10\t15\n" + "".join(_lfw_line(x, y, s) + "\n" for x, y, s in zip(a, b, pairs.same)))
    listed = pd.DataFrame({"file_x": a, "file_y": b, "same": pairs.same.astype(int), "fold": pairs.folds + 1})
    by_source = tmp_path / "by_source.csv"
    listed.sort_values(["file_x", "file_y"]).to_csv(by_source, index=False)  # folds interleaved, ids 1..10
    expected = _accuracy(standard, tmp_path / "standard")
    got = _accuracy(by_source, tmp_path / "by_source")
    assert (expected.n_folds == 10).all() and (expected.n_pairs_scored > 250).all()
    pd.testing.assert_frame_equal(got[FIGURES], expected[FIGURES])
    assert got.folds.eq("given by pair list").all() and got.folds_left_out.isna().all()
