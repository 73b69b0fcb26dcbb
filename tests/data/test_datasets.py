"""Datasets, pair lists and datasets.yaml."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bench.data.catalog import load_catalog
from bench.data.datasets import DatasetError, sample_pairs, scan
from tests.conftest import LFW, REPO, SAMPLE, needs_lfw, read_pairs


def test_scan_sample() -> None:
    data = scan(SAMPLE)
    assert len(data.images) == 36 and len(data.identities()) == 6
    assert data.images[0].rel == f"{data.images[0].identity}/{data.images[0].path.name}"


def test_csv_pairs_of_sample() -> None:
    data = scan(SAMPLE)
    pairs = read_pairs(data, SAMPLE / "pairs.csv")
    assert len(pairs) == 180 and pairs.same.sum() == 90 and pairs.folds is None
    ids = [(data.images[a].identity == data.images[b].identity) for a, b in zip(pairs.left, pairs.right)]
    assert ids == pairs.same.tolist()


@needs_lfw
def test_lfw_view2_has_ten_folds_of_600() -> None:
    data = scan(LFW)
    pairs = read_pairs(data, LFW / "pairs.txt")
    assert len(pairs) == 6000 and pairs.same.sum() == 3000
    assert np.bincount(pairs.folds).tolist() == [600] * 10
    for fold in range(10):
        assert pairs.same[pairs.folds == fold].sum() == 300
    first = data.images[pairs.left[0]].rel, data.images[pairs.right[0]].rel
    assert first == ("Abel_Pacheco/Abel_Pacheco_0001.jpg", "Abel_Pacheco/Abel_Pacheco_0004.jpg")
    dev = read_pairs(data, LFW / "pairsDevTest.txt")
    assert len(dev) == 1000 and dev.same.sum() == 500 and dev.folds is None


def test_pairs_escaping_the_root_are_refused(tmp_path: Path) -> None:
    bad = tmp_path / "pairs.csv"
    bad.write_text("file_x,file_y,same\n../../etc/passwd,Colin_Powell/Colin_Powell_0001.jpg,0\n")
    with pytest.raises(DatasetError, match="leaves the dataset root"):
        read_pairs(scan(SAMPLE), bad)


def test_pairs_naming_a_missing_image(tmp_path: Path) -> None:
    bad = tmp_path / "pairs.csv"
    bad.write_text("file_x,file_y,same\nNobody/x.jpg,Colin_Powell/Colin_Powell_0001.jpg,0\n")
    with pytest.raises(DatasetError, match="image Nobody/x.jpg is not in dataset"):
        read_pairs(scan(SAMPLE), bad)


def test_sampled_pairs_are_balanced_and_seeded() -> None:
    data = scan(SAMPLE)
    a, b = sample_pairs(data, 100, seed=3), sample_pairs(data, 100, seed=3)
    assert a.same.sum() == 50 and len(a) == 100
    assert (a.left == b.left).all() and (a.right == b.right).all()
    ids = np.array([data.images[i].identity for i in range(len(data.images))])
    assert ((ids[a.left] == ids[a.right]) == a.same).all()
    assert not (sample_pairs(data, 100, seed=4).left == a.left).all()


def test_catalog_of_the_repo() -> None:
    catalog = load_catalog(REPO / "datasets.yaml")
    assert {"sample", "lfw", "hairstyle", "makeup", "rotation", "synthetic"} <= set(catalog)
    assert catalog["sample"].present() and catalog["sample"].pairs == SAMPLE.resolve() / "pairs.csv"


def test_malformed_catalog_names_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "datasets.yaml"
    bad.write_text("datasets:\n  a:\n    root: x\n   bad indent: [\n")
    with pytest.raises(DatasetError, match=r"datasets.yaml:\d+: invalid YAML"):
        load_catalog(bad)
    bad.write_text("datasets:\n  a:\n    rooot: x\n")
    with pytest.raises(DatasetError, match="needs a mapping with at least 'root:'"):
        load_catalog(bad)


def test_env_default_in_catalog(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "d.yaml").write_text("datasets:\n  x:\n    root: ${MY_ROOT:-fallback}/faces\n")
    monkeypatch.delenv("MY_ROOT", raising=False)
    assert load_catalog(tmp_path / "d.yaml")["x"].root == (tmp_path / "fallback" / "faces").resolve()
    monkeypatch.setenv("MY_ROOT", str(tmp_path / "elsewhere"))
    assert load_catalog(tmp_path / "d.yaml")["x"].root == (tmp_path / "elsewhere" / "faces").resolve()


def test_restrict_keeps_only_paired_images() -> None:
    from bench.data.datasets import restrict

    data = scan(SAMPLE)
    pairs = read_pairs(data, SAMPLE / "pairs.csv")
    pairs.left, pairs.right, pairs.same = pairs.left[:3], pairs.right[:3], pairs.same[:3]
    small, moved = restrict(data, pairs)
    assert len(small.images) < len(data.images)
    for a, b, x, y in zip(pairs.left, pairs.right, moved.left, moved.right):
        assert (data.images[a].rel, data.images[b].rel) == (small.images[x].rel, small.images[y].rel)


def test_links_that_cannot_be_followed_do_not_stop_the_scan(tmp_path: Path) -> None:
    """A symlink loop and a dangling link among an identity's images, and an identity folder that links to itself:
    the scan goes on (the images fail later, one by one, as unreadable; the looping folder is not a folder)."""
    person = tmp_path / "Alpha"
    person.mkdir()
    (person / "a.jpg").write_bytes(b"\xff\xd8\xff\xe0" + bytes(16))
    (person / "loop1.jpg").symlink_to(person / "loop2.jpg")
    (person / "loop2.jpg").symlink_to(person / "loop1.jpg")
    (person / "gone.jpg").symlink_to(tmp_path / "nowhere.jpg")
    (tmp_path / "Beta").symlink_to(tmp_path / "Beta")
    dataset = scan(tmp_path)
    assert [img.rel for img in dataset.images] == [
        "Alpha/a.jpg",
        "Alpha/gone.jpg",
        "Alpha/loop1.jpg",
        "Alpha/loop2.jpg",
    ]
    assert dataset.identities() == ["Alpha"]
