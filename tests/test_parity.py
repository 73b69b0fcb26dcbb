"""Our Dlib/SFace distances equal DeepFace.verify's on the same real image pairs, detector and alignment."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bench import plugins
from bench.data.images import decode
from benchmarks.parity import deepface_distance
from facebench_plugins.measures.distances import METRICS as _METRICS
from tests.conftest import LFW, SAMPLE, WEIGHTS, needs_lfw, needs_weights

METRICS = {m.name: m.pair for m in _METRICS}

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
    registry = plugins.load()
    detector = registry.detectors.get(backend).build(WEIGHTS)
    recognizer = registry.recognizers.get(model).build(WEIGHTS)
    for a, b in PAIRS:
        x, y = (_embedding(detector, recognizer, SAMPLE / p) for p in (a, b))
        for metric, func in METRICS.items():
            ours = float(func(x[None], y[None])[0])
            theirs = deepface_distance(SAMPLE / a, SAMPLE / b, model, backend, metric, enforce_detection=True)
            assert ours == pytest.approx(theirs, abs=1e-4), (model, backend, metric, a, b)


# LFW pairsDevTest pairs with an image where the detector finds 2+ faces (the first 20 same and 20 different
# in list order, found with facebench's detection); each entry: 'name n name n' (image name_%04d.jpg).
MULTI_FACE_PAIRS = {
    ("Dlib", "opencv"): (
        "Abdullah_Gul 13 Abdullah_Gul 16",
        "Abdullatif_Sener 1 Abdullatif_Sener 2",
        "Alan_Greenspan 1 Alan_Greenspan 5",
        "Alejandro_Atchugarry 1 Alejandro_Atchugarry 2",
        "Ali_Naimi 1 Ali_Naimi 3",
        "Ali_Naimi 3 Ali_Naimi 4",
        "Amanda_Bynes 1 Amanda_Bynes 2",
        "Amelie_Mauresmo 16 Amelie_Mauresmo 21",
        "Bridgette_Wilson-Sampras 1 Bridgette_Wilson-Sampras 2",
        "Chang_Dae-whan 1 Chang_Dae-whan 2",
        "Chen_Shui-bian 3 Chen_Shui-bian 5",
        "Chita_Rivera 1 Chita_Rivera 2",
        "Christine_Todd_Whitman 5 Christine_Todd_Whitman 6",
        "Condoleezza_Rice 2 Condoleezza_Rice 5",
        "Dai_Bachtiar 1 Dai_Bachtiar 2",
        "Dave_Campo 2 Dave_Campo 3",
        "David_Stern 3 David_Stern 4",
        "Dominique_de_Villepin 7 Dominique_de_Villepin 11",
        "Doug_Collins 1 Doug_Collins 2",
        "Ernie_Fletcher 1 Ernie_Fletcher 2",
        "Abdullah_Gul 16 Steve_Cox 1",
        "Abid_Hamid_Mahmud_Al-Tikriti 1 Eli_Broad 1",
        "Ahmed_Ghazi 1 Henry_Suazo 1",
        "Ali_Naimi 8 Vanessa_Laine 1",
        "Alisha_Richman 1 Spencer_Abraham 9",
        "Amelie_Mauresmo 6 Terri_Clark 1",
        "Annette_Lu 1 Scott_Fawell 1",
        "Bruce_Willis 1 Heather_Mills 2",
        "Calvin_Joseph_Coleman 1 Ekaterina_Dmitriev 1",
        "Camille_Lewis 1 Melissa_Etheridge 1",
        "Caroline_Dhavernas 1 James_Smith 1",
        "Charles_Cope 1 John_Franco 1",
        "Chris_Byrd 1 David_Alpay 1",
        "Christine_Todd_Whitman 5 Neil_Goldman 1",
        "Darvis_Patton 1 Tammy_Lynn_Michaels 1",
        "Don_King 1 Philip_Zalewski 1",
        "Don_King 1 Tab_Baldwin 1",
        "Edward_Egan 1 Jim_Abbott 1",
        "Elinor_Caplan 1 Henning_Scherf 1",
        "Eliott_Spitzer 1 Jerry_Bruckheimer 1",
    ),
    ("SFace", "yunet"): (
        "Abdullah_Gul 13 Abdullah_Gul 16",
        "Abdullatif_Sener 1 Abdullatif_Sener 2",
        "Alex_Penelas 1 Alex_Penelas 2",
        "Alvaro_Uribe 7 Alvaro_Uribe 10",
        "Amanda_Bynes 1 Amanda_Bynes 2",
        "Ann_Veneman 8 Ann_Veneman 9",
        "Ben_Affleck 1 Ben_Affleck 3",
        "Ben_Affleck 3 Ben_Affleck 6",
        "Chen_Shui-bian 3 Chen_Shui-bian 5",
        "Christian_Wulff 1 Christian_Wulff 2",
        "Christine_Todd_Whitman 5 Christine_Todd_Whitman 6",
        "Condoleezza_Rice 2 Condoleezza_Rice 5",
        "David_Stern 3 David_Stern 4",
        "Dominique_de_Villepin 7 Dominique_de_Villepin 11",
        "Donald_Rumsfeld 41 Donald_Rumsfeld 48",
        "Ernie_Fletcher 1 Ernie_Fletcher 2",
        "Frank_Dunham_Jr 1 Frank_Dunham_Jr 2",
        "Greg_Ostertag 1 Greg_Ostertag 2",
        "Gwendal_Peizerat 1 Gwendal_Peizerat 2",
        "James_Butts 1 James_Butts 2",
        "Abdullah_Gul 16 Steve_Cox 1",
        "Ali_Naimi 8 Vanessa_Laine 1",
        "Alisha_Richman 1 Spencer_Abraham 9",
        "Annette_Lu 1 Scott_Fawell 1",
        "Brock_Berlin 1 Wendy_Selig 1",
        "Bruce_Willis 1 Heather_Mills 2",
        "Camille_Lewis 1 Melissa_Etheridge 1",
        "Charles_Cope 1 John_Franco 1",
        "Chea_Sophara 1 Muhammad_Ali 6",
        "Christine_Todd_Whitman 5 Neil_Goldman 1",
        "Dennis_Kozlowski 2 James_Ivory 1",
        "Dennis_Kozlowski 2 Wendy_Selig 1",
        "Don_King 1 Philip_Zalewski 1",
        "Edward_Egan 1 Jim_Abbott 1",
        "Eliott_Spitzer 1 Jerry_Bruckheimer 1",
        "Elliott_Mincberg 1 Gene_Orza 1",
        "Gwendal_Peizerat 2 Joe_Nichols 2",
        "Ismail_Cem 1 Seth_Gorney 1",
        "James_Ivory 1 Paul_Martin 7",
        "Jan_Paul_Miller 1 Lynne_Slepian 1",
    ),
}


def _lfw(entry: str) -> tuple[str, str]:
    name_a, a, name_b, b = entry.split()
    return f"{name_a}/{name_a}_{int(a):04d}.jpg", f"{name_b}/{name_b}_{int(b):04d}.jpg"


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
    rows = [_lfw(entry) for entry in MULTI_FACE_PAIRS[(model, backend)]]
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
    sweep = Sweep(pipeline, [registry.detectors.get(backend)], [registry.recognizers.get(model)])
    combo = next(sweep.run(dataset))
    found = combo.n_faces()
    assert ((found[left] > 1) | (found[right] > 1)).all()  # each pair really has a multi-face image
    ours = combo.pair_scores(registry.metrics.get("cosine"), left, right)
    theirs = [deepface_distance(LFW / a, LFW / b, model, backend) for a, b in rows]
    np.testing.assert_allclose(ours, theirs, atol=1e-4, rtol=0)
    largest = Pipeline(
        Store(tmp_path), WEIGHTS, "whole", LocalExecutor(quiet=True), selector=registry.face_selectors.get("largest")
    )
    one_face = next(Sweep(largest, sweep.detectors, sweep.models).run(dataset))
    assert not np.allclose(one_face.pair_scores(registry.metrics.get("cosine"), left, right), theirs, atol=1e-4)
