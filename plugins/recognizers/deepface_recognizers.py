"""DeepFace's face recognizers as facebench plugins, with DeepFace's exact preprocessing.

``crop`` reproduces what ``DeepFace.verify`` does to a detected face (eye-line alignment inside the padded
image, RGB/255, letterbox resize to the model input, the chosen normalisation), so the embeddings and
distances equal DeepFace's for the same image, detector and model.
"""

from __future__ import annotations

import dataclasses
import importlib.metadata
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from bench.compute import runtime
from bench.compute.alignment import align
from bench.compute.weights import WeightFile
from bench.data.faces import Face
from bench.hookspecs import hookimpl
from bench.registry import RecognizerSpec
from facebench_plugins.recognizers.deepface_common import (
    borders,
    build,
    deepface_release,
    deepface_tensorflow,
    pad,
    stage_weights,
)

# deepface/config/threshold.py (DeepFace 0.0.103): distance <= threshold means "same person"
THRESHOLDS = {
    "VGG-Face": {"cosine": 0.68, "euclidean": 1.17, "euclidean_l2": 1.17, "angular": 0.39},
    "Facenet": {"cosine": 0.40, "euclidean": 10, "euclidean_l2": 0.80, "angular": 0.33},
    "Facenet512": {"cosine": 0.30, "euclidean": 23.56, "euclidean_l2": 1.04, "angular": 0.35},
    "ArcFace": {"cosine": 0.68, "euclidean": 4.15, "euclidean_l2": 1.13, "angular": 0.39},
    "Dlib": {"cosine": 0.07, "euclidean": 0.6, "euclidean_l2": 0.4, "angular": 0.12},
    "SFace": {"cosine": 0.593, "euclidean": 10.734, "euclidean_l2": 1.055, "angular": 0.36},
    "OpenFace": {"cosine": 0.10, "euclidean": 0.55, "euclidean_l2": 0.55, "angular": 0.11},
    "DeepFace": {"cosine": 0.23, "euclidean": 64, "euclidean_l2": 0.64, "angular": 0.12},
    "DeepID": {"cosine": 0.015, "euclidean": 45, "euclidean_l2": 0.17, "angular": 0.04},
    "GhostFaceNet": {"cosine": 0.65, "euclidean": 35.71, "euclidean_l2": 1.10, "angular": 0.38},
    "Buffalo_L": {"cosine": 0.55, "euclidean": 0.6, "euclidean_l2": 1.1, "angular": 0.45},
}

# DeepFace picks its engine by precedence tensorflow > pytorch > onnx (deepface.commons.backend_utils); with
# TensorFlow installed the multi-engine models are its Keras classes in deepface.models.facial_recognition.tf,
# which load .h5 files. Dlib, SFace and Buffalo_L have one implementation for every engine ("any").
TF = "tensorflow"
ANY = "any"
TF_MODULES = ("tensorflow", "tf_keras")
SFACE_FILE = "face_recognition_sface_2021dec.onnx"
DLIB_FILE = "dlib_face_recognition_resnet_model_v1.dat"
EYE_LINE = "deepface-eyes"  # DeepFace's: rotate so the eyes are level, crop the box, letterbox
FIVE_POINT = "arcface-5pt"  # the published protocol: 5-point similarity transform to the 112x112 template


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
        x=int(face.x) + bw,
        y=int(face.y) + bh,
        w=int(face.w),
        h=int(face.h),
        confidence=face.confidence,
        left_eye=shift("left_eye"),
        right_eye=shift("right_eye"),
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


def five_point_face(image: np.ndarray, face: Face, size: tuple[int, int]) -> np.ndarray:
    """The face warped by a 5-point similarity transform onto the ArcFace template scaled to ``size``
    (falls back to the square around the box when the detector gave fewer than 5 landmarks)."""
    box = (face.x, face.y, face.w, face.h)
    return align(image, face.landmarks, box, "arcface112", size)[0]


class DlibNetwork:
    """dlib's ``face_recognition_model_v1`` interface over its network converted to ONNX: ~5 ms a face on one
    core instead of dlib's ~85 ms, descriptors within ~1e-6 of dlib's. One face per call, so a face's bytes never
    depend on the batch it came in."""

    def __init__(self, path: Path) -> None:
        from facebench_plugins.recognizers.dlib_onnx import convert

        self.session = runtime.onnx_session(convert(path.read_bytes()))

    def compute_face_descriptor(self, batch: np.ndarray) -> list[np.ndarray]:
        """Descriptors of 150x150 RGB uint8 chips, as dlib's takes them from DeepFace's client."""
        chips = np.asarray(batch, dtype=np.float32)
        return [self.session.run(None, {"image": chip[None]})[0][0] for chip in chips]


def _sface_on_onnxruntime(client: Any, files: dict[str, Path]) -> None:
    """DeepFace's SFace graph with its constant DequantizeLinear nodes folded, on this process's thread share
    (DeepFace's session takes every core, oversubscribing parallel workers); still one face per call, as
    DeepFace's client feeds its fixed batch-1 graph."""
    from facebench_plugins.recognizers.onnx_graphs import fold_constant_dequantize

    client.model = runtime.onnx_session(fold_constant_dequantize(files[SFACE_FILE].read_bytes()))


def _dlib_on_onnxruntime(client: Any, files: dict[str, Path]) -> None:
    """DeepFace's Dlib client (its preprocessing kept) calling the ONNX conversion of dlib's network."""
    client.model.model = DlibNetwork(files[DLIB_FILE])


def _keras_graph(client: Any, files: dict[str, Path]) -> None:
    """DeepFace's own Keras model, traced once into a TensorFlow graph over any batch size, called where DeepFace's
    ``forward`` calls ``predict_on_batch`` (every batch of 2+ faces); the client's ``forward`` (and any
    post-processing it adds, e.g. VGG-Face's L2 normalisation) is kept. ``predict_on_batch`` goes through Keras's
    per-call data adapter; the traced call takes the array as it is (~2.5x faster on FaceNet at batch 32)."""
    import tensorflow as tf

    model = client.model
    graph = tf.function(
        lambda batch: model(batch, training=False),
        input_signature=[tf.TensorSpec([None, *model.input_shape[1:]], tf.float32)],
    )
    model.predict_on_batch = lambda batch: graph(np.asarray(batch, dtype=np.float32)).numpy()


# Faster runtimes of DeepFace clients: the same network with DeepFace's own code still preparing every input
# (descriptors within ~1e-6 of DeepFace's, distances within 1e-4 of DeepFace.verify's: tests/test_parity.py).
# SFace and Dlib run their network on onnxruntime, on the device's providers and the worker's thread share; every
# TensorFlow (Keras) model runs DeepFace's model as a traced graph. Per model: what swaps the network in, and the
# graph as the settings record it. DeepFace's unchanged client stays selectable as ``NAME-client``.
FASTER_NETWORKS: dict[str, tuple[Callable[[Any, dict[str, Path]], None], str]] = {
    "SFace": (_sface_on_onnxruntime, "constant DequantizeLinear folded"),
    "Dlib": (_dlib_on_onnxruntime, "dlib .dat converted to ONNX"),
}
KERAS_GRAPH = (_keras_graph, "keras model traced by tf.function, batched")
CLIENT_SUFFIX = "-client"


def faster_network(model_name: str, backend: str) -> tuple[Callable[[Any, dict[str, Path]], None], str] | None:
    """The faster runtime of a DeepFace model: its entry in :data:`FASTER_NETWORKS`, the traced Keras graph for
    a TensorFlow model, else None (DeepFace's client as it is)."""
    return FASTER_NETWORKS.get(model_name) or (KERAS_GRAPH if backend == TF else None)


class DeepFaceRecognizer:
    """A DeepFace ``FacialRecognition`` client behind facebench's recognizer interface; ``faster``: its network
    on :func:`faster_network`'s runtime where it has one, else DeepFace's client unchanged."""

    def __init__(
        self,
        model_name: str,
        files: dict[str, Path],
        backend: str,
        normalization: str = "base",
        alignment: str = EYE_LINE,
        faster: bool = True,
    ) -> None:
        stage_weights(files)
        if backend == TF:
            deepface_tensorflow(engine_bound=True)
        self.client: Any = build("facial_recognition", model_name)
        swap = faster_network(model_name, backend) if faster else None
        if swap is not None:
            swap[0](self.client, files)
        # DeepFace's forward runs a single face eagerly, never through predict_on_batch: pair it with a copy
        self.min_batch = 2 if swap is KERAS_GRAPH else 1
        self.normalization = normalization
        self.alignment = alignment

    def crop(self, image: np.ndarray, face: Face) -> np.ndarray:
        """Model input for one face (float32, H x W x 3); DeepFace's ``input_shape`` is (width, height)."""
        size = tuple(self.client.input_shape)
        if self.alignment == FIVE_POINT:
            return deepface_input(five_point_face(image, face, size), size, self.normalization)
        return deepface_input(aligned_face(image, face), size, self.normalization)

    def embed(self, crops: np.ndarray) -> np.ndarray:
        """One forward pass over the batch (DeepFace batches where its backend allows)."""
        count = len(crops)
        if count < self.min_batch:
            crops = np.concatenate([crops] * self.min_batch)
        return np.atleast_2d(np.asarray(self.client.forward(crops), dtype=np.float32))[:count]


def _tensorflow_at_most_2_12() -> str | None:
    """DeepFace's FbDeepFace client refuses TensorFlow > 2.12 (it needs LocallyConnected2D)."""
    try:
        version = importlib.metadata.version("tensorflow")
    except importlib.metadata.PackageNotFoundError:
        return None  # another TensorFlow distribution: DeepFace itself decides when loading
    major, minor = (int(part) for part in version.split(".")[:2])
    if (major, minor) <= (2, 12):
        return None
    return f"DeepFace's FbDeepFace client needs TensorFlow <= 2.12 (LocallyConnected2D); installed {version}"


def _spec(
    name: str,
    dim: int,
    size: tuple[int, int],
    weight: WeightFile,
    backend: str,
    requires: tuple[str, ...],
    text: str,
    extra: str = "",
    check: Callable[[], str | None] | None = None,
) -> RecognizerSpec:
    return RecognizerSpec(
        name=name,
        load=lambda files: DeepFaceRecognizer(name, files, backend),
        weights=(weight,),
        requires=("deepface", *requires),
        extra=extra or "deepface",
        check=check,
        settings={"family": "deepface", "alignment": EYE_LINE, "normalization": "base", "backend": backend},
        description=text,
        dim=dim,
        input_size=size,
        thresholds=THRESHOLDS[name],
    )


# In DeepFace's order (deepface.modules.modeling); input sizes are DeepFace's input_shape, (width, height).
RECOGNIZERS = (
    _spec(
        "VGG-Face",
        4096,
        (224, 224),
        deepface_release("vgg_face_weights.h5"),
        TF,
        TF_MODULES,
        "VGG-Face (VGG-16), DeepFace's Keras build; its forward L2-normalises",
    ),
    _spec(
        "Facenet",
        128,
        (160, 160),
        deepface_release("facenet_weights.h5"),
        TF,
        TF_MODULES,
        "FaceNet 128-d (Inception-ResNet-v1, Sandberg's weights)",
    ),
    _spec(
        "Facenet512",
        512,
        (160, 160),
        deepface_release("facenet512_weights.h5"),
        TF,
        TF_MODULES,
        "FaceNet 512-d (Inception-ResNet-v1, Sandberg's weights)",
    ),
    _spec(
        "OpenFace", 128, (96, 96), deepface_release("openface_weights.h5"), TF, TF_MODULES, "OpenFace nn4.small2 (CMU)"
    ),
    _spec(
        "DeepFace",
        4096,
        (152, 152),
        WeightFile(
            "VGGFace2_DeepFace_weights_val-0.9034.h5",
            "https://github.com/swghosh/DeepFace/releases/download/weights-vggface2-2d-aligned/"
            "VGGFace2_DeepFace_weights_val-0.9034.h5.zip",
            note="served as a zip archive holding the .h5",
        ),
        TF,
        TF_MODULES,
        "Facebook DeepFace (VGGFace2-trained, swghosh's Keras weights)",
        check=_tensorflow_at_most_2_12,
    ),
    _spec(
        "DeepID",
        160,
        (47, 55),
        deepface_release("deepid_keras_weights.h5"),
        TF,
        TF_MODULES,
        "DeepID (Sun et al.), 47 wide x 55 high input",
    ),
    _spec(
        "ArcFace",
        512,
        (112, 112),
        deepface_release("arcface_weights.h5"),
        TF,
        TF_MODULES,
        "ArcFace ResNet-34, DeepFace's Keras build",
    ),
    _spec(
        "Dlib",
        128,
        (150, 150),
        WeightFile(
            DLIB_FILE,
            "https://dlib.net/files/dlib_face_recognition_resnet_model_v1.dat.bz2",
            bundled=("face_recognition_models:models/dlib_face_recognition_resnet_model_v1.dat",),
        ),
        ANY,
        ("dlib", "onnx", "onnxruntime"),
        "dlib ResNet-29 face descriptor (DeepFace's Dlib; the network on onnxruntime)",
    ),
    _spec(
        "SFace",
        128,
        (112, 112),
        WeightFile(
            SFACE_FILE,
            "https://github.com/opencv/opencv_zoo/raw/main/models/face_recognition_sface/face_recognition_sface_2021dec.onnx",
            ("face_recognition_sface_2021dec_int8bq.onnx",),
            "the int8 block-quantized build is accepted in place of the fp32 one",
        ),
        ANY,
        ("onnx", "onnxruntime"),
        "SFace (OpenCV zoo, DeepFace's onnxruntime client)",
    ),
    _spec(
        "GhostFaceNet",
        512,
        (112, 112),
        WeightFile(
            "ghostfacenet_v1.h5",
            "https://github.com/HamadYA/GhostFaceNets/releases/download/v1.2/GhostFaceNet_W1.3_S1_ArcFace.h5",
            note="the release file GhostFaceNet_W1.3_S1_ArcFace.h5 under DeepFace's name",
        ),
        TF,
        TF_MODULES,
        "GhostFaceNet-V1 W1.3 S1 (ArcFace loss), DeepFace's Keras build",
    ),
    _spec(
        "Buffalo_L",
        512,
        (112, 112),
        WeightFile(
            "buffalo_l/webface_r50.onnx",
            "https://drive.google.com/uc?export=download&confirm=pbef&id=1N0GL-8ehw_bz2eZQWz2b0A5XBdXdxZhg",
            note="InsightFace buffalo_l recognition graph, in DeepFace's buffalo_l/ sub-folder",
        ),
        ANY,
        ("insightface", "onnxruntime"),
        "InsightFace buffalo_l ResNet-50 (insightface, onnxruntime)",
        extra="insightface",
    ),
)


def _five_point(spec: RecognizerSpec, normalization: str) -> RecognizerSpec:
    """The same DeepFace model fed 5-point template-aligned crops instead of DeepFace's eye-line ones."""
    model, backend = spec.name, spec.settings["backend"]
    return dataclasses.replace(
        spec,
        name=f"{model}-5pt",
        load=lambda files: DeepFaceRecognizer(model, files, backend, normalization, FIVE_POINT),
        settings={**spec.settings, "alignment": FIVE_POINT, "normalization": normalization},
        description=f"{spec.description}; 5-point alignment to the ArcFace template (needs a 5-landmark detector)"
        + ("" if normalization == "base" else f", DeepFace's {normalization!r} normalisation"),
    )


# Models offered with both alignments, to show the gap, and the normalisation of their 5-point variant: those
# trained on 5-point-aligned 112x112 crops, and FaceNet (Sandberg's weights: MTCNN-aligned crops, per-image
# standardised, i.e. DeepFace's "Facenet" normalisation; its template is the ArcFace one scaled to 160x160).
FIVE_POINT_MODELS = {
    "ArcFace": "base",
    "SFace": "base",
    "GhostFaceNet": "base",
    "Facenet": "Facenet",
    "Facenet512": "Facenet",
}


def runtime_settings(spec: RecognizerSpec, faster: bool = True) -> dict[str, str]:
    """The framework that runs the network, the faster graph where one is used, and the device when it is not
    the CPU (all change the output)."""
    engine = "tensorflow" if spec.settings["backend"] == TF else "onnxruntime"
    if spec.name == "Dlib" and not faster:
        engine = "dlib"  # DeepFace's Dlib client calls dlib itself
    swap = faster_network(spec.name, spec.settings["backend"]) if faster else None
    graph = {"graph": swap[1]} if swap is not None else {}
    device = runtime.device()
    return {"runtime": engine, **graph, **({"device": device} if device != "cpu" else {})}


def _client(spec: RecognizerSpec) -> RecognizerSpec:
    """DeepFace's client exactly as DeepFace runs it (``NAME-client``), for a model with a faster runtime."""
    model, backend = spec.name, spec.settings["backend"]
    return dataclasses.replace(
        spec,
        name=f"{model}{CLIENT_SUFFIX}",
        load=lambda files: DeepFaceRecognizer(model, files, backend, faster=False),
        settings={**spec.settings, **runtime_settings(spec, faster=False)},
        description=f"{spec.description}; DeepFace's own client and runtime (the reference, slower)",
    )


@hookimpl
def register_recognizers(register: Any) -> None:
    """DeepFace's recognizers on their faster runtimes, 5-point-aligned variants of those trained on such crops,
    and DeepFace's unchanged client (``NAME-client``) of each model that has a faster runtime."""
    base = [dataclasses.replace(s, settings={**s.settings, **runtime_settings(s)}) for s in RECOGNIZERS]
    clients = [_client(s) for s in RECOGNIZERS if faster_network(s.name, s.settings["backend"]) is not None]
    for spec in [
        *base,
        *(_five_point(s, FIVE_POINT_MODELS[s.name]) for s in base if s.name in FIVE_POINT_MODELS),
        *clients,
    ]:
        register(spec)
