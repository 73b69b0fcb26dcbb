"""The DeepFace model zoo as plugins, and ``bench weights``.

Weights without an offline source are exercised with DeepFace's own architectures: its TensorFlow client builds
the network as usual, with only its download step pointed at a temporary folder and its weight-loading step turned
into a save, which writes random weights in the real .h5 format under the name DeepFace reads. The plugin then
loads that file through its real loading path, unpatched.
"""

from __future__ import annotations

import bz2
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any
from unittest import mock

import cv2
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from bench import plugins as bench_plugins
from bench.compute.weights import WeightFile
from bench.compute.weights_admin import DownloadError, download
from bench.data.faces import Face
from bench.interface.cli import main
from tests.conftest import REPO, SAMPLE, WEIGHTS

ROOT = REPO
DLIB_FILE = WEIGHTS / "dlib_face_recognition_resnet_model_v1.dat"
FACES = ("Colin_Powell/Colin_Powell_0001.jpg", "Serena_Williams/Serena_Williams_0001.jpg")
TF_MODELS = ("VGG-Face", "Facenet", "Facenet512", "OpenFace", "DeepID", "ArcFace", "GhostFaceNet")
CLOSED_PORT = "http://127.0.0.1:9"  # nothing listens there: a request fails at once, like here without a network


@pytest.fixture(scope="module")
def zoo() -> bench_plugins.Plugins:
    """The installed plugins (entry points)."""
    return bench_plugins.load()


@pytest.fixture(scope="module")
def deepface_tf() -> None:
    """DeepFace imported before TensorFlow, as the plugins do (tf.keras is tf_keras)."""
    from facebench_plugins.recognizers.deepface_common import deepface_tensorflow

    deepface_tensorflow(engine_bound=True)


def bench(*args: str) -> Any:
    """Run the CLI in-process."""
    return CliRunner().invoke(main, list(args))


# --- registration and listing -------------------------------------------------------------------------------------


def test_every_deepface_recognizer_is_registered_with_deepface_metadata(zoo: bench_plugins.Plugins) -> None:
    from deepface.commons import backend_utils
    from deepface.config.threshold import thresholds
    from deepface.modules.modeling import AVAILABLE_MODELS

    models = AVAILABLE_MODELS["facial_recognition"]
    assert set(models) <= set(zoo.recognizers.names())
    for name, sources in models.items():
        spec = zoo.recognizers.get(name)
        assert spec.plugin == "deepface_recognizers"
        assert spec.dim > 0 and min(spec.input_size) > 0 and spec.weights
        assert spec.thresholds == thresholds[name]
        assert spec.settings["normalization"] == "base"
        assert spec.settings["backend"] == ("tensorflow" if "tensorflow" in sources else "any")
        assert "deepface" in spec.requires
    if not os.environ.get(backend_utils.BACKEND_ENGINE_ENV_VAR):
        assert backend_utils.get_backend_engine() == "tensorflow"  # what the .h5 weight files belong to


def test_every_deepface_detector_is_registered(zoo: bench_plugins.Plugins) -> None:
    from deepface.modules.modeling import AVAILABLE_MODELS

    assert set(AVAILABLE_MODELS["face_detector"]) <= set(zoo.detectors.names())
    optional = {"mediapipe": "mediapipe", "fastmtcnn": "fastmtcnn", "yolov8n": "yolo", "yolov12l": "yolo"}
    for name, extra in optional.items():
        assert zoo.detectors.get(name).extra == extra
    assert zoo.detectors.get("retinaface").settings["engine"] == "tensorflow"


def test_yolo_files_are_deepfaces(zoo: bench_plugins.Plugins) -> None:
    from deepface.models.face_detection.Yolo import YoloModel

    ours = {(s.weights[0].name, s.weights[0].url) for s in zoo.detectors if s.name.startswith("yolov")}
    assert ours == {(m.file_name, m.url) for m in YoloModel}


def test_listing_reports_availability(zoo: bench_plugins.Plugins, tmp_path: Path, only_given_weights: None) -> None:
    models = bench("--weights-dir", str(tmp_path), "models", "-v")
    detectors = bench("--weights-dir", str(tmp_path), "detectors", "-v")
    assert models.exit_code == 0 and detectors.exit_code == 0
    lines = {line.split()[0]: line for line in (models.output + detectors.output).splitlines()}
    assert "unavailable: weight file vgg_face_weights.h5 not found" in lines["VGG-Face"]
    assert "TensorFlow <= 2.12" in lines["DeepFace"]
    assert "ok" in lines["opencv"].split()
    for name in ("Buffalo_L", "mediapipe", "fastmtcnn", "yolov8n", "yolov11s", "yolov12m"):
        spec = zoo.recognizers.get(name) if name == "Buffalo_L" else zoo.detectors.get(name)
        if spec.missing_modules():
            missing = ", ".join(spec.missing_modules())
            assert f"unavailable: missing Python module {missing}: pip install facebench[{spec.extra}]" in lines[name]
        else:  # installed here: no install hint, whatever else it lacks
            assert "missing Python module" not in lines[name]


def test_listing_imports_no_framework() -> None:
    code = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from bench.interface.cli import main\n"
        "for args in (['models'], ['detectors'], ['weights']):\n"
        "    result = CliRunner().invoke(main, ['--weights-dir', sys.argv[1], *args])\n"
        "    assert result.exit_code == 0, result.output\n"
        "print([m for m in sys.argv[2:] if m in sys.modules])\n"
    )
    heavy = ("tensorflow", "tf_keras", "torch", "deepface", "onnxruntime", "dlib", "mtcnn")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run(
        [sys.executable, "-c", code, str(DLIB_FILE.parent), *heavy],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


# --- real loading paths with random weights in the real format -------------------------------------------------


def write_random_weights(name: str, folder: Path) -> Any:
    """DeepFace's TensorFlow client for ``name`` built with its weight step turned into a save into ``folder``.

    Returns the Keras model whose random weights were saved (to compare with what the plugin loads).
    """
    from deepface.commons import weight_utils
    from deepface.modules import modeling

    def locate(file_name: str, source_url: Any, compress_type: str | None = None) -> str:
        return str(folder / file_name)

    def save(model: Any, weight_file: str) -> Any:
        model.save_weights(weight_file)
        return model

    with (
        mock.patch.object(weight_utils, "download_weights_if_necessary", locate),
        mock.patch.object(weight_utils, "load_model_weights", save),
    ):
        return modeling.get_model_class("facial_recognition", name)().model


@pytest.fixture(scope="module")
def sample_faces(zoo: bench_plugins.Plugins, tmp_path_factory: pytest.TempPathFactory) -> list[tuple[np.ndarray, Face]]:
    """Two sample photos and the face DeepFace's opencv detector finds in each."""
    if not all((SAMPLE / f).is_file() for f in FACES):
        pytest.skip(f"sample photos not found under {SAMPLE}")
    detector = zoo.detectors.get("opencv").build(tmp_path_factory.mktemp("no-weights"))
    out = []
    for rel in FACES:
        image = cv2.imread(str(SAMPLE / rel))
        out.append((image, max(detector.detect(image), key=lambda f: f.area)))
    return out


@pytest.mark.parametrize("name", TF_MODELS)
def test_tensorflow_recognizer_loads_real_format_weights(
    name: str,
    zoo: bench_plugins.Plugins,
    sample_faces: list[tuple[np.ndarray, Face]],
    tmp_path: Path,
    deepface_tf: None,
) -> None:
    spec = zoo.recognizers.get(name)
    saved = write_random_weights(name, tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [w.name for w in spec.weights]
    assert spec.unavailable_reason(tmp_path) is None

    recognizer = spec.build(tmp_path)
    client = recognizer.client  # type: ignore[attr-defined]
    assert (client.output_shape, tuple(client.input_shape)) == (spec.dim, spec.input_size)
    np.testing.assert_array_equal(client.model.get_weights()[0], saved.get_weights()[0])

    crops = np.stack([recognizer.crop(image, face) for image, face in sample_faces])
    width, height = spec.input_size
    assert crops.shape == (2, height, width, 3)
    batch = recognizer.embed(crops)
    single = recognizer.embed(crops[:1])
    assert batch.shape == (2, spec.dim) and single.shape == (1, spec.dim)
    assert np.isfinite(batch).all()
    # one image alone (model(x)) and in a batch (predict_on_batch) give the same direction; random weights blow
    # magnitudes up, so compare by cosine
    cosine = single[0] @ batch[0] / (np.linalg.norm(single[0]) * np.linalg.norm(batch[0]))
    assert cosine > 0.9999
    # the traced batched graph (the default runtime) against DeepFace's own eager call of one face
    assert spec.settings["graph"].startswith("keras model traced")
    eager = np.asarray(client.forward(crops[1:2]), dtype=np.float32)
    # random weights reach magnitudes of 1e5, and float32 rounding (which differs with the kernels TensorFlow picks
    # in a busy process) with them: the error is measured against the vector's scale (GhostFaceNet: 2.4e-5 seen)
    assert eager.shape == batch[1].shape and np.abs(batch[1] - eager).max() <= 1e-4 * np.abs(eager).max()


def test_embedding_equals_deepface_represent(
    zoo: bench_plugins.Plugins, sample_faces: list[tuple[np.ndarray, Face]], tmp_path: Path, deepface_tf: None
) -> None:
    """DeepID (47 wide x 55 high) through the plugin and through ``DeepFace.represent`` on the same weight file."""
    from deepface import DeepFace
    from deepface.modules import modeling

    write_random_weights("DeepID", tmp_path)
    recognizer = zoo.recognizers.get("DeepID").build(tmp_path)  # stages the file where DeepFace looks
    image, face = sample_faces[0]
    ours = recognizer.embed(recognizer.crop(image, face)[None])[0]
    fresh = {task: {} for task in modeling.AVAILABLE_MODELS}  # no DeepID left in DeepFace's singleton cache
    with mock.patch.object(modeling, "cached_models", fresh, create=True):
        found = DeepFace.represent(image, model_name="DeepID", detector_backend="opencv")
    theirs = max(found, key=lambda r: r["facial_area"]["w"] * r["facial_area"]["h"])["embedding"]
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)


def test_retinaface_detector_loads_real_format_weights(
    zoo: bench_plugins.Plugins, sample_faces: list[tuple[np.ndarray, Face]], tmp_path: Path, deepface_tf: None
) -> None:
    from retinaface.model import retinaface_model

    spec = zoo.detectors.get("retinaface")
    target = tmp_path / spec.weights[0].name

    def save(model: Any) -> Any:
        model.save_weights(str(target))
        return model

    with mock.patch.object(retinaface_model, "load_weights", save):
        retinaface_model.build_model()
    assert target.stat().st_size > 1_000_000  # a real-format .h5 of the ResNet-50 RetinaFace
    faces = spec.build(tmp_path).detect(sample_faces[0][0])
    assert isinstance(faces, list) and all(isinstance(f, Face) for f in faces)


def test_file_names_and_urls_are_deepfaces(zoo: bench_plugins.Plugins, deepface_tf: None) -> None:
    import importlib
    import inspect

    from deepface.modules.modeling import AVAILABLE_MODELS, get_model_class

    for task, registry in (("facial_recognition", zoo.recognizers), ("face_detector", zoo.detectors)):
        for name in AVAILABLE_MODELS[task]:
            module = get_model_class(task, name).__module__
            if name == "retinaface":  # DeepFace's client wraps the retina-face package, which holds the weight code
                module = "retinaface.model.retinaface_model"
            source = inspect.getsource(importlib.import_module(module))
            for weight in registry.get(name).weights:
                assert Path(weight.name).name in source, (name, weight.name)
                assert all(url in source for url in weight.sources), (name, weight.sources)


# --- bench weights -------------------------------------------------------------------------------------------------


def test_download_offline_is_one_line_per_file(tmp_path: Path) -> None:
    env = {
        **{k: v for k, v in os.environ.items() if k != "BENCH_WEIGHTS_DIR"},
        "DEEPFACE_HOME": str(tmp_path / "h"),
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
        "https_proxy": CLOSED_PORT,
        "http_proxy": CLOSED_PORT,
        "no_proxy": "",
    }
    code = "from bench.interface.cli import main; main()"
    done = subprocess.run(
        [sys.executable, "-c", code, "--weights-dir", str(tmp_path), "weights", "download", "ssd"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 2 and all(line.startswith("failed: ") for line in lines)
    assert "deploy.prototxt" in lines[0] and "res10_300x300_ssd_iter_140000.caffemodel" in lines[1]
    assert [p.name for p in tmp_path.iterdir()] in ([], ["h"])  # nothing half-written


def test_download_unpacks_and_falls_back_to_mirrors(tmp_path: Path) -> None:
    payload = os.urandom(4096)
    served = tmp_path / "served"
    served.mkdir()
    (served / "w.dat.bz2").write_bytes(bz2.compress(payload))
    with zipfile.ZipFile(served / "z.h5.zip", "w") as bundle:
        bundle.writestr("z.h5", payload)
    (served / "page.html").write_text("<html>Not Found</html>")
    weights = tmp_path / "weights"

    bz = WeightFile("w.dat", f"{CLOSED_PORT}/w.dat.bz2", mirrors=((served / "w.dat.bz2").as_uri(),))
    with mock.patch.dict(os.environ, {"no_proxy": "*"}):
        assert download(bz, weights).read_bytes() == payload
    assert download(WeightFile("sub/z.h5", (served / "z.h5.zip").as_uri()), weights).read_bytes() == payload
    with pytest.raises(DownloadError, match="web page"):
        download(WeightFile("p.onnx", (served / "page.html").as_uri()), weights)
    assert sorted(p.name for p in weights.rglob("*")) == ["sub", "w.dat", "z.h5"]


@pytest.mark.skipif(not DLIB_FILE.is_file(), reason=f"{DLIB_FILE} not found")
def test_import_real_dlib_file_then_dlib_is_ok(tmp_path: Path) -> None:
    weights = tmp_path / "weights"
    done = bench("--weights-dir", str(weights), "weights", "import", str(DLIB_FILE))
    assert done.exit_code == 0, done.output
    assert done.output.strip() == f"imported {weights / DLIB_FILE.name}; Dlib loads; Dlib-client loads"
    models = bench("--weights-dir", str(weights), "models")
    assert next(line for line in models.output.splitlines() if line.startswith("Dlib ")).endswith(" ok")
    listing = bench("--weights-dir", str(weights), "weights", "-v")
    dlib = next(line for line in listing.output.splitlines() if line.split()[:2] == ["model", "Dlib"])
    assert f"present  {weights / DLIB_FILE.name}  22.5 MB  sha256 55533b28a958" in dlib  # ours, not a bundled copy
    assert (weights / DLIB_FILE.name).stat().st_mode & 0o777 == 0o644  # readable by every user of the folder
    short = bench("--weights-dir", str(weights), "weights").output.splitlines()
    assert max(map(len, short)) <= 100 and any(line.split()[:2] == ["model", "Dlib"] for line in short)


def test_import_under_a_plugin_name_and_a_broken_file(tmp_path: Path) -> None:
    junk = tmp_path / "my-download.bin"
    junk.write_bytes(b"not a dlib model")
    weights = tmp_path / "weights"
    done = bench("--weights-dir", str(weights), "weights", "import", str(junk), "--as", "Dlib")
    assert done.exit_code == 1
    assert done.output.startswith(
        f"imported {weights / DLIB_FILE.name}; Dlib failed to load {weights / DLIB_FILE.name}: "
    )
    assert "replace it: bench weights download Dlib, or bench weights import FILE --as " in done.output
    assert len(done.output.strip().splitlines()) == 1
    unknown = bench("--weights-dir", str(weights), "weights", "import", str(junk))
    assert unknown.exit_code == 1 and "neither a weight file a plugin needs nor a plugin name" in unknown.output


@pytest.mark.skipif(not (WEIGHTS / "face_recognition_sface_2021dec_int8bq.onnx").is_file(), reason="no SFace weights")
def test_five_point_variant_aligns_to_the_template(tmp_path: Path) -> None:
    """SFace-5pt feeds the template-aligned crop: on real sample pairs it beats DeepFace's eye-line crop."""
    from click.testing import CliRunner

    from bench.interface.cli import main

    args = [
        "-q",
        "--weights-dir",
        str(WEIGHTS),
        "accuracy",
        "--i",
        str(SAMPLE),
        "--model",
        "SFace,SFace-5pt",
        "--backend",
        "retinaface-mnet",
        "--metric",
        "cosine",
        "--o",
        str(tmp_path),
        "--run-id",
        "r",
    ]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    table = pd.read_csv(tmp_path / "r" / "accuracy.csv").set_index("model")
    assert table.loc["SFace-5pt", "auc"] > table.loc["SFace", "auc"]
    assert table.loc["SFace-5pt", "acc_kfold_mean"] >= 0.95
