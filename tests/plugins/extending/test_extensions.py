"""The four extension thought-experiments, each one file in a --plugins-dir folder, run end to end."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from tests.conftest import REPO, bench
from tests.fakes.fake_models import make_dataset

PLUGINS = ("--plugins-dir", str(REPO / "tests" / "fakes"), "--plugins-dir", str(REPO / "tests" / "extensions"))


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_dataset(tmp_path_factory.mktemp("ext") / "data")


def _sweep(command: str, data: Path, out: Path, *args: str) -> tuple[int, str]:
    return bench(
        *PLUGINS, command, "--i", str(data), "--model", "FakeNet", "--backend", "fake-box", "--o", str(out), *args
    )


def test_new_metric_with_higher_is_more_similar(data: Path, tmp_path: Path) -> None:
    code, text = _sweep("accuracy", data, tmp_path, "--metric", "dot", "--run-id", "m", "--n", "40")
    assert code == 0, text
    scores = pd.read_csv(tmp_path / "m" / "scores.csv")
    row = pd.read_csv(tmp_path / "m" / "accuracy.csv").iloc[0]
    assert row.auc == pytest.approx(roc_auc_score(scores.same, scores.score))  # the flag reached the protocol
    assert abs(row.auc - 0.5) > 1e-3  # so the check above tells the two directions apart


def test_new_pair_format_sniffed_by_content(data: Path, tmp_path: Path) -> None:
    images = sorted(p.relative_to(data).as_posix() for p in data.rglob("*.png"))
    rows = [(images[0], images[1], 1), (images[0], images[5], 0), (images[4], images[6], 1), (images[2], images[9], 0)]
    pairs = tmp_path / "pairs.list"  # no telling suffix
    pairs.write_text("#tsv-pairs\n" + "".join(f"{a}\t{b}\t{s}\n" for a, b, s in rows))
    code, text = _sweep("accuracy", data, tmp_path, "--pairs", str(pairs), "--run-id", "p", "--metric", "euclidean")
    assert code == 0, text
    table = pd.read_csv(tmp_path / "p" / "accuracy.csv")
    assert table.n_pairs_listed.tolist() == [4] and table.n_same.tolist() == [2]


def test_new_evaluation_is_a_command_in_manifest_report_and_compare(data: Path, tmp_path: Path) -> None:
    assert "spread" in bench(*PLUGINS, "--help")[1]
    for run_id in ("e1", "e2"):
        code, text = _sweep("spread", data, tmp_path, "--run-id", run_id)
        assert code == 0, text
    manifest = json.loads((tmp_path / "e1" / "manifest.json").read_text())
    assert manifest["evaluations"] == ["spread"] and "spread" in manifest["tables"]
    code, text = bench("report", str(tmp_path / "e1"), "--o", str(tmp_path / "page.html"))
    assert code == 0 and "per identity" in (tmp_path / "page.html").read_text()
    code, text = bench("compare", str(tmp_path / "e1"), str(tmp_path / "e2"))
    assert code == 0 and "spread.csv: 0 figure(s) changed" in text


def test_new_face_selector(tmp_path: Path) -> None:
    for person, colours in (("a", ((200, 0, 0), (0, 0, 200))), ("b", ((0, 200, 0), (0, 0, 200)))):
        (tmp_path / "data" / person).mkdir(parents=True)
        for k in range(2):
            image = np.zeros((40, 80, 3), np.uint8)
            image[:, :40], image[:, 40:] = colours  # two faces: left (smaller box) and right
            cv2.imwrite(str(tmp_path / "data" / person / f"{person}{k}.png"), image)
    means = {}
    for policy in ("largest", "leftmost"):
        code, text = bench(
            *PLUGINS,
            "similarity",
            "--i",
            str(tmp_path / "data"),
            "--model",
            "FakeNet",
            "--backend",
            "fake-box",
            "--face",
            policy,
            "--metric",
            "euclidean",
            "--o",
            str(tmp_path),
            "--run-id",
            policy,
        )
        assert code == 0, text
        long = pd.read_csv(tmp_path / policy / "similarity.csv")
        means[policy] = long[(long.identity_a == "a") & (long.identity_b == "b")].mean_distance.iloc[0]
        assert json.loads((tmp_path / policy / "manifest.json").read_text())["face_selection"] == policy
    assert means["largest"] < 0.01 < means["leftmost"]  # right faces are the same blue; left ones differ
