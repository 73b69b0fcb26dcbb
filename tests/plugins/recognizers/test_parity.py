"""Our Dlib/SFace distances equal DeepFace.verify's on the same real image pairs, detector and alignment."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bench import plugins
from bench.data.images import decode
from bench.registry import DetectorSpec
from benchmarks.parity import deepface_distance
from facebench_plugins.measures.distances import METRICS as _METRICS
from tests.conftest import LFW, SAMPLE, WEIGHTS, needs_lfw, needs_weights
from tests.fakes.multi_face_pairs import MULTI_FACE_PAIRS, lfw_paths

METRICS = {m.name: m.pair for m in _METRICS}

PAIRS = [
    ("Colin_Powell/Colin_Powell_0001.jpg", "Colin_Powell/Colin_Powell_0002.jpg"),
    ("Colin_Powell/Colin_Powell_0003.jpg", "Hugo_Chavez/Hugo_Chavez_0001.jpg"),
]


def deepface_name(spec: DetectorSpec) -> str:
    """DeepFace's name for the detector (``yunet-int8bq`` is DeepFace's ``yunet`` on the int8bq file)."""
    return str(spec.settings.get("backend", spec.name))


def _embedding(detector, recognizer, path: Path) -> np.ndarray:  # type: ignore[no-untyped-def]
    image = decode(path)
    face = max(detector.detect(image), key=lambda f: f.area)
    return recognizer.embed(recognizer.crop(image, face)[None])[0].astype(np.float64)


@needs_weights
@pytest.mark.parametrize(("model", "backend"), [("Dlib", "opencv"), ("SFace", "yunet-int8bq"), ("Dlib", "skip")])
def test_distances_match_deepface_verify(model: str, backend: str) -> None:
    registry = plugins.load()
    spec = registry.detectors.get(backend)
    detector = spec.build(WEIGHTS)
    recognizer = registry.recognizers.get(model).build(WEIGHTS)
    for a, b in PAIRS:
        x, y = (_embedding(detector, recognizer, SAMPLE / p) for p in (a, b))
        for metric, func in METRICS.items():
            ours = float(func(x[None], y[None])[0])
            theirs = deepface_distance(SAMPLE / a, SAMPLE / b, model, deepface_name(spec), metric, True)
            assert ours == pytest.approx(theirs, abs=1e-4), (model, backend, metric, a, b)


@pytest.mark.slow
@needs_weights
@needs_lfw
@pytest.mark.parametrize(("model", "backend"), list(MULTI_FACE_PAIRS))
def test_every_face_policy_matches_deepface_verify_on_multi_face_pairs(
    model: str, backend: str, tmp_path: Path
) -> None:
    """``--face deepface``: every face embedded, a pair's distance the minimum over face pairs, as DeepFace.verify."""
    import cv2

    from bench.compute.executors import LocalExecutor
    from bench.compute.pipeline import Pipeline
    from bench.compute.store import Store
    from bench.compute.sweep import Sweep
    from bench.data.datasets import Carries, Dataset, Image

    cv2.setNumThreads(1)  # DeepFace's own Haar detection is not deterministic with more OpenCV threads
    rows = [lfw_paths(entry) for entry in MULTI_FACE_PAIRS[(model, backend)]]
    rels = sorted({rel for row in rows for rel in row})
    dataset = Dataset(
        "lfw-multi-face",
        LFW,
        [Image(rel, rel.split("/")[0], LFW / rel) for rel in rels],
        carries=frozenset({Carries.IDENTITIES}),
    )
    left, right = (np.array([dataset.index[row[k]] for row in rows]) for k in (0, 1))
    registry = plugins.load()
    pipeline = Pipeline(
        Store(tmp_path), WEIGHTS, "whole", LocalExecutor(quiet=True), selector=registry.face_selectors.get("deepface")
    )
    spec = registry.detectors.get(backend)
    sweep = Sweep(pipeline, [spec], [registry.recognizers.get(model)])
    combo = next(sweep.run(dataset))
    found = combo.n_faces()
    assert ((found[left] > 1) | (found[right] > 1)).all()  # each pair really has a multi-face image
    ours = combo.pair_scores(registry.metrics.get("cosine"), left, right)
    theirs = [deepface_distance(LFW / a, LFW / b, model, deepface_name(spec)) for a, b in rows]
    np.testing.assert_allclose(ours, theirs, atol=1e-4, rtol=0)
    largest = Pipeline(
        Store(tmp_path), WEIGHTS, "whole", LocalExecutor(quiet=True), selector=registry.face_selectors.get("largest")
    )
    one_face = next(Sweep(largest, sweep.detectors, sweep.models).run(dataset))
    assert not np.allclose(one_face.pair_scores(registry.metrics.get("cosine"), left, right), theirs, atol=1e-4)
