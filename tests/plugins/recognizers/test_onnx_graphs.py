"""Folding constant DequantizeLinear nodes: the same float weights ONNX's own operator computes, the same outputs."""

from __future__ import annotations

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402
from onnx.reference import ReferenceEvaluator  # noqa: E402

from facebench_plugins.recognizers.onnx_graphs import dequantized, fold_constant_dequantize  # noqa: E402

RNG = np.random.default_rng(0)


def _reference(x: np.ndarray, scale: np.ndarray, zero: np.ndarray, **attrs: int) -> np.ndarray:
    node = helper.make_node("DequantizeLinear", ["x", "s", "z"], ["y"], **attrs)
    graph = helper.make_graph(
        [node],
        "g",
        [],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        [numpy_helper.from_array(v, n) for n, v in (("x", x), ("s", scale), ("z", zero))],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21)])
    return ReferenceEvaluator(model).run(None, {})[0]  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("scale_shape", "attrs"),
    [
        ((), {}),
        ((6,), {"axis": 0}),
        ((2, 5, 3, 3), {"axis": 0, "block_size": 4}),
        ((6, 2, 3, 3), {"axis": 1, "block_size": 3}),
    ],
)
def test_dequantized_equals_the_onnx_operator(scale_shape: tuple[int, ...], attrs: dict[str, int]) -> None:
    x = RNG.integers(-128, 128, (6, 5, 3, 3)).astype(np.int8)
    scale = RNG.uniform(0.001, 0.1, scale_shape).astype(np.float32)
    zero = RNG.integers(-5, 5, scale_shape).astype(np.int8)
    ours = dequantized(x, scale, zero, attrs.get("axis", 1), attrs.get("block_size", 0))
    np.testing.assert_array_equal(ours, _reference(x, scale, zero, **attrs))


def _quantized_conv() -> bytes:
    """data -> Conv(DequantizeLinear(int8 weights, blockwise)) with the weights also listed as graph inputs."""
    weights = numpy_helper.from_array(RNG.integers(-128, 128, (4, 3, 3, 3)).astype(np.int8), "wq")
    scale = numpy_helper.from_array(RNG.uniform(0.01, 0.1, (4, 2, 3, 3)).astype(np.float32), "ws")
    zero = numpy_helper.from_array(np.zeros((4, 2, 3, 3), np.int8), "wz")
    nodes = [
        helper.make_node("DequantizeLinear", ["wq", "ws", "wz"], ["w"], axis=1, block_size=2),
        helper.make_node("Conv", ["data", "w"], ["out"], pads=[1, 1, 1, 1]),
    ]
    inputs = [helper.make_tensor_value_info("data", TensorProto.FLOAT, [1, 3, 8, 8])]
    inputs += [helper.make_tensor_value_info(t.name, t.data_type, list(t.dims)) for t in (weights, scale, zero)]
    graph = helper.make_graph(
        nodes, "g", inputs, [helper.make_tensor_value_info("out", TensorProto.FLOAT, None)], [weights, scale, zero]
    )
    return bytes(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21)]).SerializeToString())


def test_folding_keeps_the_output_and_removes_the_dequantize_nodes() -> None:
    import onnxruntime

    original = _quantized_conv()
    folded = fold_constant_dequantize(original)
    model = onnx.load_from_string(folded)
    assert [n.op_type for n in model.graph.node] == ["Conv"]
    assert [i.name for i in model.graph.input] == ["data"]
    assert {t.name for t in model.graph.initializer} == {"w"}
    data = RNG.normal(size=(1, 3, 8, 8)).astype(np.float32)
    before, after = (
        onnxruntime.InferenceSession(m, providers=["CPUExecutionProvider"]).run(None, {"data": data})[0]
        for m in (original, folded)
    )
    np.testing.assert_allclose(after, before, rtol=1e-6, atol=1e-5)  # float32 sums of ~40: a few ulp
