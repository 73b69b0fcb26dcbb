"""The commands as a user runs them, on real models and the bundled sample."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import SAMPLE, bench, needs_weights

HEAVY = ("tensorflow", "deepface", "onnxruntime", "cv2", "matplotlib", "torch", "sklearn", "mtcnn", "dlib", "ray")


@pytest.mark.slow  # runs a subprocess (a fresh interpreter)
def test_help_and_listing_import_no_framework() -> None:
    """`bench --help` and plugin listing stay fast by importing no ML framework (measured by imports, not time)."""
    code = (
        "import sys; from bench.interface.cli import main; from bench import plugins; plugins.load(); "
        f"print([m for m in {HEAVY!r} if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]", out
    exit_code, text = bench("--help")
    assert exit_code == 0 and "similarity" in text and "accuracy" in text


def test_plugins_lists_builtins_as_json() -> None:
    _, text = bench("plugins")
    data = json.loads(text)
    provided = {name for p in data for name in p.get("recognizers", []) + p.get("detectors", [])}
    assert {"Dlib", "SFace", "opencv", "yunet", "mtcnn", "dlib", "retinaface-mnet", "skip"} <= provided
    metrics = {name for p in data for name in p.get("metrics", [])}
    assert metrics == {"cosine", "euclidean", "euclidean_l2", "angular"}


@needs_weights
def test_models_shows_availability(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert "Dlib" in bench("models")[1] and "ok" in bench("models")[1]
    monkeypatch.delenv("BENCH_WEIGHTS_DIR")
    monkeypatch.setenv("DEEPFACE_HOME", str(tmp_path / "home"))
    for args in (("--weights-dir", str(tmp_path), "models"), ("models", "--weights-dir", str(tmp_path))):
        _, text = bench(*args, "-v")
        assert "SFace" in text and "unavailable: weight file face_recognition_sface_2021dec.onnx not found" in text
        assert str(tmp_path) in text  # the folders searched are named
    _, short = bench("models", "--weights-dir", str(tmp_path))
    assert max(len(line) for line in short.splitlines()) <= 100


@needs_weights
def test_similarity_on_sample_separates_identities(tmp_path: Path) -> None:
    exit_code, text = bench("similarity", "--i", str(SAMPLE), "--o", str(tmp_path), "--run-id", "r1")
    assert exit_code == 0, text
    run = tmp_path / "r1"
    long = pd.read_csv(run / "similarity.csv")
    same = long[long.identity_a == long.identity_b].mean_distance.mean()
    cross = long[long.identity_a != long.identity_b].mean_distance.mean()
    assert same < cross * 0.6
    assert (run / "similarity_sample_Dlib_opencv_cosine.png").stat().st_size > 10_000
    square = pd.read_csv(run / "similarity_sample_Dlib_opencv_cosine.csv", index_col=0)
    assert square.shape == (6, 6) and (square.to_numpy() == square.to_numpy().T).all()
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["status"] == "complete"
    assert len(manifest["plugins"]["Dlib"]["weights"]["dlib_face_recognition_resnet_model_v1.dat"]["sha256"]) == 64


@needs_weights
def test_second_run_does_no_inference_and_never_overwrites(tmp_path: Path) -> None:
    args = ("accuracy", "--i", str(SAMPLE), "--model", "Dlib", "--backend", "opencv", "--o", str(tmp_path))
    assert bench(*args, "--run-id", "first")[0] == 0
    assert bench(*args, "--run-id", "second")[0] == 0
    timings = json.loads((tmp_path / "second" / "manifest.json").read_text())["timings"]
    assert timings["detect:opencv"]["computed"] == 0 and timings["embed:Dlib"]["computed"] == 0
    assert timings["embed:Dlib"]["load_seconds"] == 0  # the model was not even loaded
    first = pd.read_csv(tmp_path / "first" / "accuracy.csv")
    second = pd.read_csv(tmp_path / "second" / "accuracy.csv")
    pd.testing.assert_frame_equal(first, second)
    exit_code, text = bench(*args, "--run-id", "first")
    assert exit_code == 1 and "already exists" in text and len(text.strip().splitlines()) == 1


@needs_weights
def test_accuracy_on_sample_well_above_chance(tmp_path: Path) -> None:
    exit_code, text = bench(
        "accuracy",
        "--i",
        str(SAMPLE),
        "--model",
        "Dlib",
        "--backend",
        "opencv",
        "--o",
        str(tmp_path),
        "--run-id",
        "acc",
    )
    assert exit_code == 0, text
    run = tmp_path / "acc"
    table = pd.read_csv(run / "accuracy.csv")
    assert set(table.metric) == {"cosine", "euclidean", "euclidean_l2", "angular"}
    assert (table.acc_kfold_mean > 0.85).all() and (table.auc > 0.9).all()
    assert (table.n_pairs_listed == 180).all() and (table.n_pairs_scored == 180).all()
    pivot = pd.read_csv(run / "pivot_acc_kfold_mean_sample_cosine.csv")
    assert pd.api.types.is_float_dtype(pivot["opencv"])  # numbers, not "0.93 ± 0.07" strings
    for name in (
        "pivot_acc_kfold_std_sample_cosine.csv",
        "roc_sample_cosine.png",
        "distances_sample_cosine.png",
        "scores.csv",
        "failures.csv",
        "unavailable.csv",
    ):
        assert (run / name).is_file(), name


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("accuracy", "--i", "/nonexistent"), "dataset folder /nonexistent does not exist"),
        (("accuracy", "--i", str(SAMPLE), "--model", "Dlb"), "did you mean 'Dlib'"),
        (("accuracy", "--i", str(SAMPLE), "--backend", "opencvv"), "did you mean 'opencv'"),
        (("accuracy", "--i", str(SAMPLE), "--metric", "cosin"), "unknown metric"),
        (("accuracy", "--dataset", "lfw-dev"), "unknown dataset 'lfw-dev' (did you mean 'lfw-devtest'?)"),
        (("accuracy",), "no dataset"),
    ],
)
def test_bad_requests_give_one_line_errors(args: tuple[str, ...], message: str, tmp_path: Path) -> None:
    exit_code, text = bench(*args, "--o", str(tmp_path))
    assert exit_code != 0
    assert message in text and "Traceback" not in text
    assert len(text.strip().splitlines()) == 1, text


@needs_weights
def test_missing_weights_are_reported_before_any_work(tmp_path: Path, only_given_weights: None) -> None:
    weights = tmp_path / "w"
    weights.mkdir()
    exit_code, text = bench(
        "accuracy",
        "--i",
        str(SAMPLE),
        "--model",
        "SFace,Dlib",
        "--backend",
        "skip",
        "--o",
        str(tmp_path / "out"),
        "--run-id",
        "u",
        "--weights-dir",
        str(weights),
    )
    assert exit_code == 1 and "SFace: weight file face_recognition_sface_2021dec.onnx not found" in text
    assert "bench weights download SFace" in text and str(weights) in text
    assert not (tmp_path / "out" / "u").exists()


@needs_weights
def test_dlib_weights_come_from_the_pip_package_when_the_folder_lacks_them(
    tmp_path: Path, only_given_weights: None
) -> None:
    from bench.compute.weights import find
    from facebench_plugins.recognizers.deepface_recognizers import RECOGNIZERS

    dlib = next(s for s in RECOGNIZERS if s.name == "Dlib").weights[0]
    found = find(dlib, tmp_path)
    assert found is not None and "face_recognition_models" in str(found)
