"""IJB meta layout and TinyFace folders built from LFW: the readers give back the templates, media, given
landmarks and roles; with a real model the adapters give exactly what the folder path gives."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bench import plugins, protocols
from bench.compute.pipeline import Pipeline
from bench.compute.store import Store
from bench.compute.sweep import Combination, Sweep
from bench.data.datasets import Carries, Dataset, scan
from bench.data.templates import pool, verify
from benchmarks.build_formats import build_ijb, build_tinyface, detect_faces
from facebench_plugins.detectors.given_detectors import GivenFace, template_face
from facebench_plugins.evaluations.standard_evaluations import ijb_rows, tinyface_rows
from facebench_plugins.protocols.protocols_ijb import read_template_pairs
from tests.conftest import LFW, WEIGHTS, needs_lfw, needs_weights


def _lfw_identities() -> Dataset:
    """LFW identities whose names start with A or B (enough with 2+ images for small templates)."""
    data = scan(LFW)
    names = sorted({img.identity for img in data.images if img.identity.startswith(("A", "B"))})
    keep = [img for img in data.images if img.identity in names]
    return Dataset("lfw-ab", LFW, keep, carries=frozenset({Carries.IDENTITIES}))


def _open(path: Path) -> Dataset:
    return protocols.open_benchmark(plugins.load().protocols, path)[0]


@needs_lfw
def test_ijb_layout_reads_back_templates_media_and_points(tmp_path: Path) -> None:
    data = _lfw_identities()
    faces = [template_face(250, 250) for _ in data.images]  # any 5 points: the structure is under test
    build_ijb(data, faces, tmp_path / "IJB", identities=12)
    ijb = _open(tmp_path / "IJB")
    assert ijb.protocol == "ijb" and ijb.name == "ijbl"
    pairs = read_template_pairs(tmp_path / "IJB")
    assert len(pairs.same) == 144 and pairs.same.sum() == 12
    templates = {img.attrs["template"] for img in ijb.images}
    assert len(templates) == 24
    by_template: dict[str, set[str]] = {}
    for img in ijb.images:
        by_template.setdefault(img.attrs["template"], set()).add(img.path.resolve().parent.name)
        assert img.face is not None and img.face.w == 0
        np.testing.assert_allclose(
            img.face.landmarks["right_eye"], template_face(250, 250).landmarks["right_eye"], atol=1e-3
        )
    assert all(len(owners) == 1 for owners in by_template.values())  # a template holds one LFW identity
    genuine = list(zip(pairs.left[pairs.same], pairs.right[pairs.same]))
    identity = {img.attrs["template"]: img.identity for img in ijb.images}
    assert all(identity[str(a)] == identity[str(b)] for a, b in genuine)  # identity: joined by genuine pairs
    assert len({img.sha256() for img in ijb.images}) == len(ijb.images)


def test_given_detector_uses_the_given_face() -> None:
    image = np.zeros((90, 60, 3), np.uint8)
    face = template_face(112, 112)
    (got,) = GivenFace().detect_given(image, type(face)(0, 0, 0, 0, 0.9, face.landmarks))
    assert (got.w, got.h, got.confidence) == (60, 90, 0.9) and got.landmarks == face.landmarks
    assert GivenFace().detect_given(image, None) == [] and GivenFace().detect(image) == []


@needs_lfw
def test_tinyface_layout_reads_back_roles(tmp_path: Path) -> None:
    data = _lfw_identities()
    build_tinyface(data, tmp_path / "tinyface", identities=15)
    tiny = _open(tmp_path / "tinyface")
    roles = [img.attrs["role"] for img in tiny.images]
    assert roles.count("gallery") == 15 and roles.count("distractor") == 15
    probes = {img.identity for img in tiny.images if img.attrs["role"] == "probe"}
    gallery = {img.identity for img in tiny.images if img.attrs["role"] == "gallery"}
    assert probes <= gallery and not any(i.startswith("distractor") for i in probes)


def _combos(dataset: Dataset, detector: str, tmp_path: Path) -> list[Combination]:
    registry = plugins.load()
    pipeline = Pipeline(Store(tmp_path / "cache"), WEIGHTS, "skip")
    return list(
        Sweep(pipeline, registry.detectors.select(detector), registry.recognizers.select("MobileFace")).run(dataset)
    )


@pytest.mark.slow
@needs_lfw
@needs_weights
def test_ijb_given_landmarks_reproduce_the_folder_path(tmp_path: Path) -> None:
    """The given detector hands the model the detector's own points: TAR@FAR equals pooling the folder path's
    embeddings (retinaface-mnet) by the same templates."""
    data = _lfw_identities()
    faces = detect_faces(data, cache_dir=tmp_path / "cache", weights_dir=WEIGHTS)
    build_ijb(data, faces, tmp_path / "IJB", identities=40)
    ijb = _open(tmp_path / "IJB")
    cosine = plugins.load().metrics.select("cosine")
    pairs = read_template_pairs(tmp_path / "IJB")
    (row,) = ijb_rows(_combos(ijb, "given", tmp_path)[0], pairs, cosine)
    assert row["n_pairs_scored"] == 1600 and row["n_impostor"] == 1560  # 40 identities: 40 x 39 impostor pairs
    assert row["tar_at_far_1e-04"] is None and row["tar_at_far_1e-03"] is not None  # FAR >= 1/1560 only
    folder = Dataset(
        "folder",
        LFW,
        [next(i for i in data.images if i.path.resolve() == img.path.resolve()) for img in ijb.images],
        carries=data.carries,
    )
    (combo,) = _combos(folder, "retinaface-mnet", tmp_path)
    attrs = [img.attrs for img in ijb.images]
    pooled = pool(
        combo.vectors, np.array([int(a["template"]) for a in attrs]), np.array([int(a["media"]) for a in attrs])
    )
    expected = verify(pooled, pairs.left, pairs.right, pairs.same, cosine[0])
    assert {k: v for k, v in row.items() if k.startswith("tar_")} == {
        k: v for k, v in expected.items() if k.startswith("tar_")
    }
    assert row["tar_at_far_1e-01"] > 0.9


@pytest.mark.slow
@needs_lfw
@needs_weights
def test_tinyface_ranks_on_lfw(tmp_path: Path) -> None:
    data = _lfw_identities()
    build_tinyface(data, tmp_path / "tinyface", identities=30)
    tiny = _open(tmp_path / "tinyface")
    (row,) = tinyface_rows(_combos(tiny, "retinaface-mnet", tmp_path)[0], plugins.load().metrics.select("cosine"))
    assert row["n_gallery"] == 30 and row["n_distractors"] == 30
    assert 0.8 < row["rank1"] <= row["rank5"] <= row["rank20"] <= 1.0
