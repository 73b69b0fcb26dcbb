"""A corpus of bad inputs through `bench accuracy` and `bench similarity`: each gets a recorded reason, or a
one-line error where the request itself is invalid. Pair accounting stays exact."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from tests.conftest import SAMPLE, bench, needs_weights

GOOD = sorted((SAMPLE / "Colin_Powell").glob("*.jpg"))


def _rgb(path: Path) -> Image.Image:
    return Image.open(path).convert("RGB")


def _write_corpus(root: Path) -> dict[str, str]:
    """Build the corpus; returns relative path -> expected status in failures.csv ('' = no failure row)."""
    a, b, c = root / "Alpha One", root / "Bétà", root / "Gamma"
    for folder in (a, b, c, root / "Empty_Identity"):
        folder.mkdir(parents=True)
    for i, src in enumerate(GOOD[:3]):
        shutil.copy(src, a / f"good_{i}.jpg")
    for i, src in enumerate(sorted((SAMPLE / "Hugo_Chavez").glob("*.jpg"))[:3]):
        shutil.copy(src, b / f"good_{i}.jpg")
    face = _rgb(GOOD[3])
    data = GOOD[0].read_bytes()
    expected = {f"{a.name}/good_{i}.jpg": "" for i in range(3)} | {f"{b.name}/good_{i}.jpg": "" for i in range(3)}
    (a / "corrupt.jpg").write_bytes(np.random.default_rng(0).integers(0, 255, 5000, dtype=np.uint8).tobytes())
    (a / "truncated.jpg").write_bytes(data[:300])
    (a / "empty.jpg").write_bytes(b"")
    (a / "text.jpg").write_text("this is not an image\n")
    expected |= {f"{a.name}/{n}": "unreadable" for n in ("corrupt.jpg", "truncated.jpg", "empty.jpg", "text.jpg")}
    face.putalpha(200)
    face.save(b / "alpha.png")
    arr16 = np.asarray(_rgb(GOOD[4]).convert("L"), dtype=np.uint16) * 257
    Image.fromarray(arr16).save(b / "sixteen_bit.png")
    _rgb(GOOD[4]).convert("L").save(b / "gray.jpg")
    _rgb(GOOD[5]).save(b / "anim.gif")
    _rgb(GOOD[5]).convert("L").save(b / "portable.pgm")
    _rgb(GOOD[5]).save(b / "bitmap.bmp")
    _rgb(GOOD[5]).save(b / "web.webp")
    _rgb(GOOD[5]).resize((10, 10)).save(b / "tiny.png")
    _rgb(GOOD[5]).save(b / "my face ü.jpg")
    _rgb(GOOD[5]).resize((8000, 6000)).save(b / "huge.jpg", quality=80)
    exif = Image.Exif()
    exif[0x0112] = 6  # stored rotated; viewers (and we) turn it upright
    _rgb(GOOD[2]).crop((0, 0, 180, 250)).rotate(90, expand=True).save(b / "exif_rotated.jpg", exif=exif, quality=95)
    for name in (
        "alpha.png",
        "sixteen_bit.png",
        "gray.jpg",
        "anim.gif",
        "portable.pgm",
        "bitmap.bmp",
        "web.webp",
        "tiny.png",
        "my face ü.jpg",
        "exif_rotated.jpg",
        "huge.jpg",
    ):
        expected[f"{b.name}/{name}"] = "any"  # decodable: a face may or may not be found (then: no_face)
    shutil.copy(GOOD[1], c / "only.jpg")
    (c / "link.jpg").symlink_to(c / "only.jpg")
    (c / "loop1.jpg").symlink_to(c / "loop2.jpg")
    (c / "loop2.jpg").symlink_to(c / "loop1.jpg")
    shutil.copy(GOOD[1], c / ".hidden.jpg")
    expected |= {
        "Gamma/only.jpg": "",
        "Gamma/link.jpg": "",
        "Gamma/loop1.jpg": "unreadable",
        "Gamma/loop2.jpg": "unreadable",
    }
    return expected


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    root = tmp_path_factory.mktemp("corpus") / "faces"
    return root, _write_corpus(root)


@needs_weights
@pytest.mark.parametrize("policy", ["whole", "skip"])
def test_accuracy_records_every_bad_image(corpus: tuple[Path, dict[str, str]], tmp_path: Path, policy: str) -> None:
    root, expected = corpus
    code, text = bench(
        "accuracy",
        "--i",
        str(root),
        "--model",
        "Dlib",
        "--backend",
        "opencv",
        "--n",
        "200",
        "--on-no-face",
        policy,
        "--o",
        str(tmp_path),
        "--run-id",
        "r",
    )
    assert code == 0, text
    failures = pd.read_csv(tmp_path / "r" / "failures.csv")
    status = dict(zip(failures.image, failures.status))
    for rel, want in expected.items():
        if want == "":
            assert rel not in status, (rel, status.get(rel))
        elif want != "any":
            assert status.get(rel) == want, (rel, status.get(rel))
    assert ".hidden.jpg" not in " ".join(failures.image)
    assert failures.reason.notna().all()
    table = pd.read_csv(tmp_path / "r" / "accuracy.csv")
    assert (table.n_pairs_scored + table.n_pairs_dropped == table.n_pairs_listed).all()
    assert (table.n_pairs_dropped > 0).all()  # pairs with unreadable images are dropped and counted


@needs_weights
def test_similarity_goes_on_past_bad_images(corpus: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    root, _ = corpus
    code, text = bench(
        "similarity", "--i", str(root), "--model", "Dlib", "--backend", "opencv", "--o", str(tmp_path), "--run-id", "s"
    )
    assert code == 0, text
    long = pd.read_csv(tmp_path / "s" / "similarity.csv")
    assert {"Alpha One", "Bétà", "Gamma"} == set(long.identity_a)


@needs_weights
def test_on_no_face_error_stops_with_one_line(corpus: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    root, _ = corpus
    code, text = bench(
        "similarity",
        "--i",
        str(root),
        "--model",
        "Dlib",
        "--backend",
        "opencv",
        "--on-no-face",
        "error",
        "--o",
        str(tmp_path),
    )
    assert code == 1 and "no face found by opencv in" in text and len(text.strip().splitlines()) == 1


def test_decoder_handles_formats(corpus: tuple[Path, dict[str, str]]) -> None:
    from bench.data.images import UnreadableImage, decode

    root, _ = corpus
    for name in (
        "alpha.png",
        "sixteen_bit.png",
        "gray.jpg",
        "anim.gif",
        "portable.pgm",
        "bitmap.bmp",
        "web.webp",
        "my face ü.jpg",
    ):
        image = decode(root / "Bétà" / name)
        assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3, name
    assert decode(root / "Bétà" / "huge.jpg").shape == (1536, 2048, 3)  # downscaled to MAX_SIDE, aspect kept
    upright = decode(root / "Bétà" / "exif_rotated.jpg")
    original = np.asarray(_rgb(GOOD[2]).crop((0, 0, 180, 250)))[:, :, ::-1].astype(float)
    assert upright.shape == (250, 180, 3)
    assert np.abs(upright - original).mean() < 8  # turned upright, not merely resized
    for name in ("corrupt.jpg", "truncated.jpg", "empty.jpg", "text.jpg"):
        with pytest.raises(UnreadableImage):
            decode(root / "Alpha One" / name)
    with pytest.raises(UnreadableImage):
        decode(root / "Gamma" / "loop1.jpg")


def test_one_identity_dataset_cannot_sample_pairs(tmp_path: Path) -> None:
    (tmp_path / "solo").mkdir()
    for src in GOOD[:2]:
        shutil.copy(src, tmp_path / "solo" / src.name)
    code, text = bench("accuracy", "--i", str(tmp_path), "--backend", "skip", "--o", str(tmp_path / "out"))
    assert code == 1 and "needs 2+ identities" in text and len(text.strip().splitlines()) == 1


@needs_weights
def test_unreadable_weights_file_makes_the_model_unavailable(tmp_path: Path) -> None:
    weights = tmp_path / "w"
    weights.mkdir()
    (weights / "face_recognition_sface_2021dec.onnx").write_bytes(b"not an onnx graph")
    code, text = bench(
        "--weights-dir",
        str(weights),
        "accuracy",
        "--i",
        str(SAMPLE),
        "--model",
        "SFace,Dlib",
        "--backend",
        "skip",
        "--metric",
        "cosine",
        "--o",
        str(tmp_path / "out"),
        "--run-id",
        "w",
    )
    assert code == 1 and "status: incomplete" in text and "--allow-partial" in text, text
    assert json.loads((tmp_path / "out" / "w" / "manifest.json").read_text())["status"] == "incomplete"
    unavailable = pd.read_csv(tmp_path / "out" / "w" / "unavailable.csv")
    assert unavailable.model.tolist() == ["SFace"] and "SFace failed to load" in unavailable.reason[0]
    assert pd.read_csv(tmp_path / "out" / "w" / "accuracy.csv").model.tolist() == ["Dlib"]
