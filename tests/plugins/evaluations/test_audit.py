"""Dataset audit: swapped images, a photo filed under two names, face counts; the CSV and the HTML page."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bench import plugins
from bench.compute.executors import LocalExecutor
from bench.compute.pipeline import Pipeline
from bench.compute.store import Store
from bench.compute.sweep import Sweep
from bench.data.datasets import scan
from bench.measure import audit
from facebench_plugins.evaluations import dataset_audit
from tests.conftest import SAMPLE, WEIGHTS, needs_weights


def clusters(rng: np.random.Generator, n_ids: int = 4, per: int = 5, spread: float = 0.15) -> np.ndarray:
    centres = rng.normal(size=(n_ids, 16))
    return np.concatenate([c + spread * rng.normal(size=(per, 16)) for c in centres])


def test_swapped_vectors_are_suspects_with_both_distances() -> None:
    vectors = clusters(np.random.default_rng(0))
    names = [f"id{k // 5}" for k in range(20)]
    names[0], names[5] = "id1", "id0"  # image 0 (really id0) filed under id1, image 5 the other way
    vectors[7] = np.nan  # not embedded: never a finding
    suspects = audit.mislabel_suspects(vectors, names)
    top = suspects.head(2)
    assert set(top.image) == {0, 5} and (top.margin > 0).all() and (suspects.margin[2:] < 0).all()
    row = suspects.set_index("image").loc[0]
    assert row.identity == "id1" and row.nearest_identity == "id0" and row.own_distance > row.nearest_distance
    # own distance is to the centre of id1 without image 0
    unit = audit.unit(vectors)
    rest = [i for i in range(20) if names[i] == "id1" and i not in (0, 7)]
    centre = unit[rest].sum(axis=0)
    assert row.own_distance == pytest.approx(1 - unit[0] @ centre / np.linalg.norm(centre))
    assert names[int(row.nearest_image)] == "id0" and 7 not in set(suspects.image)


def test_near_duplicates_cross_identities_only() -> None:
    vectors = clusters(np.random.default_rng(1))
    vectors = np.vstack([vectors, vectors[3] * 1.01, vectors[4]])  # image 3 again under id2; image 4 again under id0
    names = [f"id{k // 5}" for k in range(20)] + ["id2", "id0"]
    threshold = audit.duplicate_threshold(vectors, names)
    assert 0 < threshold < 0.05
    found = audit.near_duplicates(vectors, names, threshold)
    assert list(zip(found.image, found.other_image)) == [(3, 20)]  # 4 and 21 share an identity: not a finding
    assert found.distance[0] == pytest.approx(0, abs=1e-6)


def test_face_counts() -> None:
    found = audit.face_counts([1, 0, 3, 1, 2], ["ok", "no_face", "ok", "ok", "ok"])
    assert list(found.image) == [1, 4, 2] and list(found.n_faces) == [0, 2, 3]


def test_findings_in_any_dataset_order_tie_by_image_name() -> None:
    rel = ["b/2.jpg", "a/1.jpg", "c/3.jpg", "a/0.jpg"]
    faces = audit.face_counts([0, 0, 1, 0], ["no_face", "no_face", "ok", "no_face"])
    assert [rel[i] for i in dataset_audit.by_name(faces, rel, "n_faces").image] == ["a/0.jpg", "a/1.jpg", "b/2.jpg"]
    suspects = pd.DataFrame({"image": [0, 1, 2, 3], "margin": [0.1, 0.3, 0.1, 0.3]})
    got = dataset_audit.ranked(suspects, rel, "margin", descending=True)
    assert [rel[i] for i in got.image] == ["a/0.jpg", "a/1.jpg", "b/2.jpg", "c/3.jpg"]
    assert got["rank"].tolist() == [1, 1, 3, 3]


def _broken_sample(root: Path) -> tuple[Path, tuple[str, str], str]:
    """The sample with two images swapped between identities and one image copied under another name."""
    shutil.copytree(SAMPLE, root)
    folders = sorted(p for p in root.iterdir() if p.is_dir())
    a, b, c, d = folders[:4]
    img_a, img_b = min(a.glob("*.jpg")), min(b.glob("*.jpg"))
    img_a.rename(b / img_a.name)
    img_b.rename(a / img_b.name)
    img_c = sorted(c.glob("*.jpg"))[1]
    shutil.copy(img_c, d / f"{d.name}_9999.jpg")
    swapped = (f"{b.name}/{img_a.name}", f"{a.name}/{img_b.name}")
    return root, swapped, f"{d.name}/{d.name}_9999.jpg"


@needs_weights
@pytest.mark.slow
def test_audit_finds_the_swap_and_the_duplicate_in_real_images(tmp_path: Path) -> None:
    root, swapped, copy = _broken_sample(tmp_path / "broken")
    registry = plugins.load()
    pipeline = Pipeline(Store(tmp_path / "cache"), WEIGHTS, "whole", LocalExecutor(quiet=True))
    sweep = Sweep(pipeline, [registry.detectors.get("retinaface-mnet")], [registry.recognizers.get("FaceRes")])
    combo = next(iter(sweep.run(scan(root))))
    found = dataset_audit.findings(combo)
    table = found.table()
    suspects = table[table.kind == "mislabel_suspect"]
    # the two swapped images and the copy (filed under a second name) lead, with both distances
    assert set(suspects.image[:3]) == {*swapped, copy}
    assert (suspects.head(3).own_distance > suspects.head(3).other_distance).all()
    duplicates = table[table.kind == "near_duplicate"]
    assert copy in set(duplicates.image) | set(duplicates.other_image)
    assert len(duplicates) == 1
    text = found.page(dataset_audit.TOP)
    assert text.count("data:image/jpeg;base64,") >= 6 and "http" not in text
