"""Face image quality measures, registered like any third-party plugin's (``register_quality``).

From the detection alone: detector confidence, face size, inter-eye distance, pose (yaw, pitch, roll from the
5 landmarks). From the face box's pixels: sharpness, brightness, contrast, exposure. From the recognizer:
its feature norm before normalisation and flip consistency. The error-versus-discard evaluation that judges
them is :mod:`plugins.quality_edc`.

OFIQ (ISO/IEC 29794-5): ``ofiqpy`` 0.2.2 on PyPI reimplements OFIQ 1.1.0, but every measure, even the pixel ones,
runs on OFIQ's own alignment and masks from its 12 model files (453 MB, an ISO download unreachable here), and it
pins numpy<2, opencv 4.5.5 and onnxruntime 1.18.1, so it cannot share this environment: no adapter.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bench.compute.flip import mirror_face
from bench.compute.quality import face_box, sharpness
from bench.data.faces import Face
from bench.hookspecs import hookimpl
from bench.measures import QualityMeasure, Sample

# A generic face in the frontal ArcFace 112x112 template (eye midpoint at the origin, y down), with the nose tip
# NOSE_DEPTH in front of the plane of the eyes and mouth. Depth: about 3/4 of half the inter-eye distance.
HALF_EYES = (73.5318 - 38.2946) / 2
NOSE_DOWN = 71.7366 - (51.6963 + 51.5014) / 2
MOUTH_DOWN = (92.3655 + 92.2041) / 2 - (51.6963 + 51.5014) / 2
NOSE_DEPTH = 0.75 * HALF_EYES
UNDER, OVER = 25, 247
"""Grey levels at or below / at or above which a pixel is under- / over-exposed (OFIQ's ranges)."""


def _eyes(face: Face) -> tuple[np.ndarray, np.ndarray] | None:
    """(image-left eye, image-right eye): the person's right eye, then left; None without both."""
    marks = face.landmarks
    if "right_eye" not in marks or "left_eye" not in marks:
        return None
    return np.asarray(marks["right_eye"], float), np.asarray(marks["left_eye"], float)


def pose(face: Face) -> tuple[float, float, float]:
    """(yaw, pitch, roll) in degrees from the 5 landmarks, NaN without them.

    Roll is the eye line's angle. After undoing it, a head turned by yaw moves the nose tip sideways by
    ``NOSE_DEPTH sin(yaw)`` while the eyes close in to ``HALF_EYES cos(yaw)``; tilted by pitch, the nose moves
    up by ``NOSE_DEPTH sin(pitch)`` relative to the eye-to-mouth span (orthographic projection of the generic face).
    """
    eyes = _eyes(face)
    names = ("nose", "mouth_left", "mouth_right")
    if eyes is None or any(n not in face.landmarks for n in names):
        return (np.nan, np.nan, np.nan)
    a, b = eyes
    roll = np.arctan2(b[1] - a[1], b[0] - a[0])
    middle = (a + b) / 2
    turn = np.array([[np.cos(roll), np.sin(roll)], [-np.sin(roll), np.cos(roll)]])  # rotates by -roll
    nose, mouth_l, mouth_r = ((np.asarray(face.landmarks[n], float) - middle) @ turn.T for n in names)
    half = np.linalg.norm(b - a) / 2
    mouth = (mouth_l[1] + mouth_r[1]) / 2
    if half <= 0 or mouth <= 0:
        return (np.nan, np.nan, float(np.degrees(roll)))
    yaw = np.arctan(nose[0] / half * HALF_EYES / NOSE_DEPTH)
    pitch = np.arctan((NOSE_DOWN - nose[1] / mouth * MOUTH_DOWN) / NOSE_DEPTH)
    return float(np.degrees(yaw)), float(np.degrees(pitch)), float(np.degrees(roll))


def inter_eye(sample: Sample) -> float:
    """Pixels between the two eye landmarks."""
    eyes = _eyes(sample.face)
    return np.nan if eyes is None else float(np.linalg.norm(eyes[1] - eyes[0]))


def _grey_box(sample: Sample) -> np.ndarray:
    import cv2

    box = face_box(sample.image, sample.face)
    return cv2.cvtColor(box, cv2.COLOR_BGR2GRAY).astype(float) if box.size else np.empty(0)


def brightness(sample: Sample) -> float:
    """1 - |mean grey - 127.5| / 127.5 over the face box: 1 at mid-grey, 0 all black or all white."""
    grey = _grey_box(sample)
    return float(1 - abs(grey.mean() - 127.5) / 127.5) if grey.size else np.nan


def contrast(sample: Sample) -> float:
    """Standard deviation of the grey face box (RMS contrast, grey levels)."""
    grey = _grey_box(sample)
    return float(grey.std()) if grey.size else np.nan


def exposure(sample: Sample) -> float:
    """Fraction of face-box pixels neither under- (<= 25) nor over-exposed (>= 247)."""
    grey = _grey_box(sample)
    return float(np.mean((grey > UNDER) & (grey < OVER))) if grey.size else np.nan


def feature_norm(sample: Sample) -> float:
    """The recognizer's own quality output where it declares one (AdaFace's norm), else the raw vector's norm."""
    if sample.extra is not None:
        return sample.extra
    assert sample.model is not None and sample.vector is not None
    if sample.model.settings.get("quality_output") is not None:  # declared, but embedded before extras were kept
        recognizer = sample.recognizer()
        recognizer.embed(recognizer.crop(sample.image, sample.face)[None])
        return float(recognizer.last_quality[0])  # type: ignore[attr-defined]
    return float(np.linalg.norm(sample.vector))


def flip_distance(sample: Sample) -> float:
    """Cosine distance between the embedding of the face and of its mirror image (0: the model sees the same)."""
    assert sample.vector is not None
    recognizer = sample.recognizer()
    image = np.ascontiguousarray(sample.image[:, ::-1])
    flipped = np.asarray(recognizer.embed(recognizer.crop(image, mirror_face(sample.face, image.shape[1]))[None]))[0]
    v = sample.vector.astype(float)
    return float(1 - flipped @ v / (np.linalg.norm(flipped) * np.linalg.norm(v)))


def _pose_part(index: int) -> Any:
    return lambda sample: abs(pose(sample.face)[index])


MEASURES = (
    QualityMeasure(
        "confidence", lambda s: s.face.confidence, unit="score", description="detector confidence of the face used"
    ),
    QualityMeasure(
        "face_size", lambda s: float(np.sqrt(s.face.area)), unit="px", description="square root of the face box area"
    ),
    QualityMeasure("inter_eye", inter_eye, unit="px", description="distance between the eye landmarks"),
    QualityMeasure(
        "yaw", _pose_part(0), higher_is_better=False, unit="degrees", description="|yaw| estimated from the 5 landmarks"
    ),
    QualityMeasure(
        "pitch",
        _pose_part(1),
        higher_is_better=False,
        unit="degrees",
        description="|pitch| estimated from the 5 landmarks",
    ),
    QualityMeasure(
        "roll", _pose_part(2), higher_is_better=False, unit="degrees", description="|roll|: angle of the eye line"
    ),
    QualityMeasure(
        "sharpness",
        lambda s: sharpness(s.image, s.face),
        unit="Laplacian variance",
        description="variance of the Laplacian of the grey face box",
    ),
    QualityMeasure("brightness", brightness, description="closeness of the face box's mean grey to mid-grey"),
    QualityMeasure("contrast", contrast, unit="grey levels", description="RMS contrast of the face box"),
    QualityMeasure(
        "exposure",
        exposure,
        unit="fraction",
        description="face-box pixels neither under- (<= 25) nor over-exposed (>= 247)",
    ),
    QualityMeasure(
        "feature_norm",
        feature_norm,
        needs_model=True,
        unit="norm",
        description="the recognizer's feature norm before normalisation (AdaFace/MagFace style)",
    ),
    QualityMeasure(
        "flip_consistency",
        flip_distance,
        higher_is_better=False,
        needs_model=True,
        unit="cosine distance",
        description="distance between the embeddings of the face and its mirror",
    ),
)


@hookimpl
def register_quality(register: Any) -> None:
    """The built-in quality measures."""
    for measure in MEASURES:
        register(measure)


@hookimpl
def register_evaluations(register: Any) -> None:
    """``bench quality`` (EDC) and ``bench audit``."""
    from facebench_plugins.evaluations import dataset_audit, quality_edc

    register(quality_edc.SPEC)
    register(dataset_audit.SPEC)
