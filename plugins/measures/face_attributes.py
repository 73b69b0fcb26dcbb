"""Face attribute networks of npm ``faceplugin-face-recognition-js`` 0.0.1 (MIT): liveness, age and gender.

* **Liveness** (``faceplugin_fr_liveness.onnx``, MiniFASNet-like, 128x128, 3 classes) is a quality measure
  (``register_quality``): the probability of the *real* class, so ``bench quality`` ranks it like any other.
* **Gender** and **age** (``faceplugin_fr_gender.onnx``, ``faceplugin_fr_age.onnx``, SSR-Net, 64x64) are attribute
  estimators (``register_attribute_estimators``): ``bench fairness --attributes estimated`` groups by their labels,
  named ``gender (estimated)`` / ``age (estimated)``.

Input conventions, as found on LFW (real photographs; female/male lists) -- the package's JS crops a box scaled
about the face box's centre (kept inside the image, :func:`box_crop`), 2.7x for liveness and 1.4x for age/gender:

* liveness: **BGR**, raw 0..255, NCHW; class **0 is real** (the JS reports ``softmax[0]``). BGR, not the JS's RGB:
  fed BGR, 200 LFW faces get a median real probability of 0.99, and a moire overlay or JPEG quality 3 drops it to
  0.27 / 0.32; fed RGB the median is 0.42 and moire *raises* it. Inputs scaled to 0..1 give 0.98 for everything,
  whatever the image (a degenerate input).
* age/gender: **BGR**, ``(x/255 - ImageNet mean) / std``, NCHW; SSR-Net's stage-wise soft regression (the JS's
  ``mergeGender``, :func:`ssr_merge`) with V = 1 for gender (> 0.5: male) and V = 101 for age (years).
  BGR beats the JS's RGB on 600 LFW faces: gender AUC 0.91 vs 0.77 (``benchmarks/results/fairness-lfw.md``).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from bench.compute.weights import WeightFile, require
from bench.data.faces import Face
from bench.hookspecs import hookimpl
from bench.measures import AttributeEstimator, QualityMeasure, Sample

NPM = "npm faceplugin-face-recognition-js 0.0.1 (model/fr_*.onnx); see ../shared/WEIGHTS.md"
LIVENESS = WeightFile("faceplugin_fr_liveness.onnx", note=NPM)
GENDER = WeightFile("faceplugin_fr_gender.onnx", note=NPM)
AGE = WeightFile("faceplugin_fr_age.onnx", note=NPM)

LIVENESS_SCALE, LIVENESS_SIZE, REAL_CLASS = 2.7, 128, 0
SSR_SCALE, SSR_SIZE = 1.4, 64
IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], np.float32)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], np.float32)
SSR_OUTPUTS = (
    "prob_stage_1",
    "prob_stage_2",
    "prob_stage_3",
    "stage1_delta_k",
    "stage2_delta_k",
    "stage3_delta_k",
    "index_offset_stage1",
    "index_offset_stage2",
    "index_offset_stage3",
)
AGE_BANDS = ((30.0, "<30"), (45.0, "30-45"), (60.0, "45-60"), (float("inf"), "60+"))
"""Upper bound (exclusive) -> band label."""


@cache
def _session(path: Path) -> Any:
    from bench.compute.runtime import onnx_session

    return onnx_session(str(path))


def box_crop(image: np.ndarray, face: Face, scale: float, size: int) -> np.ndarray:
    """The face box scaled by ``scale`` about its centre (less where the image is too small), shifted to lie inside
    the image, resized to ``size`` x ``size`` (the package's ``alignLivenessImage`` / ``alignGenderImage``)."""
    import cv2

    height, width = image.shape[:2]
    w, h = max(face.w, 1.0), max(face.h, 1.0)
    s = min((height - 1) / h, (width - 1) / w, scale)
    cx, cy, half_w, half_h = face.x + w / 2, face.y + h / 2, w * s / 2, h * s / 2
    x0 = min(max(cx - half_w, 0.0), width - 1 - 2 * half_w)
    y0 = min(max(cy - half_h, 0.0), height - 1 - 2 * half_h)
    x0, y0 = max(int(x0), 0), max(int(y0), 0)
    x1, y1 = int(x0 + 2 * half_w), int(y0 + 2 * half_h)
    return cv2.resize(image[y0 : max(y1, y0 + 1), x0 : max(x1, x0 + 1)], (size, size))


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def liveness(sample: Sample) -> float:
    """Probability that the face is a live one (not a print or a screen): the real class of the 3-way softmax."""
    assert sample.weights_dir is not None
    session = _session(require(LIVENESS, sample.weights_dir))
    crop = box_crop(sample.image, sample.face, LIVENESS_SCALE, LIVENESS_SIZE)
    x = np.ascontiguousarray(crop.astype(np.float32).transpose(2, 0, 1)[None])
    return float(_softmax(session.run(None, {"input": x})[0])[0, REAL_CLASS])


def ssr_merge(out: dict[str, np.ndarray], v: float, stages: int = 3) -> np.ndarray:
    """SSR-Net's soft stage-wise regression per row: sum over stages k of ``sum_i (i + offset_ki) p_ki`` divided by
    ``prod_{j<=k} stages (1 + delta_j)``, times ``v`` (lambda_local = lambda_d = 1, as the package's JS)."""
    total = np.zeros(len(out["prob_stage_1"]))
    divisor = np.ones(len(total))
    bins = np.arange(stages)
    for k in range(1, 4):
        divisor = divisor * stages * (1 + out[f"stage{k}_delta_k"][:, 0])
        total += ((bins + out[f"index_offset_stage{k}"]) * out[f"prob_stage_{k}"]).sum(axis=1) / divisor
    return total * v


def ssr_values(
    weight: WeightFile, v: float, images: list[np.ndarray], faces: list[Face], weights_dir: Path
) -> np.ndarray:
    """The SSR-Net output of each face (the graph's batch is fixed at 1)."""
    session = _session(require(weight, weights_dir))
    values = []
    for image, face in zip(images, faces):
        crop = box_crop(image, face, SSR_SCALE, SSR_SIZE).astype(np.float32) / 255
        x = np.ascontiguousarray(((crop - IMAGENET_MEAN) / IMAGENET_STD).transpose(2, 0, 1)[None])
        out = dict(zip(SSR_OUTPUTS, session.run(list(SSR_OUTPUTS), {"input": x})))
        values.append(ssr_merge(out, v)[0])
    return np.asarray(values, float)


def gender(images: list[np.ndarray], faces: list[Face], weights_dir: Path) -> list[str]:
    """``male`` where SSR-Net's gender output is above 0.5, else ``female``."""
    return ["male" if g > 0.5 else "female" for g in ssr_values(GENDER, 1.0, images, faces, weights_dir)]


def age_band(years: float) -> str:
    """The band of :data:`AGE_BANDS` holding ``years``."""
    return next(label for upper, label in AGE_BANDS if years < upper)


def age(images: list[np.ndarray], faces: list[Face], weights_dir: Path) -> list[str]:
    """The age band of SSR-Net's age estimate (years, V = 101)."""
    return [age_band(a) for a in ssr_values(AGE, 101.0, images, faces, weights_dir)]


LIVENESS_MEASURE = QualityMeasure(
    "liveness",
    liveness,
    unit="probability",
    description="real-face probability of the faceplugin MiniFASNet-like anti-spoofing net (2.7x box crop)",
    weights=(LIVENESS,),
)
ESTIMATORS = (
    AttributeEstimator(
        "gender",
        ("female", "male"),
        gender,
        (GENDER,),
        description="SSR-Net gender (faceplugin), > 0.5 male; 1.4x box crop",
    ),
    AttributeEstimator(
        "age",
        tuple(label for _, label in AGE_BANDS),
        age,
        (AGE,),
        description="SSR-Net age in years (faceplugin), banded <30, 30-45, 45-60, 60+; 1.4x box crop",
    ),
)


@hookimpl
def register_quality(register: Any) -> None:
    """The liveness measure."""
    register(LIVENESS_MEASURE)


@hookimpl
def register_attribute_estimators(register: Any) -> None:
    """Estimated gender and age band."""
    for estimator in ESTIMATORS:
        register(estimator)
