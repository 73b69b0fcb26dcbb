"""Shared glue for DeepFace-backed plugins: weight staging and DeepFace's padded-image geometry.

DeepFace detects on the image padded by half its size on every side (when ``align=True``) and aligns
inside that padded image; these helpers reproduce that exactly so distances match ``DeepFace.verify``.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from bench.compute import runtime
from bench.compute.weights import USER_DEEPFACE_HOME_ENV, WeightFile

_STAGE: Path | None = None
_DEEPFACE_RELEASE = "https://github.com/serengil/deepface_models/releases/download/v1.0/"
_DEEPFACE_MIRROR = "https://huggingface.co/serengil/deepface/resolve/main/"


def deepface_release(name: str) -> WeightFile:
    """A file DeepFace serves from its GitHub release, with its Hugging Face mirror as the backup source."""
    return WeightFile(name, _DEEPFACE_RELEASE + name, mirrors=(_DEEPFACE_MIRROR + name,))


def stage_weights(files: dict[str, Path]) -> None:
    """Expose resolved weight files to DeepFace under the names it expects, via a private DEEPFACE_HOME."""
    global _STAGE
    if _STAGE is None:
        os.environ.setdefault(USER_DEEPFACE_HOME_ENV, os.environ.get("DEEPFACE_HOME", ""))  # still searched
        _STAGE = Path(tempfile.mkdtemp(prefix="facebench-deepface-"))
        atexit.register(shutil.rmtree, _STAGE, True)
        (_STAGE / ".deepface" / "weights").mkdir(parents=True)
    for name, path in files.items():
        link = _STAGE / ".deepface" / "weights" / name
        link.parent.mkdir(parents=True, exist_ok=True)  # e.g. Buffalo_L's buffalo_l/webface_r50.onnx
        if link.is_symlink() and link.resolve() != path.resolve():
            link.unlink()  # another weights folder in the same process: point at the file asked for now
        if not link.is_symlink():
            link.symlink_to(path.resolve())
    os.environ["DEEPFACE_HOME"] = str(_STAGE)  # DeepFace reads it on every weight lookup


def build(task: str, name: str) -> Any:
    """A fresh instance of DeepFace's class for ``name`` (DeepFace's real loader, not its process-wide cache)."""
    from deepface.modules import modeling

    return modeling.get_model_class(task=task, model_name=name)()


def deepface_tensorflow(engine_bound: bool) -> None:
    """Import DeepFace before TensorFlow, as ``DeepFace.verify`` does, so ``tf.keras`` is tf_keras.

    ``deepface.DeepFace`` sets TF_USE_LEGACY_KERAS=1 and checks tf_keras before TensorFlow loads. ``engine_bound``:
    the plugin's weight files are those of DeepFace's TensorFlow classes, so DeepFace must run on TensorFlow.
    """
    with runtime.native_start_up_quiet():
        import deepface.DeepFace  # noqa: F401
        import tensorflow as tf
    from deepface.commons import backend_utils

    engine = backend_utils.get_backend_engine()
    if engine_bound and engine != backend_utils.TENSORFLOW:
        raise RuntimeError(
            f"DeepFace runs on {engine} here ({backend_utils.BACKEND_ENGINE_ENV_VAR}); this plugin "
            "is DeepFace's TensorFlow build with its .h5 weights: unset the variable"
        )
    if not tf.keras.Model.__module__.startswith("tf_keras"):
        raise RuntimeError(
            "TensorFlow was imported before DeepFace, so tf.keras is Keras 3 and not tf_keras as in "
            "DeepFace; load the DeepFace plugins before other TensorFlow code"
        )


def single_opencv_thread() -> None:
    """OpenCV on one thread, process-wide: the Haar cascade (DeepFace's ``opencv`` detector and its eye finder)
    groups candidate windows in an order that depends on thread scheduling, so with more threads the same image
    gave different faces from call to call (one LFW image: 0.3219 x25 and 0.4045 x5 in 30 calls)."""
    import cv2

    cv2.setNumThreads(1)


def borders(image: np.ndarray) -> tuple[int, int]:
    """DeepFace's padding: (height border, width border)."""
    return int(0.5 * image.shape[0]), int(0.5 * image.shape[1])


def pad(image: np.ndarray) -> np.ndarray:
    """The image padded with black the way DeepFace pads it before detection."""
    import cv2

    bh, bw = borders(image)
    return cv2.copyMakeBorder(image, bh, bh, bw, bw, cv2.BORDER_CONSTANT, value=[0, 0, 0])
