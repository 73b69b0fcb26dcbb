"""Estimated attributes through ``bench fairness --attributes estimated`` on fake plugins, and their bookkeeping."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pandas as pd

from bench.compute.estimates import agreement
from bench.compute.weights import WeightFile
from bench.data.datasets import Image, scan
from bench.measures import QualityMeasure, estimated_name
from tests.conftest import bench
from tests.fakes.fake_models import make_dataset

FAKES = Path(__file__).resolve().parents[2] / "fakes"


def _fairness(data: Path, out: Path, *args: str) -> tuple[int, str]:
    return bench(
        "--plugins-dir", str(FAKES), "fairness", "--i", str(data), "--model", "FakeNet", "--backend", "fake-box",
        "--o", str(out), "--bootstrap", "20", "--attributes", "estimated", *args,
    )  # fmt: skip


def test_fairness_groups_by_estimated_labels_named_as_estimated(tmp_path: Path) -> None:
    data = make_dataset(tmp_path / "colours", identities=6, per_identity=4)
    code, out = _fairness(data, tmp_path, "--attribute", "tone", "--n", "60", "--run-id", "r")
    assert code == 0, out
    table = pd.read_csv(tmp_path / "r" / "fairness.csv")
    assert set(table.attribute) == {"tone (estimated)"}
    assert {"warm", "cool"} <= set(table.group)
    manifest = json.loads((tmp_path / "r" / "manifest.json").read_text())
    assert manifest["fairness"]["attribute"] == "tone (estimated)"
    assert manifest["fairness"]["estimated_by"]["estimator"] == "tone"
    assert manifest["fairness"]["estimated_by"]["detector"] == "fake-box"
    assert sum(manifest["fairness"]["images_per_group"].values()) == 24
    again_code, again = _fairness(data, tmp_path, "--attribute", "tone (estimated)", "--n", "60", "--run-id", "r2")
    assert again_code == 0, again  # the cached labels, under the full name too
    assert pd.read_csv(tmp_path / "r2" / "fairness.csv").equals(table)


def test_unknown_estimator_and_no_attributes_are_one_line_errors(tmp_path: Path) -> None:
    data = make_dataset(tmp_path / "colours", identities=4, per_identity=3)
    code, out = _fairness(data, tmp_path, "--attribute", "mood", "--n", "20", "--run-id", "x")
    assert code == 1 and "no attribute estimator 'mood'" in out and "tone" in out
    code, out = bench("--plugins-dir", str(FAKES), "fairness", "--i", str(data), "--model", "FakeNet",
                      "--backend", "fake-box", "--o", str(tmp_path), "--run-id", "y")  # fmt: skip
    assert code == 1 and "or pass --attributes estimated" in out


def test_agreement_counts_images_with_both_labels(tmp_path: Path) -> None:
    images = [
        Image(f"p/{k}.png", "p", tmp_path / f"{k}.png", attrs=attrs)
        for k, attrs in enumerate(
            [
                {"g": "f", "g (estimated)": "f"},
                {"g": "f", "g (estimated)": "m"},
                {"g": "m", "g (estimated)": "m"},
                {"g": "m"},  # no estimate (no face): not counted
            ]
        )
    ]
    dataset = scan(make_dataset(tmp_path / "d", identities=1, per_identity=1))
    dataset = dataclasses.replace(dataset, images=images)
    found = agreement(dataset, "g", estimated_name("g"))
    assert found == {"n_images": 3, "accuracy": 2 / 3, "recall": {"f": 0.5, "m": 1.0}, "n_per_class": {"f": 2, "m": 1}}
    assert estimated_name("g (estimated)") == "g (estimated)"


def test_measure_with_missing_weights_says_which(tmp_path: Path) -> None:
    needs = QualityMeasure("x", lambda s: 0.0, weights=(WeightFile("absent.onnx"),))
    assert needs.missing_weights(tmp_path) == ["absent.onnx"]
    assert QualityMeasure("y", lambda s: 0.0).missing_weights(tmp_path) == []
