"""ONNX graph rewrites that keep a network's arithmetic but let onnxruntime optimise it.

Quantized zoo builds (e.g. SFace's int8 block-quantized graph) dequantize their constant weights on every call,
and list their weights as graph inputs, which stops onnxruntime from folding BatchNorm into Conv. Folding the
DequantizeLinear nodes of constant inputs once, at load, gives the float weights those nodes would compute
(embeddings move by ~1e-6) and, on SFace, cuts a forward pass from ~46 ms to ~28 ms on one core.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def _repeat_blocks(values: np.ndarray, axis: int, block: int, length: int) -> np.ndarray:
    """Scale or zero-point values of one block expanded to each element of that block along ``axis``."""
    return np.repeat(values, block, axis=axis).take(np.arange(length), axis=axis)


def dequantized(x: np.ndarray, scale: np.ndarray, zero: np.ndarray | None, axis: int, block: int) -> np.ndarray:
    """DequantizeLinear (ONNX opset 21): per tensor, per axis, or blockwise along ``axis``."""
    axis %= max(1, x.ndim)
    zero = np.zeros_like(scale, dtype=np.int32) if zero is None else zero.astype(np.int32)
    if scale.ndim == 0 or scale.size == 1:
        scale, zero = scale.reshape(()), zero.reshape(())
    elif block:
        scale, zero = (_repeat_blocks(v, axis, block, x.shape[axis]) for v in (scale, zero))
    else:  # per axis: a 1-D scale along ``axis``
        shape = [1] * x.ndim
        shape[axis] = -1
        scale, zero = scale.reshape(shape), zero.reshape(shape)
    return ((x.astype(np.int32) - zero).astype(np.float32) * scale.astype(np.float32)).astype(np.float32)


def _constants(model: Any) -> dict[str, np.ndarray]:
    from onnx import numpy_helper

    values = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    for node in model.graph.node:
        if node.op_type == "Constant" and node.attribute and node.attribute[0].name == "value":
            values[node.output[0]] = numpy_helper.to_array(node.attribute[0].t)
    return values


def fold_constant_dequantize(data: bytes) -> bytes:
    """The model with constant-input DequantizeLinear nodes replaced by their float outputs, and initializers
    no longer listed as graph inputs."""
    import onnx
    from onnx import helper, numpy_helper

    model = onnx.load_from_string(data)
    constants = _constants(model)
    kept, folded = [], []
    for node in model.graph.node:
        inputs = [name for name in node.input if name]
        if node.op_type != "DequantizeLinear" or not all(name in constants for name in inputs):
            kept.append(node)
            continue
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        zero = constants[inputs[2]] if len(inputs) > 2 else None
        value = dequantized(
            constants[inputs[0]], constants[inputs[1]], zero, attrs.get("axis", 1), attrs.get("block_size", 0)
        )
        folded.append(numpy_helper.from_array(value, node.output[0]))
    used = {name for node in kept for name in node.input}
    initializers = [t for t in model.graph.initializer if t.name in used] + folded
    graph_inputs = [i for i in model.graph.input if i.name not in {t.name for t in model.graph.initializer}]
    del model.graph.node[:], model.graph.input[:], model.graph.initializer[:]
    model.graph.node.extend(kept)
    model.graph.input.extend(graph_inputs)
    model.graph.initializer.extend(initializers)
    return bytes(model.SerializeToString())
