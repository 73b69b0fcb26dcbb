"""Detection is deterministic: the same detector run twice cold (fresh cache, fresh instance) gives every box equal."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import plugins
from bench.compute.executors import LocalExecutor
from bench.compute.pipeline import Pipeline
from bench.compute.store import Store
from bench.data.datasets import Carries, Dataset, Image
from tests.conftest import LFW, WEIGHTS, needs_lfw, needs_weights
from tests.fakes.multi_face_pairs import MULTI_FACE_PAIRS, lfw_paths


@pytest.mark.slow
@needs_weights
@needs_lfw
@pytest.mark.parametrize("backend", ["opencv", "yunet-int8bq", "retinaface-mnet"])
def test_same_detector_twice_cold_gives_every_box_equal(backend: str, tmp_path: Path) -> None:
    rels = sorted({rel for entries in MULTI_FACE_PAIRS.values() for entry in entries[:12] for rel in lfw_paths(entry)})
    dataset = Dataset(
        "lfw-multi-face",
        LFW,
        [Image(rel, rel.split("/")[0], LFW / rel) for rel in rels],
        carries=frozenset({Carries.IDENTITIES}),
    )
    registry = plugins.load()
    spec, every = registry.detectors.get(backend), registry.face_selectors.get("deepface")
    runs = []
    for k in range(2):
        pipeline = Pipeline(Store(tmp_path / f"cold{k}"), WEIGHTS, "skip", LocalExecutor(quiet=True), selector=every)
        records = pipeline.detect(dataset, spec)  # every face kept, in detection order
        runs.append([(d.n_faces, [f.to_json() for f in d.faces]) for d in records])
        assert pipeline.stats[f"detect:{backend}"].computed == len(rels)  # cold: every image detected
    assert runs[0] == runs[1]
    assert sum(n > 1 for n, _ in runs[0]) >= 5  # multi-face images, where order and ties matter
