"""Our Dlib/SFace distances equal DeepFace.verify's on the same real image pairs, detector and alignment."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bench import plugins
from plugins.metrics import METRICS as _METRICS

METRICS = {m.name: m.pair for m in _METRICS}
from bench.images import decode
from tests.conftest import SAMPLE, WEIGHTS, needs_weights

PAIRS = [
    ("Colin_Powell/Colin_Powell_0001.jpg", "Colin_Powell/Colin_Powell_0002.jpg"),
    ("Colin_Powell/Colin_Powell_0003.jpg", "Hugo_Chavez/Hugo_Chavez_0001.jpg"),
]


def _embedding(detector, recognizer, path: Path) -> np.ndarray:  # type: ignore[no-untyped-def]
    image = decode(path)
    face = max(detector.detect(image), key=lambda f: f.area)
    return recognizer.embed(recognizer.crop(image, face)[None])[0].astype(np.float64)


@needs_weights
@pytest.mark.parametrize(("model", "backend"), [("Dlib", "opencv"), ("SFace", "yunet"), ("Dlib", "skip")])
def test_distances_match_deepface_verify(model: str, backend: str) -> None:
    from deepface import DeepFace

    registry = plugins.load()
    detector = registry.detectors.get(backend).build(WEIGHTS)
    recognizer = registry.recognizers.get(model).build(WEIGHTS)
    for a, b in PAIRS:
        x, y = (_embedding(detector, recognizer, SAMPLE / p) for p in (a, b))
        for metric, func in METRICS.items():
            ours = float(func(x[None], y[None])[0])
            theirs = DeepFace.verify(
                str(SAMPLE / a), str(SAMPLE / b), model_name=model, detector_backend=backend,
                distance_metric=metric, align=True, silent=True,
            )["distance"]
            assert ours == pytest.approx(theirs, abs=1e-4), (model, backend, metric, a, b)
