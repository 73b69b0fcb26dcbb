"""Every detector with real weights here finds the one face of real LFW sample images, inside the image."""

from __future__ import annotations

import pytest

from bench import plugins
from bench.data.images import decode
from tests.conftest import SAMPLE, WEIGHTS, needs_weights

IMAGES = sorted(SAMPLE.glob("*/*.jpg"))[:6:2]


@needs_weights
@pytest.mark.parametrize(
    "name", ["opencv", "ssd", "dlib", "mtcnn", "centerface", "yunet", "yunet-int8bq", "retinaface-mnet"]
)
def test_detector_finds_the_face(name: str) -> None:
    spec = plugins.load().detectors.get(name)
    assert spec.unavailable_reason(WEIGHTS) is None, spec.unavailable_reason(WEIGHTS)
    detector = spec.build(WEIGHTS)
    for path in IMAGES:
        image = decode(path)
        faces = detector.detect(image)
        assert faces, f"{name} found no face in {path.name}"
        face = max(faces, key=lambda f: f.area)
        h, w = image.shape[:2]
        cx, cy = face.x + face.w / 2, face.y + face.h / 2
        assert 0.25 * w < cx < 0.75 * w and 0.25 * h < cy < 0.75 * h, (name, path.name, face)  # LFW: centred faces
        assert 40 < face.w < w and 40 < face.h < h


def test_datasets_lists_the_catalog(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import bench

    catalog = tmp_path / "datasets.yaml"
    catalog.write_text(
        f"datasets:\n  here: {{root: {SAMPLE}, description: the sample}}\n"
        f"  gone: {{root: {tmp_path / 'nope'}, description: not downloaded}}\n"
    )
    code, text = bench("datasets", "--datasets", str(catalog))
    assert code == 0
    lines = dict(line.split(None, 1) for line in text.strip().splitlines())
    assert lines["here"].startswith("present") and lines["gone"].startswith("missing")
