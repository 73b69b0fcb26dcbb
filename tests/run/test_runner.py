"""Fast tier: the run lifecycle with fake plugins (no weights) -- bookkeeping, honesty, baselines, resume, API."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import facebench
from bench.run.runner import RunFailed
from bench.run.runs import SCHEMA_VERSION
from tests.conftest import FAKES, bench, bench_fakes
from tests.fakes.fake_models import make_dataset


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_dataset(tmp_path_factory.mktemp("colours") / "data")


def _accuracy(data: Path, out: Path, *args: str) -> tuple[int, str]:
    return bench_fakes("accuracy", data, out, "--n", "40", *args)


def test_accuracy_run_record(data: Path, tmp_path: Path) -> None:
    code, text = _accuracy(data, tmp_path, "--run-id", "a", "--metric", "euclidean,cosine")
    assert code == 0, text
    manifest = json.loads((tmp_path / "a" / "manifest.json").read_text())
    assert manifest["status"] == "complete" and manifest["schema_version"] == SCHEMA_VERSION
    assert {"accuracy", "scores", "failures", "unavailable"} <= set(manifest["tables"])
    assert manifest["request"]["models"] == "FakeNet" and manifest["metrics"] == ["euclidean", "cosine"]
    table = pd.read_csv(tmp_path / "a" / "accuracy.csv")
    assert set(table.metric) == {"euclidean", "cosine"} and (table.acc_kfold_mean == 1.0).all()
    assert "nan" not in text.lower() and "None" not in text


def test_second_run_is_served_from_the_cache(data: Path, tmp_path: Path) -> None:
    for run_id in ("first", "second"):
        assert _accuracy(data, tmp_path, "--run-id", run_id, "--metric", "cosine")[0] == 0
    timings = json.loads((tmp_path / "second" / "manifest.json").read_text())["timings"]
    assert all(stage["computed"] == 0 and stage["cached"] > 0 for stage in timings.values()), timings


def test_named_models_without_weights_are_all_listed_before_any_work(data: Path, tmp_path: Path) -> None:
    code, text = bench_fakes("accuracy", data, tmp_path, model="FakeNet,NeedsWeights,AlsoNeedsWeights")
    assert code == 1
    assert "needs_weights.bin" in text and "also_needed.onnx" in text
    assert "bench weights download NeedsWeights" in text and "bench weights import FILE --as needs_weights.bin" in text
    assert "bench weights download AlsoNeedsWeights" not in text  # nothing to download: no false hint
    assert "export it from the authors' repo" in text
    assert not any(tmp_path.iterdir())  # no run folder: nothing started


def test_allow_partial_runs_the_rest(data: Path, tmp_path: Path) -> None:
    args = ("--run-id", "p", "--model", "FakeNet,NeedsWeights", "--allow-partial", "--metric", "cosine")
    code, text = _accuracy(data, tmp_path, *args)
    assert code == 0, text
    unavailable = pd.read_csv(tmp_path / "p" / "unavailable.csv")
    assert unavailable.model.tolist() == ["NeedsWeights"]
    assert json.loads((tmp_path / "p" / "manifest.json").read_text())["status"] == "complete"


def test_one_class_pair_list_is_reported_not_a_crash(data: Path, tmp_path: Path) -> None:
    images = sorted(p.relative_to(data).as_posix() for p in data.rglob("*.png"))
    same = [(a, b) for a in images for b in images if a < b and a.split("/")[0] == b.split("/")[0]][:30]
    pairs = tmp_path / "same.csv"
    pd.DataFrame({"file_x": [a for a, _ in same], "file_y": [b for _, b in same], "same": 1}).to_csv(pairs, index=False)
    code, text = bench_fakes("accuracy", data, tmp_path, "--pairs", str(pairs), "--run-id", "one")
    assert code == 0, text
    table = pd.read_csv(tmp_path / "one" / "accuracy.csv")
    assert (table.status == "too few scored pairs of each class").all() and table.n_pairs_listed.eq(len(same)).all()


def test_an_empty_pair_list_is_a_one_line_error(data: Path, tmp_path: Path) -> None:
    pairs = tmp_path / "none.csv"
    pd.DataFrame([], columns=["file_x", "file_y", "same"]).to_csv(pairs, index=False)
    for command in ("accuracy", "operating"):
        code, text = bench_fakes(command, data, tmp_path, "--pairs", str(pairs), "--metric", "cosine")
        assert code == 1 and text.count("\n") == 1 and "none.csv: lists no pairs" in text, text


@pytest.mark.parametrize("n_pairs", [1])
def test_a_one_pair_list_gives_a_status_row_not_a_crash(data: Path, tmp_path: Path, n_pairs: int) -> None:
    rows = [("person0/person0_0.png", "person0/person0_1.png", 1)][:n_pairs]
    pairs = tmp_path / "few.csv"
    pd.DataFrame(rows, columns=["file_x", "file_y", "same"]).to_csv(pairs, index=False)
    for command in ("accuracy", "operating"):
        code, text = bench_fakes(
            command, data, tmp_path, "--pairs", str(pairs), "--run-id", command, "--metric", "cosine"
        )
        assert code == 0, text
    table = pd.read_csv(tmp_path / "accuracy" / "accuracy.csv")
    assert table.status.tolist() == ["too few scored pairs of each class"] and table.n_pairs_listed.tolist() == [
        n_pairs
    ]
    assert "no operating points" in text


def test_a_tinyface_folder_given_to_accuracy_or_operating_is_one_line_not_a_crash(data: Path, tmp_path: Path) -> None:
    test = tmp_path / "tinyface" / "Testing_Set"
    for folder, name in (("Probe", "1_1.png"), ("Gallery_Match", "1_0.png"), ("Gallery_Distractor", "d0.png")):
        (test / folder).mkdir(parents=True)
        shutil.copy(next(data.rglob("*.png")), test / folder / name)
    for command in ("accuracy", "operating"):
        code, text = bench_fakes(command, tmp_path / "tinyface", tmp_path / "out")
        assert code == 1 and "no pair labels" in text and "Traceback" not in text, text


def test_given_folds_are_used_and_a_one_class_fold_is_named(data: Path, tmp_path: Path) -> None:
    images = sorted(p.relative_to(data).as_posix() for p in data.rglob("*.png"))
    rows = [(a, b, int(a.split("/")[0] == b.split("/")[0])) for a in images for b in images if a < b]
    frame = pd.DataFrame(rows, columns=["file_x", "file_y", "same"])
    frame["fold"] = np.where(frame.same == 1, np.arange(len(frame)) % 3 + 5, np.arange(len(frame)) % 4 + 5)
    frame.to_csv(tmp_path / "folds.csv", index=False)  # folds 5..7 mixed, fold 8 impostors only
    code, text = bench_fakes(
        "accuracy", data, tmp_path, "--pairs", str(tmp_path / "folds.csv"), "--run-id", "f", "--metric", "cosine"
    )
    assert code == 0, text
    table = pd.read_csv(tmp_path / "f" / "accuracy.csv", keep_default_na=False)
    assert (table.folds == "given by pair list").all() and (table.n_folds == 4).all()
    assert (table.folds_left_out == "8 (one class)").all() and "folds_left_out" in text


def test_overwrite_clears_stale_outputs(data: Path, tmp_path: Path) -> None:
    assert _accuracy(data, tmp_path, "--run-id", "o", "--metric", "all")[0] == 0
    assert (tmp_path / "o" / "roc_data_angular.png").is_file()
    code, text = _accuracy(data, tmp_path, "--run-id", "o", "--metric", "cosine")
    assert code == 1 and "already exists" in text
    assert _accuracy(data, tmp_path, "--run-id", "o", "--metric", "cosine", "--overwrite")[0] == 0
    assert not (tmp_path / "o" / "roc_data_angular.png").exists()
    assert not list((tmp_path / "o").glob("pivot_*angular*"))


def test_a_run_that_dies_says_failed(data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from facebench_plugins.evaluations import verification

    def boom(*args: object) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(verification.report, "roc_plots", boom)
    with pytest.raises(RunFailed, match="RuntimeError: disk on fire .status: failed; traceback in .*error.log"):
        facebench.accuracy(
            data, model="FakeNet", backend="fake-box", n=20, output=tmp_path, run_id="dead", plugins_dirs=[FAKES]
        )
    manifest = json.loads((tmp_path / "dead" / "manifest.json").read_text())
    assert manifest["status"] == "failed" and "disk on fire" in manifest["error"]
    assert "in boom" in (tmp_path / "dead" / "error.log").read_text()  # the traceback, not on the terminal
    assert not (tmp_path / "dead" / "progress.json").exists()
    assert (tmp_path / "dead" / "accuracy.csv").is_file()  # what finished is kept


def test_python_api(data: Path, tmp_path: Path) -> None:
    r = facebench.accuracy(
        data, model="FakeNet", backend="fake-box", metric=["cosine"], n=40, output=tmp_path, plugins_dirs=[FAKES]
    )
    assert list(r.table.metric) == ["cosine"] and r.table.acc_kfold_mean.iloc[0] == 1.0
    assert len(r.scores) == 40 and {"score", "same"} <= set(r.scores.columns)
    assert any(p.name.startswith("roc_") for p in r.plots) and r.manifest["status"] == "complete"
    s = facebench.similarity(data, model="FakeNet", backend="fake-box", output=tmp_path, plugins_dirs=[FAKES])
    assert set(s.tables["similarity"].identity_a) == {f"person{i}" for i in range(4)}
    assert list(s.table.n_identities) == [4]  # the headline table: the summary
    i = facebench.identify(
        data,
        model="FakeNet",
        backend="fake-box",
        metric=["cosine"],
        output=tmp_path,
        plugins_dirs=[FAKES],
        gallery_per_identity=2,
    )
    assert (i.table.n_enrolled == 4).all() and (i.table.rank1 == 1.0).all()
    with pytest.raises(facebench.BenchError, match="unknown option"):
        facebench.accuracy(
            data, model="FakeNet", backend="fake-box", output=tmp_path, plugins_dirs=[FAKES], no_such_option=1
        )


def test_identify_sampling_options(data: Path, tmp_path: Path) -> None:
    options = ("--n", "3", "--max-per-identity", "3", "--gallery-per-identity", "2", "--metric", "euclidean")
    code, text = bench_fakes("identify", data, tmp_path, *options, "--run-id", "i")
    assert code == 0, text
    split = json.loads((tmp_path / "i" / "manifest.json").read_text())["split"]
    assert split["n_enrolled"] == 3 and split["n_gallery_images"] == 6 and split["n_mated_probes"] == 3
    assert pd.read_csv(tmp_path / "i" / "identify.csv").rank5.isna().all()  # 3 enrolled: rank 5 undefined


def test_similarity_is_exact_over_every_pair(data: Path, tmp_path: Path) -> None:
    """Every cell counts every image pair (no cap): n(n-1)/2 within an identity, n_a x n_b across."""
    code, text = bench_fakes("similarity", data, tmp_path, "--run-id", "s")
    assert code == 0, text
    long = pd.read_csv(tmp_path / "s" / "similarity.csv")
    sizes = {p.name: len(list(p.iterdir())) for p in data.iterdir() if p.is_dir()}
    expected = [
        sizes[a] * (sizes[a] - 1) // 2 if a == b else sizes[a] * sizes[b]
        for a, b in zip(long.identity_a, long.identity_b)
    ]
    assert list(long.n_pairs) == expected
    summary = pd.read_csv(tmp_path / "s" / "similarity_summary.csv")
    assert summary.same_pairs[0] == sum(n * (n - 1) // 2 for n in sizes.values())


def test_similarity_uses_every_image_of_a_folder_with_a_pair_list(data: Path, tmp_path: Path) -> None:
    """A folder's own pairs.txt/pairs.csv does not restrict the similarity matrix; --pairs does."""
    folder = tmp_path / "data"
    shutil.copytree(data, folder)
    images = sorted(p.relative_to(folder).as_posix() for p in folder.glob("*/*") if p.is_file())
    (folder / "pairs.csv").write_text(f"file_x,file_y,same\n{images[0]},{images[1]},1\n")
    assert bench_fakes("similarity", folder, tmp_path, "--run-id", "all")[0] == 0
    assert pd.read_csv(tmp_path / "all" / "similarity_summary.csv").n_images[0] == len(images)
    assert (
        bench_fakes("similarity", folder, tmp_path, "--pairs", str(folder / "pairs.csv"), "--run-id", "given")[0] == 0
    )
    assert pd.read_csv(tmp_path / "given" / "similarity_summary.csv").n_images[0] == 2


def test_similarity_heatmap_subsets(data: Path, tmp_path: Path) -> None:
    names = sorted(p.name for p in data.iterdir() if p.is_dir())
    code, text = bench_fakes(
        "similarity", data, tmp_path, "--identities", f"{names[1]},{names[0].upper()}", "--run-id", "ids"
    )
    assert code == 0, text
    assert any(p.suffix == ".png" for p in (tmp_path / "ids").iterdir())
    code, text = bench_fakes("similarity", data, tmp_path, "--identities", "nobody", "--run-id", "bad")
    assert code == 1 and "unknown identity 'nobody'" in text and len(text.strip().splitlines()) == 1


def test_baseline_dataset_gives_the_drop(data: Path, tmp_path: Path) -> None:
    catalog = tmp_path / "datasets.yaml"
    catalog.write_text(f"datasets:\n  clean: {{root: {data}}}\n  dirty: {{root: {data}, baseline: clean}}\n")
    code, text = bench(
        "--plugins-dir",
        str(FAKES),
        "--datasets",
        str(catalog),
        "accuracy",
        "--dataset",
        "dirty",
        "--model",
        "FakeNet",
        "--backend",
        "fake-box",
        "--n",
        "30",
        "--o",
        str(tmp_path),
        "--run-id",
        "b",
        "--metric",
        "cosine",
    )
    assert code == 0, text
    table = pd.read_csv(tmp_path / "b" / "accuracy.csv")
    assert set(table.subset) == {"all", "baseline"}
    assert np.allclose(table[table.subset == "all"].acc_drop_vs_baseline, 0.0)
    code, text = bench("--datasets", str(catalog), "accuracy", "--dataset", "dirt", "--o", str(tmp_path))
    assert code == 1 and "did you mean 'dirty'" in text


def test_drop_lowest_quality_adds_filtered_rows(data: Path, tmp_path: Path) -> None:
    code, text = _accuracy(data, tmp_path, "--run-id", "q", "--metric", "cosine", "--drop-lowest-quality", "25")
    assert code == 0, text
    table = pd.read_csv(tmp_path / "q" / "accuracy.csv")
    filtered = table[table.subset == "drop lowest 25% quality"]
    assert len(filtered) == 1 and filtered.n_images_dropped_quality.iloc[0] == 4
    assert filtered.n_pairs_listed.iloc[0] < table[table.subset == "all"].n_pairs_listed.iloc[0]
    assert (tmp_path / "q" / "quality.csv").is_file()


def test_names_are_case_insensitive_with_suggestions(data: Path, tmp_path: Path) -> None:
    assert _accuracy(data, tmp_path, "--run-id", "c", "--metric", "Cosine", "--model", "fakenet")[0] == 0
    code, text = _accuracy(data, tmp_path, "--metric", "cos")
    assert code == 1 and "did you mean 'cosine'" in text
    code, text = bench("accuracyy")
    assert code == 2 and "did you mean 'accuracy'" in text


def test_suite_file(data: Path, tmp_path: Path) -> None:
    suite = tmp_path / "suite.yaml"
    suite.write_text(
        f"name: colours\nmodels: [FakeNet]\nbackends: [fake-box]\nmetrics: [cosine]\nn: 20\n"
        f"datasets: [{{input: {data}}}]\nevaluations: [verification, {{evaluation: similarity}}]\n"
    )
    code, text = bench("--plugins-dir", str(FAKES), "run", str(suite), "--o", str(tmp_path))
    assert code == 0, text
    for run in ("verification-data", "similarity-data"):
        folder = tmp_path / "colours" / run
        assert (folder / "suite.yaml").read_text() == suite.read_text()
        assert json.loads((folder / "manifest.json").read_text())["suite"]["sha256"]


def test_compare_ignores_where_results_went(data: Path, tmp_path: Path) -> None:
    assert _accuracy(data, tmp_path, "--run-id", "x", "--metric", "cosine")[0] == 0
    assert _accuracy(data, tmp_path / "elsewhere", "--run-id", "y", "--metric", "cosine", "--seed", "1")[0] == 0
    code, text = bench("compare", str(tmp_path / "x"), str(tmp_path / "elsewhere" / "y"))
    assert code == 0, text
    assert "seed: 0 -> 1" in text and "run_id" not in text and "output" not in text and "--input-dir" not in text


def test_report_is_not_overwritten_silently(data: Path, tmp_path: Path) -> None:
    assert _accuracy(data, tmp_path, "--run-id", "r", "--metric", "cosine")[0] == 0
    assert _accuracy(data, tmp_path, "--run-id", "r2", "--metric", "cosine", "--seed", "2")[0] == 0
    code, text = bench("report", str(tmp_path / "r"), str(tmp_path / "r2"))
    assert code == 0, text
    page = Path(text.split("report: ")[1].strip()).read_text()
    assert "across runs" in page and page.count("<section") == 2
    code, text = bench("report", str(tmp_path / "r"), str(tmp_path / "r2"))
    assert code == 1 and "already exists" in text


def test_a_plugin_declaring_the_wrong_dim_is_told_so(data: Path, tmp_path: Path) -> None:
    plugin = tmp_path / "plugs" / "wrong_dim.py"
    plugin.parent.mkdir()
    plugin.write_text(
        "from bench.hookspecs import hookimpl\nfrom bench.registry import RecognizerSpec\n"
        "from tests.fakes.fake_models import FakeNet\n\n@hookimpl\ndef register_recognizers(register):\n"
        "    register(RecognizerSpec(name='WrongDim', load=lambda files: FakeNet(), dim=7, input_size=(0, 0)))\n"
    )
    code, text = bench(
        "--plugins-dir",
        str(FAKES),
        "--plugins-dir",
        str(plugin.parent),
        "accuracy",
        "--i",
        str(data),
        "--model",
        "WrongDim",
        "--backend",
        "fake-box",
        "--n",
        "10",
        "--o",
        str(tmp_path),
    )
    assert code == 1 and "declares dim=7 but returned vectors of 4 values" in text and "ray" not in text.lower()
