"""dlib's face-recognition ResNet (``dlib_face_recognition_resnet_model_v1.dat``) as an ONNX graph.

dlib runs this network with its own BLAS-free convolutions (~85 ms a face on one core); the same layers through
onnxruntime take a fraction of that. :func:`convert` reads the layer records of dlib's serialization (dlib/dnn:
``con_4``, ``affine_``, ``relu_``, ``max_pool_2``, ``avg_pool_2``, ``add_prev_``, ``fc_2`` and
``input_rgb_image_sized``, written input first) and wires them as dlib's ``anet_type`` does
(dlib/examples/dnn_face_recognition_ex.cpp): a 7x7 stem, then residual blocks whose ``add_prev`` adds tensors of
unequal size the way dlib does, zero-filling the smaller one (the channel-doubling shortcuts and odd spatial sizes).
The graph's input is the 150x150 RGB chip as uint8-valued floats (N x 150 x 150 x 3); it subtracts the file's mean
colour and divides by 256 as ``input_rgb_image_sized`` does. Outputs equal dlib's to ~1e-6.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from bench.errors import BenchError

SIZE = 150  # input_rgb_image_sized<150>
RECORDS = ("con_4", "affine_", "relu_", "max_pool_2", "avg_pool_2", "add_prev_", "fc_2", "input_rgb_image_sized")


class UnreadableDlibNet(BenchError):
    """The file is not the dlib face-recognition ResNet this converter knows."""


@dataclass
class Layer:
    """One layer record: its kind and what the graph needs of it."""

    kind: str
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    window: dict[str, tuple[int, int]] = field(default_factory=dict)  # "k", "stride", "pad": (rows, columns)


class Reader:
    """A cursor over dlib's serialization: packed integers, strings, floats, tensors."""

    def __init__(self, data: bytes, pos: int) -> None:
        self.data, self.pos = data, pos

    def integer(self) -> int:
        """A packed integer: a byte with the length (low 4 bits) and sign (0x80), then little-endian bytes."""
        head = self.data[self.pos]
        size = head & 0x0F
        value = int.from_bytes(self.data[self.pos + 1 : self.pos + 1 + size], "little")
        self.pos += 1 + size
        return -value if head & 0x80 else value

    def text(self) -> str:
        n = self.integer()
        self.pos += n
        return self.data[self.pos - n : self.pos].decode("ascii")

    def real(self) -> float:
        """dlib's portable float: mantissa * 2**exponent."""
        mantissa = self.integer()
        return float(mantissa * 2.0 ** self.integer())

    def shape(self) -> tuple[int, int, int, int]:
        self.integer()  # version
        return (self.integer(), self.integer(), self.integer(), self.integer())

    def tensor(self) -> np.ndarray:
        """A tensor: version, (num_samples, k, nr, nc), then little-endian float32s."""
        dims = self.shape()
        count = int(np.prod(dims))
        values = np.frombuffer(self.data, "<f4", count, self.pos).reshape(dims)
        self.pos += 4 * count
        return values


def _window(r: Reader) -> dict[str, tuple[int, int]]:
    """Kernel rows and columns, strides (y, x), paddings (y, x), as con_ and the pools store them."""
    k, stride, pad = ((r.integer(), r.integer()) for _ in range(3))
    return {"k": k, "stride": stride, "pad": pad}


def _layer(kind: str, r: Reader) -> Layer:
    """The fields of one record, read from just after its version string."""
    if kind == "con_4":
        params = r.tensor().ravel()
        n = r.integer()
        window = _window(r)
        filters = r.shape()
        weights = params[: int(np.prod(filters))].reshape(filters)
        return Layer(kind, {"w": weights, "b": params[weights.size : weights.size + n]}, window)
    if kind == "affine_":
        params = r.tensor().ravel()
        half = params.size // 2
        return Layer(kind, {"gamma": params[:half], "beta": params[half:]})
    if kind in ("max_pool_2", "avg_pool_2"):
        return Layer(kind, window=_window(r))
    if kind == "fc_2":
        outputs, inputs = r.integer(), r.integer()
        return Layer(kind, {"w": r.tensor().reshape(inputs, outputs)})
    if kind == "input_rgb_image_sized":
        return Layer(kind, {"mean": np.array([r.real(), r.real(), r.real()], dtype=np.float32)})
    return Layer(kind)


def read_layers(data: bytes) -> list[Layer]:
    """Every layer record, in the file's order (input first)."""
    names = "|".join(RECORDS)
    pattern = re.compile(rb"\x01([\x04-\x15])(" + names.encode() + rb")")
    layers = []
    for match in pattern.finditer(data):
        kind = match.group(2).decode()
        if match.group(1)[0] != len(kind):
            continue
        layers.append(_layer(kind, Reader(data, match.end())))
    return layers


@dataclass
class Builder:
    """ONNX nodes and initializers for dlib's layers, tracking each tensor's static (C, H, W)."""

    nodes: list[Any] = field(default_factory=list)
    inits: list[Any] = field(default_factory=list)
    shapes: dict[str, tuple[int, int, int]] = field(default_factory=dict)

    def const(self, name: str, value: np.ndarray) -> str:
        from onnx import numpy_helper

        self.inits.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def node(self, op: str, inputs: list[str], shape: tuple[int, int, int], **attrs: Any) -> str:
        from onnx import helper

        out = f"t{len(self.nodes)}"
        self.nodes.append(helper.make_node(op, inputs, [out], **attrs))
        self.shapes[out] = shape
        return out

    def windowed(self, op: str, inputs: list[str], channels: int, layer: Layer) -> str:
        """A Conv or pool node over ``layer``'s window; dlib's output size is 1 + (in + 2 pad - k) // stride."""
        (ky, kx), (sy, sx), (py, px) = (layer.window[key] for key in ("k", "stride", "pad"))
        _, h, w = self.shapes[inputs[0]]
        shape = (channels, 1 + (h + 2 * py - ky) // sy, 1 + (w + 2 * px - kx) // sx)
        return self.node(op, inputs, shape, kernel_shape=[ky, kx], strides=[sy, sx], pads=[py, px, py, px])

    def conv(self, x: str, layer: Layer) -> str:
        n = f"c{len(self.nodes)}"
        weights, bias = self.const(n + "w", layer.arrays["w"]), self.const(n + "b", layer.arrays["b"])
        return self.windowed("Conv", [x, weights, bias], layer.arrays["w"].shape[0], layer)

    def relu(self, x: str) -> str:
        return self.node("Relu", [x], self.shapes[x])

    def affine(self, x: str, layer: Layer) -> str:
        n = f"a{len(self.nodes)}"
        scaled = self.node("Mul", [x, self.const(n + "g", layer.arrays["gamma"].reshape(-1, 1, 1))], self.shapes[x])
        return self.node("Add", [scaled, self.const(n + "b", layer.arrays["beta"].reshape(-1, 1, 1))], self.shapes[x])

    def pool(self, x: str, layer: Layer) -> str:
        channels = self.shapes[x][0]
        if layer.window["k"] == (0, 0):  # avg_pool_everything
            return self.node("GlobalAveragePool", [x], (channels, 1, 1))
        return self.windowed("MaxPool" if layer.kind == "max_pool_2" else "AveragePool", [x], channels, layer)

    def grown(self, x: str, shape: tuple[int, int, int]) -> str:
        """``x`` zero-filled at the end of each axis up to ``shape`` (dlib's add of unequal tensors)."""
        extra = [0, *(t - o for t, o in zip(shape, self.shapes[x]))]
        if not any(extra):
            return x
        pads = self.const(f"p{len(self.nodes)}", np.array([0, 0, 0, 0, *extra], dtype=np.int64))
        return self.node("Pad", [x, pads], shape)

    def add(self, a: str, b: str) -> str:
        shape = tuple(max(i, j) for i, j in zip(self.shapes[a], self.shapes[b]))
        return self.node("Add", [self.grown(a, shape), self.grown(b, shape)], shape)  # type: ignore[arg-type]


def _expect(layers: list[Layer], kinds: tuple[str, ...]) -> list[Layer]:
    """Pop the next layers, which must be of these kinds."""
    taken, layers[:] = layers[: len(kinds)], layers[len(kinds) :]
    if tuple(layer.kind for layer in taken) != kinds:
        raise UnreadableDlibNet(f"expected layers {kinds}, found {tuple(layer.kind for layer in taken)}")
    return taken


def _residual(b: Builder, x: str, layers: list[Layer]) -> str:
    """``ares`` (x + block(x)) or, when the block ends in an avg_pool, ``ares_down`` (avg_pool(x) + block(x))."""
    c1, a1, _, c2, a2 = _expect(layers, ("con_4", "affine_", "relu_", "con_4", "affine_"))
    first = b.affine(b.conv(x, c1), a1)
    y = b.affine(b.conv(b.relu(first), c2), a2)
    shortcut = b.pool(x, _expect(layers, ("avg_pool_2",))[0]) if layers[0].kind == "avg_pool_2" else x
    _expect(layers, ("add_prev_", "relu_"))
    return b.relu(b.add(shortcut, y))


def build_graph(layers: list[Layer]) -> Any:
    """The ONNX model of dlib's ``anet_type`` from its layer records."""
    from onnx import TensorProto, helper

    todo = list(layers)
    b = Builder()
    (source,) = _expect(todo, ("input_rgb_image_sized",))
    b.shapes["image"] = (SIZE, SIZE, 3)
    chw = b.node("Transpose", ["image"], (3, SIZE, SIZE), perm=[0, 3, 1, 2])
    centred = b.node("Sub", [chw, b.const("mean", source.arrays["mean"].reshape(3, 1, 1))], b.shapes[chw])
    x = b.node("Mul", [centred, b.const("scale", np.array(1 / 256, dtype=np.float32))], b.shapes[chw])
    conv, affine, _, pool = _expect(todo, ("con_4", "affine_", "relu_", "max_pool_2"))
    stem = b.affine(b.conv(x, conv), affine)
    x = b.pool(b.relu(stem), pool)
    while todo and todo[0].kind == "con_4":
        x = _residual(b, x, todo)
    pool, fc = _expect(todo, ("avg_pool_2", "fc_2"))
    pooled = b.pool(x, pool)
    flat = b.node("Flatten", [pooled], (b.shapes[pooled][0], 1, 1))
    b.nodes.append(helper.make_node("MatMul", [flat, b.const("fc", fc.arrays["w"])], ["descriptor"]))
    graph = helper.make_graph(
        b.nodes,
        "dlib_face_recognition_resnet_model_v1",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["n", SIZE, SIZE, 3])],
        [helper.make_tensor_value_info("descriptor", TensorProto.FLOAT, ["n", fc.arrays["w"].shape[1]])],
        b.inits,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def convert(data: bytes) -> bytes:
    """The serialized ONNX model of a ``dlib_face_recognition_resnet_model_v1.dat`` file's bytes."""
    layers = read_layers(data)
    counts = {kind: sum(layer.kind == kind for layer in layers) for kind in ("con_4", "fc_2")}
    if counts != {"con_4": 29, "fc_2": 1}:
        raise UnreadableDlibNet(f"not dlib's face-recognition ResNet (found {counts})")
    return bytes(build_graph(layers).SerializeToString())
