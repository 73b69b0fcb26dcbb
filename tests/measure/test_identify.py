"""Identification: a hand-built case with known ranks and TPIR, the split, and a real run on the sample."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from bench.interface.cli import main
from bench.measure.gallery import Split, identification, split
from facebench_plugins.measures.distances import METRICS as _METRICS
from tests.conftest import SAMPLE, needs_weights

METRICS = {m.name: m for m in _METRICS}

NAN = np.nan
# gallery A, B, C; mated probes A, B, C, A (no face); distractors
VECTORS = np.array(
    [[0, 0], [10, 0], [0, 10], [1, 0], [7.5, 0], [2, 4], [NAN, NAN], [5, 5], [0, 3], [20, 20], [10, 1], [0, 2.5]],
    dtype=float,
)
HAND = Split(
    np.array([0, 1, 2]),
    np.array([0, 1, 2]),
    np.arange(3, 12),
    np.array([0, 1, 2, 0, -1, -1, -1, -1, -1]),
    ["A", "B", "C"],
)


def test_hand_built_case() -> None:
    row, curve = identification(VECTORS, HAND, METRICS["euclidean"])
    # ranks: 1, 1, 2 (C at 6.32 behind A at 4.47), miss (no embedding)
    np.testing.assert_allclose(curve, [0.5, 0.75, 0.75])
    assert row["rank1"] == 0.5
    assert row["rank5"] is None  # 3 enrolled identities: rank 5 is not defined (it was rank-min(5, N))
    assert row["n_mated_probes"] == 4 and row["n_distractor_probes"] == 5 and row["n_probes_failed"] == 1
    # distractor closest distances: 1, 2.5, 3, 7.07, 22.4; rank-1 hit distances: 1, 2.5
    assert row["tpir_at_fpir_0.5"] == 0.5 and row["threshold_at_fpir_0.5"] == pytest.approx(3)
    assert row["threshold_at_fpir_0.5"] < 3  # two false alarms allowed: accept only below the third
    assert row["tpir_at_fpir_0.2"] == 0.25 and row["threshold_at_fpir_0.2"] == pytest.approx(2.5)
    assert row["tpir_at_fpir_0.1"] is None and row["threshold_at_fpir_0.1"] is None  # 5 distractors < 1/0.1


def test_best_of_several_gallery_images() -> None:
    two = Split(np.array([0, 3, 1]), np.array([0, 0, 1]), np.array([4]), np.array([1]), ["A", "B"])
    row, _ = identification(VECTORS, two, METRICS["euclidean"])  # probe (7.5, 0): B at 2.5, A's closest (1, 0) at 6.5
    assert row["rank1"] == 1.0


@pytest.mark.parametrize("metric", list(METRICS))
def test_cross_distances_match_rowwise(metric: str) -> None:
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(7, 16)), rng.normal(size=(5, 16))
    want = METRICS[metric].pair(a[:, None, :], b[None, :, :])
    np.testing.assert_allclose(METRICS[metric].all_against(a, b), want, atol=1e-7)


def test_split_is_seeded_and_enrols_identities_with_two_or_more_images() -> None:
    names = ["a", "a", "a", "b", "c", "c", "d"]
    s = split(names, seed=3)
    assert s.enrolled == ["a", "c"] and list(s.gallery_label) == [0, 1]
    assert sorted([*s.gallery, *s.probes]) == list(range(7))
    assert sorted(s.probes[s.probe_label == -1]) == [3, 6]
    assert all(names[g] == s.enrolled[lab] for g, lab in zip(s.gallery, s.gallery_label))
    assert list(split(names, seed=3).gallery) == list(s.gallery)
    assert {tuple(split(names, seed=k).gallery) for k in range(20)} != {tuple(s.gallery)}


def _with_distractors(root: Path) -> Path:
    """The sample with two identities cut to one image each (they become distractors)."""
    for folder in sorted(p for p in SAMPLE.iterdir() if p.is_dir()):
        images = sorted(folder.iterdir())
        keep = images[:1] if folder.name in {"Hugo_Chavez", "Serena_Williams"} else images
        (root / folder.name).mkdir(parents=True)
        for image in keep:
            shutil.copy(image, root / folder.name / image.name)
    return root


@needs_weights
def test_identify_on_sample(tmp_path: Path) -> None:
    data = _with_distractors(tmp_path / "data")
    result = CliRunner().invoke(
        main,
        [
            "-q",
            "identify",
            "--i",
            str(data),
            "--model",
            "Dlib",
            "--backend",
            "opencv",
            "--o",
            str(tmp_path),
            "--run-id",
            "id",
        ],
    )
    assert result.exit_code == 0, result.output
    run = tmp_path / "id"
    table = pd.read_csv(run / "identify.csv")
    assert set(table.metric) == set(METRICS)
    assert (table.n_enrolled == 4).all() and (table.n_mated_probes == 20).all()
    assert (table.n_distractor_probes == 2).all()
    assert (table.rank1 >= 0.9).all() and table.rank5.isna().all()  # 4 enrolled: no rank 5
    assert table["tpir_at_fpir_0.5"].notna().all() and table["tpir_at_fpir_0.2"].isna().all()
    cmc = pd.read_csv(run / "cmc.csv")
    assert (
        set(cmc["rank"]) == {1, 2, 3, 4} and (cmc.groupby("metric").identification_rate.is_monotonic_increasing).all()
    )
    assert (run / "cmc_data_cosine.png").stat().st_size > 5_000
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["status"] == "complete" and manifest["split"]["n_enrolled"] == 4
    assert "rank1" in result.output
