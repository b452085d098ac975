"""Small hand-written ONNX graphs for the import tests."""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def make_model(nodes, inputs, outputs, initializers=(), opset: int = 17, ir_version: int = 8):
    """A model from node protos; ``inputs``/``outputs`` are ``(name, shape)`` pairs (float32,
    batch axis named ``N``) or ready ``ValueInfoProto``s; initializers are name -> array."""

    def info(item):
        if isinstance(item, onnx.ValueInfoProto):
            return item
        name, shape = item
        return helper.make_tensor_value_info(name, TensorProto.FLOAT, ["N", *shape])

    inits = [
        numpy_helper.from_array(np.asarray(value), name)
        for name, value in dict(initializers).items()
    ]
    graph = helper.make_graph(
        list(nodes), "test_graph", [info(i) for i in inputs], [info(o) for o in outputs], inits
    )
    return helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", opset)], ir_version=ir_version
    )


def run_onnxruntime(model: onnx.ModelProto, feeds: dict) -> list[np.ndarray]:
    import onnxruntime as ort  # noqa: PLC0415

    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, feeds)
