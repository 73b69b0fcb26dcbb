"""Deterministic robustness variants of a dataset: in-plane rotations and image perturbations.

Each variant is written as ``<out>/<variant>/<identity>/<image>`` (same file names, so the pair list maps
unchanged) with the pair list as ``<out>/<variant>/pairs.csv``; ``<out>/variants.json`` says what was
applied. ``clean`` is a byte copy; other variants are re-encoded in the file's own format (JPEG at quality
100). Occlusions are placed from a detector's eye landmarks and face box when one is given, else at fixed
fractions of the image, which assume a roughly centred face (as in LFW).
"""

from __future__ import annotations

import json
import shutil
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bench.data.datasets import Dataset, DatasetError, Pairs
from bench.data.faces import Face
from bench.data.images import UnreadableImage, decode
from bench.run.config import Settings
from bench.run.runs import write_csv, write_json

ROTATIONS = (-90, -60, -45, -30, -15, 15, 30, 45, 60, 90)
OCCLUSIONS = {"eyes": (0.36, 0.54, 0.22, 0.78), "lower": (0.58, 0.88, 0.25, 0.75)}  # y0, y1, x0, x1 fractions
JPEG_REENCODE_QUALITY = 100
Faces = tuple[str, list["Face | None"]]  # detector name, a face per image
Transform = Callable[..., np.ndarray]  # (image, rng, clean-image face or None) -> image


@dataclass(frozen=True)
class Variant:
    """One named perturbation: its family (for grouping), its level, and what it does."""

    name: str
    family: str
    level: float
    describe: str
    apply: Transform

    def record(self) -> dict[str, Any]:
        """JSON-safe description for variants.json."""
        return {"name": self.name, "family": self.family, "level": self.level, "applied": self.describe}


def _cv2():  # type: ignore[no-untyped-def]
    import cv2

    return cv2


def rotate(image: np.ndarray, degrees: float) -> np.ndarray:
    """Counter-clockwise in-plane rotation about the centre; the canvas grows to keep the whole image (black fill)."""
    cv2 = _cv2()
    h, w = image.shape[:2]
    matrix = cv2.getRotationMatrix2D(((w - 1) / 2, (h - 1) / 2), degrees, 1.0)  # about the centre pixel
    cos, sin = abs(matrix[0, 0]), abs(matrix[0, 1])
    size = (int(np.ceil(h * sin + w * cos - 1e-6)), int(np.ceil(h * cos + w * sin - 1e-6)))
    matrix[:, 2] += (size[0] - w) / 2, (size[1] - h) / 2
    return cv2.warpAffine(image, matrix, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)


def _clip(values: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(values), 0, 255).astype(np.uint8)


def occlusion_box(shape: tuple[int, ...], region: str, face: Face | None = None) -> tuple[int, int, int, int]:
    """(y0, y1, x0, x1) in pixels: from the face's eye landmarks / box where given, else fixed image fractions."""
    h, w = shape[:2]
    if face is None or face.whole_image:
        y0, y1, x0, x1 = OCCLUSIONS[region]
        return int(y0 * h), int(y1 * h), int(x0 * w), int(x1 * w)
    eyes = [face.landmarks.get(k) for k in ("left_eye", "right_eye")]
    if region == "eyes" and all(eyes):
        (ax, ay), (bx, by) = eyes  # type: ignore[misc]
        d, cy = float(np.hypot(ax - bx, ay - by)), (ay + by) / 2
        box = (cy - 0.4 * d, cy + 0.4 * d, min(ax, bx) - 0.6 * d, max(ax, bx) + 0.6 * d)
    else:
        y0, y1 = (0.2, 0.5) if region == "eyes" else (0.6, 1.0)
        box = (face.y + y0 * face.h, face.y + y1 * face.h, face.x + 0.1 * face.w, face.x + 0.9 * face.w)
    y0, y1, x0, x1 = (max(0, int(v)) for v in box)
    return y0, min(h, y1), x0, min(w, x1)


def occlude(image: np.ndarray, region: str, face: Face | None = None) -> np.ndarray:
    """A black box over the eyes or the lower face (see :func:`occlusion_box`)."""
    y0, y1, x0, x1 = occlusion_box(image.shape, region, face)
    out = image.copy()
    out[y0:y1, x0:x1] = 0
    return out


def low_resolution(image: np.ndarray, factor: int) -> np.ndarray:
    """Downscale by ``factor`` (area) and back up (bilinear) to the original size."""
    cv2 = _cv2()
    h, w = image.shape[:2]
    small = cv2.resize(image, (max(1, w // factor), max(1, h // factor)), interpolation=cv2.INTER_AREA)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)


def blur(image: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur with standard deviation ``sigma`` px."""
    return _cv2().GaussianBlur(image, (0, 0), sigma)


def jpeg(image: np.ndarray, quality: int) -> np.ndarray:
    """A JPEG round trip at ``quality``."""
    cv2 = _cv2()
    _, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    return cv2.imdecode(data, cv2.IMREAD_COLOR)


def _catalog() -> list[Variant]:
    v = [Variant("clean", "clean", 0, "unchanged (byte copy)", lambda im, rng, face: im)]
    v += [
        Variant(
            f"rotate_{a:+d}",
            "rotate",
            a,
            f"rotated {a:+d} degrees counter-clockwise, canvas grown, black fill",
            lambda im, rng, face, a=a: rotate(im, a),
        )
        for a in ROTATIONS
    ]
    v += [
        Variant(f"blur_s{s}", "blur", s, f"gaussian blur, sigma {s} px", lambda im, rng, face, s=s: blur(im, s))
        for s in (1, 2, 4)
    ]
    v += [
        Variant(
            f"noise_s{s}",
            "noise",
            s,
            f"additive gaussian noise, sigma {s} (0-255 scale), seeded per image",
            lambda im, rng, face, s=s: _clip(im + rng.normal(0, s, im.shape)),
        )
        for s in (10, 25)
    ]
    v += [
        Variant(
            f"occlude_{r}",
            "occlude",
            i,
            f"black box over the {r} (from landmarks when a detector was "
            f"given, else image fractions {OCCLUSIONS[r]} as y0, y1, x0, x1)",
            lambda im, rng, face, r=r: occlude(im, r, face),
        )
        for i, r in enumerate(OCCLUSIONS)
    ]
    v += [
        Variant(
            f"lowres_x{f}",
            "lowres",
            f,
            f"downscaled {f}x then upscaled back",
            lambda im, rng, face, f=f: low_resolution(im, f),
        )
        for f in (4, 8)
    ]
    v += [
        Variant(f"jpeg_q{q}", "jpeg", q, f"JPEG quality {q}", lambda im, rng, face, q=q: jpeg(im, q)) for q in (20, 5)
    ]
    v += [
        Variant(
            f"brightness_{d:+d}",
            "brightness",
            d,
            f"{d:+d} added to every channel",
            lambda im, rng, face, d=d: _clip(im.astype(float) + d),
        )
        for d in (-60, 60)
    ]
    v += [
        Variant(
            f"contrast_x{c:g}",
            "contrast",
            c,
            f"contrast scaled by {c:g} about mid-grey",
            lambda im, rng, face, c=c: _clip((im.astype(float) - 127.5) * c + 127.5),
        )
        for c in (0.5, 1.5)
    ]
    return v


def select(names: str | None) -> list[Variant]:
    """Variants by name or family (comma list; None or ``all``: every one); ``clean`` is always included."""
    catalog = _catalog()
    if not names or names.strip().lower() == "all":
        return catalog
    wanted = {n.strip() for n in names.split(",") if n.strip()}
    known = {v.name for v in catalog} | {v.family for v in catalog}
    if wanted - known:
        raise DatasetError(f"unknown variant {', '.join(sorted(wanted - known))}; known: {', '.join(sorted(known))}")
    return [v for v in catalog if v.name == "clean" or {v.name, v.family} & wanted]


def _encode(image: np.ndarray, suffix: str) -> bytes:
    cv2 = _cv2()
    ok, data = cv2.imencode(suffix, image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_REENCODE_QUALITY])
    if not ok:
        ok, data = cv2.imencode(".png", image)  # a format OpenCV cannot write: PNG bytes, same name
    return data.tobytes()


def _write_image(variant: Variant, source: Path, target: Path, rel: str, seed: int, face: Face | None) -> bool:
    """Write one image of one variant; False when the source cannot be decoded (copied as it is)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if variant.name == "clean":
        shutil.copyfile(source, target)
        return True
    try:
        image = decode(source)
    except UnreadableImage:
        shutil.copyfile(source, target)  # stays unreadable: the failure is recorded the same way in every variant
        return False
    rng = np.random.default_rng([seed, zlib.crc32(rel.encode()), zlib.crc32(variant.name.encode())])
    target.write_bytes(_encode(variant.apply(image, rng, face), target.suffix.lower()))
    return True


def pairs_frame(dataset: Dataset, pairs: Pairs) -> pd.DataFrame:
    """The pair list as CSV rows of relative paths (with folds where the list has them)."""
    frame = pd.DataFrame(
        {
            "file_x": [dataset.images[i].rel for i in pairs.left],
            "file_y": [dataset.images[i].rel for i in pairs.right],
            "same": pairs.same.astype(int),
        }
    )
    return frame.assign(fold=pairs.folds) if pairs.folds is not None else frame


def generate(
    dataset: Dataset, pairs: Pairs, out: Path, chosen: list[Variant], seed: int, faces: Faces | None = None
) -> dict[str, Any]:
    """Write every chosen variant of the images ``pairs`` uses; skipped when variants.json says it is done.

    ``faces`` (detector name, one face or None per image) places occlusions from landmarks.
    """
    detector, found = faces if faces is not None else ("", [None] * len(dataset.images))
    listing = pairs_frame(dataset, pairs)
    config = {
        "source": str(dataset.root),
        "pairs_source": pairs.source,
        "seed": seed,
        "pairs_sha": zlib.crc32(listing.to_csv(index=False).encode()),
        "n_images": len(dataset.images),
        "jpeg_reencode_quality": JPEG_REENCODE_QUALITY,
        "occlusion_detector": detector,
    }
    manifest_path = out / "variants.json"
    done = json.loads(manifest_path.read_text()) if manifest_path.is_file() else {}
    made = {v["name"] for v in done.get("variants", [])} if done.get("config") == config else set()
    undecodable: set[str] = set(done.get("undecodable", [])) if made else set()
    for variant in chosen:
        if variant.name in made:
            continue
        for img, face in zip(dataset.images, found):
            if not _write_image(variant, img.path, out / variant.name / img.rel, img.rel, seed, face):
                undecodable.add(img.rel)
        write_csv(out / variant.name / "pairs.csv", listing)
    records = {v["name"]: v for v in done.get("variants", []) if v["name"] in made}
    records.update({v.name: v.record() for v in chosen})
    manifest = {"config": config, "variants": list(records.values()), "undecodable": sorted(undecodable)}
    write_json(manifest_path, manifest)
    return manifest


def occluder_faces(settings: Settings, dataset: Dataset, name: str | None) -> Faces | None:
    """The ``--occlude-with`` detector's face per image (None where it finds none), cached like any detection."""
    if not name:
        return None
    from bench.compute.executors import LocalExecutor
    from bench.compute.pipeline import Pipeline
    from bench.compute.store import Store

    spec = settings.plugins().detectors.get(name)
    pipeline = Pipeline(Store(settings.cache_dir), settings.weights_dir, "skip", LocalExecutor(settings.quiet))
    return spec.name, [d.face if d.status == "ok" else None for d in pipeline.detect(dataset, spec)]


def relative_to_clean(accuracy: pd.DataFrame) -> pd.DataFrame:
    """Per variant, model, detector and metric: accuracy, AUC, and their drop from the clean baseline."""
    keys = ["model", "detector", "metric"]
    figures = ["acc_kfold_mean", "auc"]
    clean = accuracy[accuracy.variant == "clean"].set_index(keys)[figures]
    table = accuracy[["variant", "family", "level", *keys, *figures, "failure_to_detect_rate"]].join(
        clean.rename(columns=lambda c: f"clean_{c}"), on=keys
    )
    for figure in figures:
        table[f"{figure}_drop"] = table[f"clean_{figure}"] - table[figure]
    return table
