"""Datasets declare what they carry, evaluations what they need; the run record says what happened (fast tier)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pandas as pd
import pytest

from bench.data.datasets import Carries, scan
from bench.report.compare import compare
from bench.run.runs import read_run
from facebench_plugins.protocols.protocols_bin import read_bin, write_bin
from tests.conftest import bench_fakes, needs_lfw
from tests.fakes.fake_models import make_dataset


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_dataset(tmp_path_factory.mktemp("colours") / "data")


@pytest.fixture(scope="module")
def pair_only(data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A .bin (images inside, pair labels, no identities) made of the colour images."""
    images = sorted(p for p in data.rglob("*.png"))
    blobs = [p.read_bytes() for p in images[:16]]
    path = tmp_path_factory.mktemp("bin") / "colours.bin"
    write_bin(path, blobs, [i % 2 == 0 for i in range(8)])
    return path


def test_a_bin_carries_pair_labels_but_no_identities(pair_only: Path) -> None:
    dataset, pairs = read_bin(pair_only)
    assert dataset.carries == {Carries.PAIR_LABELS} and {img.identity for img in dataset.images} == {""}
    assert dataset.lacks(frozenset({"identities"})) == ["identities"] and not dataset.lacks(frozenset({"pairs"}))
    assert len(pairs) == 8


@pytest.mark.parametrize("command", ["identify", "audit", "similarity"])
def test_identity_evaluations_refuse_a_pair_only_file(command: str, pair_only: Path, tmp_path: Path) -> None:
    code, out = bench_fakes(command, pair_only, tmp_path)
    assert code == 1 and out.count("\n") == 1, out
    assert f"bench {command}: colours.bin carries pair labels but no identities; use bench accuracy" in out
    assert not list(tmp_path.iterdir())  # refused before any run folder was made


def test_accuracy_runs_on_the_pair_only_file(pair_only: Path, tmp_path: Path) -> None:
    code, out = bench_fakes("accuracy", pair_only, tmp_path, "--run-id", "bin", "--metric", "cosine")
    assert code == 0, out
    manifest = json.loads((tmp_path / "bin" / "manifest.json").read_text())
    assert manifest["status"] == "complete" and manifest["dataset"][0]["n_identities"] is None
    assert manifest["dataset"][0]["carries"] == ["pair labels"]
    assert manifest["dataset"][0]["files"] == {"found": 16, "used": 16, "ignored": 0}


def test_a_folder_carries_identities(data: Path) -> None:
    dataset = scan(data)
    assert dataset.carries == {Carries.IDENTITIES} and dataset.describe_carries() == "identities"
    assert dataset.lacks(frozenset({"pairs", "identities", "attributes"})) == ["attributes"]


def test_audit_of_a_clean_dataset_is_complete_with_an_empty_table(data: Path, tmp_path: Path) -> None:
    code, out = bench_fakes("audit", data, tmp_path, "--run-id", "clean")
    assert code == 0, out
    manifest = json.loads((tmp_path / "clean" / "manifest.json").read_text())
    assert manifest["status"] == "complete"
    assert pd.read_csv(tmp_path / "clean" / "audit.csv").empty
    assert "audit: no rows -- the evaluation ran on 1 combination(s) and found nothing to report" in out


def test_the_dataset_hash_covers_the_whole_dataset_whatever_n(data: Path, tmp_path: Path) -> None:
    for run, n in (("n20", "6"), ("n40", "40")):
        code, out = bench_fakes("accuracy", data, tmp_path, "--n", n, "--run-id", run, "--metric", "cosine")
        assert code == 0, out
    a, b = (json.loads((tmp_path / r / "manifest.json").read_text()) for r in ("n20", "n40"))
    assert a["dataset"] == b["dataset"] and a["dataset"][0]["n_images"] == len(scan(data).images)
    assert a["sample"][0]["content_sha256"] != b["sample"][0]["content_sha256"]
    said = compare(read_run(tmp_path / "n20"), read_run(tmp_path / "n40"))
    assert "dataset content differs" not in said and "the images used differ" in said


def test_the_manifest_is_written_at_the_start_and_the_end_only(
    data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bench.run import runs

    writes: list[str] = []
    real = runs.write_json
    monkeypatch.setattr(runs, "write_json", lambda path, value: (writes.append(Path(path).name), real(path, value)))
    code, out = bench_fakes("accuracy", data, tmp_path, "--n", "20", "--run-id", "m", "--metric", "cosine")
    assert code == 0, out
    assert writes.count("manifest.json") == 2 and "progress.json" in writes
    assert not (tmp_path / "m" / "progress.json").exists()


@pytest.fixture(scope="module")
def benchmark_folders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """An IJB meta folder and a TinyFace folder built from LFW images (A and B names)."""
    from benchmarks.build_formats import build_ijb, build_tinyface
    from facebench_plugins.detectors.given_detectors import template_face
    from tests.conftest import LFW

    data = scan(LFW)
    keep = [img for img in data.images if img.identity.startswith(("A", "B"))]
    lfw = dataclasses.replace(data, images=keep)
    root = tmp_path_factory.mktemp("formats")
    build_ijb(lfw, [template_face(250, 250) for _ in lfw.images], root / "IJB", identities=12)
    build_tinyface(lfw, root / "tinyface", identities=15)
    return {"ijb": root / "IJB", "tinyface": root / "tinyface"}


@needs_lfw
@pytest.mark.parametrize("command", ["accuracy", "operating", "quality", "audit", "identify", "fairness"])
@pytest.mark.parametrize("kind", ["ijb", "tinyface"])
def test_pair_and_identity_evaluations_refuse_ijb_and_tinyface_in_one_line(
    command: str, kind: str, benchmark_folders: dict[str, Path], tmp_path: Path
) -> None:
    code, out = bench_fakes(command, benchmark_folders[kind], tmp_path)
    assert code == 1 and out.count("\n") == 1 and "Traceback" not in out, out
    assert f"bench {command}: " in out and f"use bench {kind}" in out
