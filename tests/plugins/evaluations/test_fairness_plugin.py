"""The fairness evaluation's plumbing: FMR targets, the attribute, and the rows of one combination."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from bench.compute.pipeline import Detection
from bench.compute.sweep import Combination
from bench.data.attributes import UNLABELLED, ListSource, attach
from bench.data.datasets import scan
from bench.measure.differentials import ALL, CROSS
from bench.metrics import Metric
from facebench_plugins.evaluations.fairness import (
    FairnessError,
    FairnessOptions,
    choose_attribute,
    combination_rows,
    fmr_targets,
)
from tests.conftest import LFW, SAMPLE, bench, needs_lfw, needs_weights, read_pairs


def test_fmr_targets() -> None:
    assert fmr_targets("auto", 10_000) == [1e-3]
    assert fmr_targets("auto", 3_000) == [1e-2]  # LFW View 2: 1e-3 would rest on 3 impostors
    assert fmr_targets("auto", 50) == [1e-1]
    assert fmr_targets("1e-3, 1e-2", 10) == [1e-3, 1e-2]
    with pytest.raises(FairnessError, match="comma-separated"):
        fmr_targets("often", 10)
    with pytest.raises(FairnessError, match=r"in \(0, 1\]"):
        fmr_targets("2", 10)


def _labelled(tmp_path: Path):  # type: ignore[no-untyped-def]
    data = scan(SAMPLE, pairs_file=SAMPLE / "pairs.csv")
    ids = data.identities()
    (tmp_path / "a.txt").write_text("\n".join(ids[:2]) + "\n")
    (tmp_path / "b.txt").write_text("\n".join(ids[2:5]) + "\n")  # ids[5] stays unlabelled
    return attach(data, [ListSource("g", (("a", tmp_path / "a.txt"), ("b", tmp_path / "b.txt")))])


def test_choose_attribute(tmp_path: Path) -> None:
    data = _labelled(tmp_path)
    assert choose_attribute(data, None) == "g"
    with pytest.raises(FairnessError, match="has no attribute 'age'"):
        choose_attribute(data, "age")
    with pytest.raises(FairnessError, match="declare one under 'attributes:'"):
        choose_attribute(scan(SAMPLE), None)


def test_rows_of_one_combination(tmp_path: Path) -> None:
    data = _labelled(tmp_path)
    pairs = read_pairs(data, SAMPLE / "pairs.csv")
    rng = np.random.default_rng(0)
    centres = {name: rng.normal(size=8) for name in data.identities()}
    vectors = np.array([centres[img.identity] + 0.6 * rng.normal(size=8) for img in data.images], dtype=np.float32)
    detections = [Detection(1, None, "ok")] * len(data.images)
    detections[0] = Detection(0, None, "no_face", "no face found")  # image 0 is of group "a"
    vectors[1] = np.nan  # an image without an embedding: its pairs are not scored
    combo = Combination(
        data, SimpleNamespace(name="det"), SimpleNamespace(name="rec"), detections, vectors, [""] * len(data.images)
    )
    metric = Metric("euclidean", lambda a, b: np.linalg.norm(a - b, axis=1), lambda a, b: a, False)
    out = combination_rows(combo, pairs, [metric], FairnessOptions(at_fmr="0.1,0.2", bootstrap=50))
    rows = [r for r in out["fairness"] if r["fmr_target"] == 0.1]
    by = {r["group"]: r for r in rows}
    assert list(by) == ["a", "b", ALL, CROSS, UNLABELLED]
    groups = np.array([img.attrs.get("g", UNLABELLED) for img in data.images])
    scored = (pairs.left != 1) & (pairs.right != 1)
    for g in ("a", "b"):
        within = scored & (groups[pairs.left] == g) & (groups[pairs.right] == g)
        assert by[g]["n_impostor"] == (within & ~pairs.same).sum() and by[g]["n_genuine"] == (within & pairs.same).sum()
    used = np.unique(np.concatenate([pairs.left, pairs.right]))
    assert by["a"]["n_images"] == (groups[used] == "a").sum() and by["a"]["n_failed_detection"] == 1
    assert by["b"]["ftd_rate"] == 0 and by[ALL]["n_impostor"] == (scored & ~pairs.same).sum()
    assert len(out["fairness_differentials"]) == 2 and {r["group"] for r in out["det_by_group"]} == {"a", "b"}


@needs_weights
@needs_lfw
def test_bench_fairness_on_the_sample_with_the_lfw_gender_lists(tmp_path: Path) -> None:
    """Real Dlib x opencv embeddings; the per-group rates recomputed from scores.csv and the gender lists."""
    import pandas as pd

    (tmp_path / "datasets.yaml").write_text(
        f"datasets:\n  sample-gender:\n    root: {SAMPLE}\n    pairs: pairs.csv\n    attributes:\n"
        f"      gender: {{female: {LFW / 'female_names.txt'}, male: {LFW / 'male_names.txt'}}}\n"
    )
    code, out = bench(
        "--datasets", str(tmp_path / "datasets.yaml"), "accuracy", "--dataset", "sample-gender", "--model", "Dlib",
        "--backend", "opencv", "--metric", "cosine", "--eval", "fairness", "--o", str(tmp_path), "--run-id", "r",
    )  # fmt: skip
    assert code == 0, out
    run = tmp_path / "r"
    table = pd.read_csv(run / "fairness.csv").set_index("group")
    scores = pd.read_csv(run / "scores.csv")
    pairs = pd.read_csv(SAMPLE / "pairs.csv")
    female = {"Gloria_Macapagal_Arroyo", "Serena_Williams"}  # the sample's women in female_names.txt
    side = [pairs[c].str.split("/").str[0].isin(female).to_numpy() for c in ("file_x", "file_y")]
    scores["group"] = np.where(side[0] & side[1], "female", np.where(~side[0] & ~side[1], "male", CROSS))[scores.pair]
    threshold = table.threshold.iloc[0]
    impostors = np.sort(scores.score[~scores.same])
    assert table.fmr_target.iloc[0] == 0.1  # auto: 90 impostors support 1e-1 only
    assert impostors[8] < threshold < impostors[9]  # 9 = floor(0.1 x 90) impostors accepted, never a 10th
    for group in ("female", "male", CROSS):
        mine = scores[scores.group == group]
        accept = mine.score <= threshold  # cosine distance: lower = more similar
        assert table.loc[group, "n_impostor"] == (~mine.same).sum()
        assert table.loc[group, "fmr"] == pytest.approx((accept & ~mine.same).sum() / (~mine.same).sum())
        if group != CROSS:
            assert table.loc[group, "fnmr"] == pytest.approx((~accept & mine.same).sum() / mine.same.sum())
    assert (run / "fairness_rates_sample-gender_cosine_fmr0.1.png").is_file()
    assert (run / "fairness_det_sample-gender_cosine.png").is_file()


def test_bench_fairness_runs_with_fake_plugins(tmp_path: Path) -> None:
    """Fast tier: the command end to end (sampled same-group pairs, tables, plots, manifest) on fake plugins."""
    import json

    import pandas as pd

    from tests.conftest import REPO
    from tests.fakes.fake_models import make_dataset

    data = make_dataset(tmp_path / "colours", identities=6, per_identity=4)
    (tmp_path / "groups.csv").write_text("image_or_identity,tone\n" + "".join(
        f"person{i},{'light' if i < 3 else 'dark'}\n" for i in range(6)))  # fmt: skip
    (tmp_path / "datasets.yaml").write_text(
        f"datasets:\n  colours:\n    root: {data}\n    attributes: {tmp_path / 'groups.csv'}\n"
    )
    fakes = str(REPO / "tests" / "fakes")
    args = ("--plugins-dir", fakes, "--datasets", str(tmp_path / "datasets.yaml"), "fairness", "--model", "FakeNet",
            "--backend", "fake-box", "--o", str(tmp_path), "--bootstrap", "20")  # fmt: skip
    code, out = bench(*args, "--dataset", "colours", "--n", "60", "--run-id", "r")
    assert code == 0, out
    assert "GARBE" in out and "dark" in out
    run = tmp_path / "r"
    table = pd.read_csv(run / "fairness.csv")
    assert set(table.group) == {"dark", "light", ALL, CROSS, UNLABELLED}
    assert (table[table.group == CROSS].n_impostor == 0).all()  # --n: same-group impostors only
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["status"] == "complete" and manifest["fairness"]["images_per_group"] == {
        "dark": 12, "light": 12, UNLABELLED: 0}  # fmt: skip
    assert {"fairness", "fairness_differentials"} <= set(manifest["tables"]) and (run / "det_by_group.csv").is_file()
    assert any(p.startswith("fairness_rates_") for p in manifest["plots"])
    code, out = bench(*args, "--i", str(data), "--run-id", "none")
    assert code == 1 and "carries identities but no attributes; declare one under 'attributes:'" in out
