"""CFP, CALFW/CPLFW and RFW readers on LFW written in each layout: the same pairs, labels and folds as the folder
path, every pair's images the same bytes (so the same cache entries and embeddings)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bench import plugins, protocols
from bench.data.datasets import Dataset, DatasetError, Pairs, restrict, scan
from benchmarks.build_formats import build_calfw, build_cfp, build_rfw, fold_subset, gender_groups, rfw_subset
from facebench_plugins.protocols.protocols_bin import consecutive_folds
from facebench_plugins.protocols.protocols_pairs import pair_groups_of
from tests.conftest import LFW, needs_lfw, read_pairs


@pytest.fixture(scope="module")
def view2_subset() -> tuple[Dataset, Pairs]:
    if not (LFW / "pairs.txt").is_file():
        pytest.skip(f"LFW not in {LFW}")
    data = scan(LFW)
    return restrict(data, fold_subset(read_pairs(data, LFW / "pairs.txt"), 20))  # 10 folds x 40 = 400 pairs


def _shas(dataset: Dataset, index: np.ndarray) -> list[str]:
    return [dataset.images[i].sha256() for i in index]


def _same_pairs(a: tuple[Dataset, Pairs], b: tuple[Dataset, Pairs]) -> None:
    (da, pa), (db, pb) = a, b
    assert len(pa) == len(pb) and (pa.same == pb.same).all()
    assert _shas(da, pa.left) == _shas(db, pb.left) and _shas(da, pa.right) == _shas(db, pb.right)


def _open(path: Path, declared: str | None = None) -> tuple[Dataset, Pairs]:
    """As ``bench accuracy --i PATH`` does; reading the pairs again by the dataset's own reader gives the same."""
    registry = plugins.load().protocols
    dataset, pairs = protocols.open_benchmark(registry, path, declared)
    again = protocols.read_pairs(registry, dataset, dataset.pairs_file, dataset.protocol)
    assert (again.left == pairs.left).all() and (again.right == pairs.right).all() and (again.same == pairs.same).all()
    return dataset, pairs


@needs_lfw
@pytest.mark.parametrize("split", ["cfp-fp", "cfp-ff"])
def test_cfp_layout_reads_back_the_pairs_and_folds(view2_subset, tmp_path: Path, split: str) -> None:  # type: ignore[no-untyped-def]
    data, pairs = view2_subset
    build_cfp(data, pairs, tmp_path / "cfp-dataset")
    got = _open(tmp_path / "cfp-dataset", split)
    assert got[0].protocol == split
    order = np.lexsort((~pairs.same, pairs.folds))  # CFP lists each fold's same pairs, then its different ones
    reordered = Pairs(pairs.left[order], pairs.right[order], pairs.same[order], pairs.folds[order])
    _same_pairs((data, reordered), got)
    assert (got[1].folds == reordered.folds).all()
    poses = {got[0].images[i].attrs["pose"] for i in got[1].right}
    assert poses == ({"profile"} if split == "cfp-fp" else {"frontal"})
    assert protocols.benchmark_at(plugins.load().protocols, tmp_path / "cfp-dataset").name == "cfp-fp"
    assert protocols.benchmark_at(plugins.load().protocols, LFW) is None  # a plain identity folder


@needs_lfw
def test_calfw_layout_reads_back_the_pairs_and_folds(view2_subset, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    data, pairs = view2_subset
    pairs_file = build_calfw(data, pairs, tmp_path / "calfw")
    for path in (tmp_path / "calfw", pairs_file):  # the folder or the pair file itself
        got = _open(path)
        assert got[0].protocol == "calfw-cplfw"
        _same_pairs((data, pairs), got)
        assert (got[1].folds == pairs.folds).all()  # 10 consecutive folds are View 2's folds here
    identities = {got[0].images[i].identity for i in got[1].left[:3]}
    assert identities == {data.images[i].identity for i in pairs.left[:3]}


@needs_lfw
def test_rfw_layout_reads_back_groups(view2_subset, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    data, pairs = view2_subset
    sub, groups = rfw_subset(data, pairs, gender_groups(LFW))
    build_rfw(data, sub, groups, tmp_path / "RFW")
    got = _open(tmp_path / "RFW")
    assert got[0].protocol == "rfw"
    order = np.argsort(groups, kind="stable")  # the reader reads group after group
    expected = Pairs(sub.left[order], sub.right[order], sub.same[order])
    _same_pairs((data, expected), got)
    got_groups = pair_groups_of(*got)
    assert got_groups.tolist() == sorted(groups)
    for group in set(groups):
        mask = got_groups == group
        assert (got[1].folds[mask] == consecutive_folds(int(mask.sum()))).all()
    female = {name for name, g in gender_groups(LFW).items() if g == "Female"}
    assert all((got[0].images[i].path.name in female) == (g == "Female") for i, g in zip(got[1].left, got_groups))


def test_missing_images_and_bad_lines_are_one_line_errors(tmp_path: Path) -> None:
    folder = tmp_path / "calfw"
    (folder / "aligned images").mkdir(parents=True)
    (folder / "pairs_CALFW.txt").write_text("A_0001.jpg 1\nA_0002.jpg 1\n")
    with pytest.raises(DatasetError, match="2 listed images are missing"):
        _open(folder)
    (folder / "pairs_CALFW.txt").write_text("A_0001.jpg 1\nA_0002.jpg 1\nB_0001.jpg 0\n")
    with pytest.raises(DatasetError, match="an odd number"):
        plugins.load().protocols.get("calfw-cplfw").read(folder, None)
