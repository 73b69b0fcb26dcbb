"""DeepFace's face recognizers as facebench plugins, with DeepFace's exact preprocessing.

``crop`` reproduces what ``DeepFace.verify`` does to a detected face (eye-line alignment inside the padded
image, RGB/255, letterbox resize to the model input, the chosen normalisation), so the embeddings and
distances equal DeepFace's for the same image, detector and model.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from bench.faces import Face
from bench.hookspecs import hookimpl
from bench.registry import RecognizerSpec
from bench.weights import WeightFile
from plugins.deepface_common import borders, build, pad, stage_weights

# deepface/config/threshold.py (DeepFace 0.0.103): distance <= threshold means "same person"
THRESHOLDS = {
    "Dlib": {"cosine": 0.07, "euclidean": 0.6, "euclidean_l2": 0.4, "angular": 0.12},
    "SFace": {"cosine": 0.593, "euclidean": 10.734, "euclidean_l2": 1.055, "angular": 0.36},
}


def aligned_face(image: np.ndarray, face: Face) -> np.ndarray:
    """The BGR face DeepFace's ``extract_face`` returns (eye-line rotation, align=True)."""
    if face.whole_image:
        return image
    from deepface.models.Detector import FacialAreaRegion
    from deepface.modules.detection import extract_face

    bh, bw = borders(image)

    def shift(name: str) -> tuple[int, int] | None:
        point = face.landmarks.get(name)
        return None if point is None else (int(point[0]) + bw, int(point[1]) + bh)

    region = FacialAreaRegion(
        x=int(face.x) + bw, y=int(face.y) + bh, w=int(face.w), h=int(face.h),
        confidence=face.confidence, left_eye=shift("left_eye"), right_eye=shift("right_eye"),
    )
    # detector_backend="opencv" only disables DeepFace's eye fallback, which detection already applied
    out = extract_face(region, pad(image), True, 0, bw, bh, "opencv").img
    if out.shape[0] == 0 or out.shape[1] == 0:
        raise ValueError("empty face region after alignment")
    return out  # type: ignore[no-any-return]


def deepface_input(face_bgr: np.ndarray, input_size: tuple[int, int], normalization: str) -> np.ndarray:
    """DeepFace's path from a face crop to the model input: [0,1] scaling, letterbox, normalisation."""
    from deepface.modules.preprocessing import normalize_input, resize_image

    rgb = face_bgr[:, :, ::-1]
    if rgb.max() > 1:
        rgb = rgb / 255
    width, height = input_size
    batch = resize_image(rgb[:, :, ::-1], (height, width))
    return normalize_input(batch, normalization)[0]  # type: ignore[no-any-return]


class DeepFaceRecognizer:
    """A DeepFace ``FacialRecognition`` client behind facebench's recognizer interface."""

    def __init__(self, model_name: str, files: dict[str, Path], normalization: str = "base") -> None:
        stage_weights(files)
        self.client: Any = build("facial_recognition", model_name)
        self.normalization = normalization

    def crop(self, image: np.ndarray, face: Face) -> np.ndarray:
        """Model input for one face (float32, H x W x 3)."""
        width, height = self.client.input_shape[1], self.client.input_shape[0]
        return deepface_input(aligned_face(image, face), (width, height), self.normalization)

    def embed(self, crops: np.ndarray) -> np.ndarray:
        """One forward pass over the batch (DeepFace batches where its backend allows)."""
        return np.atleast_2d(np.asarray(self.client.forward(crops), dtype=np.float32))


def _spec(name: str, dim: int, size: tuple[int, int], weight: WeightFile, requires: tuple[str, ...], text: str) -> RecognizerSpec:
    return RecognizerSpec(
        name=name,
        load=lambda files: DeepFaceRecognizer(name, files),
        weights=(weight,),
        requires=("deepface", *requires),
        settings={"family": "deepface", "alignment": "deepface-eyes", "normalization": "base"},
        description=text,
        dim=dim,
        input_size=size,
        thresholds=THRESHOLDS[name],
    )


RECOGNIZERS = (
    _spec(
        "Dlib", 128, (150, 150),
        WeightFile(
            "dlib_face_recognition_resnet_model_v1.dat",
            "https://dlib.net/files/dlib_face_recognition_resnet_model_v1.dat.bz2",
            bundled=("face_recognition_models:models/dlib_face_recognition_resnet_model_v1.dat",),
        ),
        ("dlib",), "dlib ResNet-29 face descriptor (DeepFace's Dlib)",
    ),
    _spec(
        "SFace", 128, (112, 112),
        WeightFile(
            "face_recognition_sface_2021dec.onnx",
            "https://github.com/opencv/opencv_zoo/raw/main/models/face_recognition_sface/face_recognition_sface_2021dec.onnx",
            ("face_recognition_sface_2021dec_int8bq.onnx",),
            "the int8 block-quantized build is accepted in place of the fp32 one",
        ),
        ("onnxruntime",), "SFace (OpenCV zoo, DeepFace's onnxruntime client)",
    ),
)


@hookimpl
def register_recognizers(register: Any) -> None:
    """DeepFace's recognizers that run here."""
    for spec in RECOGNIZERS:
        register(spec)
