"""Constant folding at import (engine/onnx/import_fold.py): size arithmetic written with
operators that have no layer (Sqrt, Mod, Where, comparisons) is evaluated when its inputs
are known, so the Reshape it feeds imports; onnxruntime on the same file is the judge."""

from __future__ import annotations

import numpy as np
import pytest
from onnx import TensorProto, helper

from engine.onnx import OnnxImportError, import_model
from tests.engine.onnx.onnx_graphs import run_onnxruntime


def const(name, values, dtype=np.int64):
    array = np.asarray(values, dtype=dtype)
    return helper.make_node(
        "Constant",
        [],
        [name],
        value=helper.make_tensor(
            name + "_t",
            helper.np_dtype_to_tensor_dtype(array.dtype),
            array.shape,
            array.reshape(-1).tolist(),
        ),
    )


def side_graph(size_nodes):
    """x (N, 16) -> Reshape to (N, side, 16 / side) -> Flatten -> Relu, with ``side``
    computed by ``size_nodes`` from Shape(x)[1] (the tensor 'dim') into 'side'."""
    nodes = [
        helper.make_node("Shape", ["x"], ["shape"]),
        const("one", 1),
        const("axis0", [0]),
        const("minus1", [-1]),
        helper.make_node("Gather", ["shape", "one"], ["dim"], axis=0),
        *size_nodes,
        helper.make_node("Unsqueeze", ["side", "axis0"], ["side_1d"]),
        helper.make_node("Div", ["dim", "side"], ["rest"]),
        helper.make_node("Unsqueeze", ["rest", "axis0"], ["rest_1d"]),
        helper.make_node("Concat", ["minus1", "side_1d", "rest_1d"], ["target"], axis=0),
        helper.make_node("Reshape", ["x", "target"], ["grid"]),
        helper.make_node("Flatten", ["grid"], ["flat"], axis=1),
        helper.make_node("Relu", ["flat"], ["y"]),
    ]
    graph = helper.make_graph(
        nodes,
        "fold",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 16])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 16])],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


SQRT = [
    helper.make_node("Cast", ["dim"], ["dim_f"], to=TensorProto.FLOAT),
    helper.make_node("Sqrt", ["dim_f"], ["root"]),
    helper.make_node("Floor", ["root"], ["root_floor"]),
    helper.make_node("Cast", ["root_floor"], ["side"], to=TensorProto.INT64),
]
MOD_WHERE = [
    const("five", 5),
    helper.make_node("Mod", ["dim", "five"], ["left"]),  # 16 % 5 = 1
    const("zero", 0),
    helper.make_node("Greater", ["left", "zero"], ["odd"]),
    const("two", 2),
    const("eight", 8),
    helper.make_node("Where", ["odd", "two", "eight"], ["side"]),
]


@pytest.mark.parametrize("size_nodes", [SQRT, MOD_WHERE], ids=["sqrt", "mod-where"])
def test_size_arithmetic_without_layers_is_folded_and_matches_onnxruntime(size_nodes):
    model = side_graph(size_nodes)
    result = import_model(model)
    types = [layer.type_name for layer in result.model.layers]
    assert "Reshape" in types or "Flatten" in types
    x = np.random.default_rng(0).normal(size=(3, 16)).astype(np.float32)
    (expected,) = run_onnxruntime(model, {"x": x})
    np.testing.assert_allclose(result.model.predict(x, verbose=0), expected, atol=1e-6)


def test_arithmetic_on_data_is_still_refused_with_the_node_and_operator():
    graph = helper.make_graph(
        [helper.make_node("Sqrt", ["x"], ["y"], name="root_of_data")],
        "data",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 4])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    with pytest.raises(OnnxImportError) as info:
        import_model(model)
    (issue,) = info.value.issues
    assert (issue.node, issue.op_type) == ("root_of_data", "Sqrt")
    assert "root_of_data" in str(info.value)
