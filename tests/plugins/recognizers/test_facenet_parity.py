"""FaceNet on the real weights (fetched with the shared script): facebench's default runtime (DeepFace's Keras model
traced into a batched graph) gives DeepFace.verify's distances per pair on LFW pairsDevTest."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from bench import plugins
from benchmarks.parity import TOLERANCE, deepface_distance
from tests.conftest import LFW, SHARED, WEIGHTS, needs_lfw

FETCH = SHARED / "scripts" / "fetch-facenet.sh"
YUNET_FP32 = WEIGHTS / "face_detection_yunet_2023mar_fp32.onnx"
STEP = 10  # every 10th pair of pairsDevTest: 50 same + 50 different


@pytest.fixture(scope="module")
def facenet_weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A weights folder with FaceNet's .h5 (from the shared script) and the fp32 YuNet under DeepFace's name, the
    file DeepFace's ``yunet`` downloads: facebench and DeepFace.verify both read these two files."""
    if not FETCH.is_file():
        pytest.skip(f"{FETCH} not found")
    home = tmp_path_factory.mktemp("deepface-home")
    done = subprocess.run(["bash", str(FETCH), str(home)], capture_output=True, text=True, timeout=300, check=False)
    if done.returncode != 0:
        pytest.skip(f"fetch-facenet.sh could not fetch the weights: {(done.stderr.strip() or 'failed')[-200:]}")
    folder = home / ".deepface" / "weights"
    if not YUNET_FP32.is_file():
        pytest.skip(f"{YUNET_FP32} not found")
    shutil.copyfile(YUNET_FP32, folder / "face_detection_yunet_2023mar.onnx")
    return folder


def devtest_pairs() -> list[tuple[str, str]]:
    """Every ``STEP``-th pair of pairsDevTest.txt as image paths relative to the LFW root."""
    rows = [line.split() for line in (LFW / "pairsDevTest.txt").read_text().splitlines()[1:]]
    paths = [
        (f"{r[0]}/{r[0]}_{int(r[1]):04d}.jpg", f"{r[0]}/{r[0]}_{int(r[2]):04d}.jpg")
        if len(r) == 3
        else (f"{r[0]}/{r[0]}_{int(r[1]):04d}.jpg", f"{r[2]}/{r[2]}_{int(r[3]):04d}.jpg")
        for r in rows
    ]
    return paths[::STEP]


@pytest.mark.slow
@needs_lfw
@pytest.mark.parametrize("backend", ["opencv", "yunet"])
def test_facenet_matches_deepface_verify(backend: str, facenet_weights: Path, tmp_path: Path) -> None:
    import cv2

    from bench.compute.executors import LocalExecutor
    from bench.compute.pipeline import Pipeline
    from bench.compute.store import Store
    from bench.compute.sweep import Sweep
    from bench.data.datasets import Carries, Dataset, Image

    cv2.setNumThreads(1)  # DeepFace's own Haar detection is not deterministic with more OpenCV threads
    registry = plugins.load()
    spec = registry.recognizers.get("Facenet")
    assert spec.settings["graph"].startswith("keras model traced")  # the faster runtime is the default
    rows = devtest_pairs()
    rels = sorted({rel for row in rows for rel in row})
    images = [Image(rel, rel.split("/")[0], LFW / rel) for rel in rels]
    dataset = Dataset("lfw-devtest", LFW, images, carries=frozenset({Carries.IDENTITIES}))
    left, right = (np.array([dataset.index[row[k]] for row in rows]) for k in (0, 1))
    selector = registry.face_selectors.get("deepface")  # every face, a pair's closest: DeepFace.verify's rule
    pipeline = Pipeline(Store(tmp_path), facenet_weights, "whole", LocalExecutor(quiet=True), selector=selector)
    combo = next(Sweep(pipeline, [registry.detectors.get(backend)], [spec]).run(dataset))
    ours = combo.pair_scores(registry.metrics.get("cosine"), left, right)
    theirs = np.array([deepface_distance(LFW / a, LFW / b, "Facenet", backend) for a, b in rows])
    assert np.abs(ours - theirs).max() <= TOLERANCE


@pytest.mark.slow
@needs_lfw
def test_five_point_facenet_beats_deepfaces_crop_on_lfw_pairs(facenet_weights: Path, tmp_path: Path) -> None:
    """``Facenet-5pt`` (the ArcFace template at 160x160, DeepFace's Facenet normalisation) on retinaface-mnet's
    landmarks separates every 10th pairsDevTest pair better than DeepFace's eye-line crop of the same network."""
    from sklearn.metrics import roc_auc_score

    from bench.compute.executors import LocalExecutor
    from bench.compute.pipeline import Pipeline
    from bench.compute.store import Store
    from bench.compute.sweep import Sweep
    from bench.data.datasets import Carries, Dataset, Image
    from bench.measure.kfold import best_threshold

    registry = plugins.load()
    rows = devtest_pairs()
    rels = sorted({rel for row in rows for rel in row})
    images = [Image(r, r.split("/")[0], LFW / r) for r in rels]
    dataset = Dataset("lfw-devtest", LFW, images, carries=frozenset({Carries.IDENTITIES}))
    left, right = (np.array([dataset.index[row[k]] for row in rows]) for k in (0, 1))
    same = np.array([a.split("/")[0] == b.split("/")[0] for a, b in rows])
    weights = tmp_path / "weights"
    weights.mkdir()
    for folder in (facenet_weights, WEIGHTS):  # FaceNet's .h5 and retinaface-mnet's file in one folder
        for file in folder.iterdir():
            (weights / file.name).symlink_to(file.resolve())
    pipeline = Pipeline(Store(tmp_path / "cache"), weights, "whole", LocalExecutor(quiet=True))
    models = [registry.recognizers.get(name) for name in ("Facenet", "Facenet-5pt")]
    assert models[1].settings["alignment"] == "arcface-5pt" and models[1].settings["normalization"] == "Facenet"
    accuracy, auc = {}, {}
    for combo in Sweep(pipeline, [registry.detectors.get("retinaface-mnet")], models).run(dataset):
        distances = combo.pair_scores(registry.metrics.get("cosine"), left, right)
        accuracy[combo.model.name] = best_threshold(distances, same, higher_is_more_similar=False)[1]
        auc[combo.model.name] = roc_auc_score(same, -distances)
    assert accuracy["Facenet-5pt"] >= 0.96 and auc["Facenet-5pt"] > auc["Facenet"], (accuracy, auc)
