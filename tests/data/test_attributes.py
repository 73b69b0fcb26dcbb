"""Image attributes from CSVs and label lists, datasets.yaml's attributes:, and group-respecting pair sampling."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bench.data.attributes import (
    UNLABELLED,
    CsvSource,
    ListSource,
    attach,
    coverage,
    image_groups,
    read,
    sample_group_pairs,
)
from bench.data.catalog import load_catalog
from bench.data.datasets import DatasetError, scan
from tests.conftest import LFW, REPO, SAMPLE, needs_lfw


def test_csv_image_rows_beat_identity_rows_and_conflicts_stay_unlabelled(tmp_path: Path) -> None:
    data = scan(SAMPLE)
    first, second = data.images[0], data.images[1]  # same identity
    other = next(img for img in data.images if img.identity != first.identity)
    (tmp_path / "a.csv").write_text(
        "image_or_identity,gender,age\n"
        f"{first.identity},female,30s\n"  # identity level
        f"{second.rel},male,\n"  # image level (path) beats it; empty age cell says nothing
        f"{other.path.name},male,20s\n"  # image level by file name
        f"{other.path.name},female,20s\n"  # ...given a second label: conflict
        "Nobody,male,40s\n"
    )
    labels = read(data, [CsvSource(tmp_path / "a.csv")])
    assert labels.values[0] == {"gender": "female", "age": "30s"}
    assert labels.values[1] == {"gender": "male", "age": "30s"}
    assert labels.values[data.index[other.rel]] == {"age": "20s"}
    assert labels.conflicts == {"gender": [other.rel]} and labels.unmatched == ["Nobody"]
    assert labels.attributes() == ["age", "gender"]


def test_label_lists_and_coverage(tmp_path: Path) -> None:
    data = scan(SAMPLE)
    ids = data.identities()
    (tmp_path / "f.txt").write_text(f"{ids[0]}\n{ids[1]}\n")
    (tmp_path / "m.txt").write_text("\n".join(ids[2:5]) + "\n")
    source = ListSource("gender", (("female", tmp_path / "f.txt"), ("male", tmp_path / "m.txt")))
    labelled = attach(data, [source])
    assert coverage(labelled, "gender") == {"female": 12, "male": 18, UNLABELLED: 6}
    assert image_groups(labelled, "gender")[0] == "female"


def test_datasets_yaml_attributes(tmp_path: Path) -> None:
    (tmp_path / "g.csv").write_text("image_or_identity,group\nColin_Powell,x\n")
    (tmp_path / "datasets.yaml").write_text(
        f"datasets:\n  s:\n    root: {SAMPLE}\n    attributes: {tmp_path / 'g.csv'}\n"
    )
    data = load_catalog(tmp_path / "datasets.yaml")["s"].open()
    assert coverage(data, "group")["x"] == sum(img.identity == "Colin_Powell" for img in data.images) > 0
    (tmp_path / "datasets.yaml").write_text(f"datasets:\n  s:\n    root: {SAMPLE}\n    attributes: 3\n")
    with pytest.raises(DatasetError, match="'attributes:' must be"):
        load_catalog(tmp_path / "datasets.yaml")


@needs_lfw
def test_lfw_gender_lists_leave_the_eight_unlabelled() -> None:
    entry = load_catalog(REPO / "datasets.yaml")["lfw"]
    data = entry.open()
    assert coverage(data, "gender") == {"female": 2962, "male": 10263, UNLABELLED: 8}
    labels = read(data, entry.attributes)
    assert len(labels.conflicts["gender"]) == 5 and not labels.unmatched  # 5 in both lists, 3 in neither
    assert sum(not v for v in labels.values) == 8
    assert LFW.is_dir()


def _labelled_sample(tmp_path: Path):  # type: ignore[no-untyped-def]
    data = scan(SAMPLE)
    ids = data.identities()
    (tmp_path / "a.txt").write_text("\n".join(ids[:3]) + "\n")
    (tmp_path / "b.txt").write_text("\n".join(ids[3:]) + "\n")
    return attach(data, [ListSource("g", (("a", tmp_path / "a.txt"), ("b", tmp_path / "b.txt")))])


def test_sampling_by_group_gives_same_group_impostors(tmp_path: Path) -> None:
    data = _labelled_sample(tmp_path)
    groups = image_groups(data, "g")
    pairs = sample_group_pairs(data, 80, "g", seed=1)
    again = sample_group_pairs(data, 80, "g", seed=1)
    assert (pairs.left == again.left).all() and (pairs.right == again.right).all()
    assert len(pairs) == 80 and pairs.same.sum() == 40
    assert (groups[pairs.left] == groups[pairs.right]).all()
    ids = np.array([img.identity for img in data.images])
    assert ((ids[pairs.left] == ids[pairs.right]) == pairs.same).all()
    for g in ("a", "b"):  # each half split evenly over the groups
        assert ((groups[pairs.left] == g) & pairs.same).sum() == 20 == ((groups[pairs.left] == g) & ~pairs.same).sum()
    mixed = sample_group_pairs(data, 80, "g", seed=1, impostors="all")
    assert (groups[mixed.left] != groups[mixed.right]).any()
    assert len(set(zip(mixed.left.tolist(), mixed.right.tolist()))) == len(mixed)
