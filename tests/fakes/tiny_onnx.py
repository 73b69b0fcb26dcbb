"""A tiny real ONNX recognizer graph (per-channel means padded to 512-d, and a quality output) for plumbing tests."""

from __future__ import annotations

from pathlib import Path


def tiny_model(path: Path, batch: int | str) -> Path:
    """Input (batch, 3, 112, 112); output 0: per-channel input means padded to 512-d; output 1 (N, 1): their mean."""
    from onnx import TensorProto, helper, save

    nodes = [
        helper.make_node("ReduceMean", ["input"], ["means"], axes=[2, 3], keepdims=0),
        helper.make_node("Pad", ["means", "pads"], ["embedding"], mode="constant"),
        helper.make_node("ReduceMean", ["means"], ["norm"], axes=[1], keepdims=1),
    ]
    graph = helper.make_graph(
        nodes,
        "tiny",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [batch, 3, 112, 112])],
        [
            helper.make_tensor_value_info("embedding", TensorProto.FLOAT, [batch, 512]),
            helper.make_tensor_value_info("norm", TensorProto.FLOAT, [batch, 1]),
        ],
        [helper.make_tensor("pads", TensorProto.INT64, [4], [0, 0, 0, 509])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    save(model, str(path))
    return path
