"""ONNX's own backend node tests, adapted to what a LayerCanvas model is.

``onnx.backend.test.case.node.collect_testcases`` yields each operator test as a model plus
input and expected output arrays. A case is *in scope* when every node's operator is one
the importer supports. Before importing, each case is adapted — mechanically, never by
looking at the expected outputs:

- inputs that are weights of their operator (Gemm B/C, MatMul B, Conv W/B,
  BatchNormalization scale/B/mean/var, LayerNormalization Scale/B, LSTM/GRU/RNN W/R/B/...,
  the Gather table, Reshape's shape, Dropout's ratio/training flag) become initializers
  holding the test's values: in a real model they are stored weights, not data;
- models newer than opset 21 are converted to opset 21 with ``onnx.version_converter``
  (the operators in scope only gained data types after 21);
- a recurrent operator fed time-major ``(T, N, F)`` straight from a graph input gets the
  ``Transpose`` / ``Squeeze`` wrapping PyTorch and our exporter write, so its input and
  outputs are batch first, and the test arrays are transposed the same way;
- LayerNormalization's auxiliary ``Mean`` / ``InvStdDev`` outputs are dropped (a layer has
  one output); the normalised output is compared.

Each adapted case is imported; it must either import and reproduce the expected outputs
with ``model.predict``, or be refused with an ``OnnxImportError`` that gives a reason.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import onnx
from onnx import helper, numpy_helper

WEIGHT_INPUTS = {
    "Gemm": (1, 2),
    "MatMul": (1,),
    "Conv": (1, 2),
    "BatchNormalization": (1, 2, 3, 4),
    "LayerNormalization": (1, 2),
    "LSTM": (1, 2, 3, 4, 5, 6, 7),
    "GRU": (1, 2, 3, 4, 5),
    "RNN": (1, 2, 3, 4, 5),
    "Gather": (0,),
    "Reshape": (1,),
    "Dropout": (1, 2),
}
RECURRENT = ("LSTM", "GRU", "RNN")
# The operators the issue names (and GlobalMaxPool, whose layer exists): cases made only
# of these are in scope.
IN_SCOPE = {
    "Gemm", "MatMul", "Conv", "MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool",
    "Relu", "Sigmoid", "Tanh", "Softmax", "LeakyRelu", "Elu", "Gelu", "Softplus", "Flatten",
    "Reshape", "BatchNormalization", "LayerNormalization", "LSTM", "GRU", "RNN", "Gather",
    "Add", "Sub", "Mul", "Concat", "Dropout", "Identity",
}  # fmt: skip


@dataclass
class Case:
    name: str
    model: onnx.ModelProto
    inputs: list[np.ndarray]
    expected: list[np.ndarray]
    rtol: float
    atol: float


_CASES: list | None = None


def node_test_cases() -> list:
    """ONNX's node test cases (collected once; the generators warn about overflows)."""
    global _CASES
    if _CASES is None:
        from onnx.backend.test.case.node import collect_testcases  # noqa: PLC0415

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with np.errstate(all="ignore"):
                _CASES = list(collect_testcases(None))
    return _CASES


def in_scope(case) -> bool:
    if case.model is None or not case.data_sets:
        return False
    return all(node.op_type in IN_SCOPE for node in case.model.graph.node)


def adapt(case) -> Case:
    """The case as a LayerCanvas model would hold it (see the module docstring)."""
    model = onnx.ModelProto()
    model.CopyFrom(case.model)
    graph = model.graph
    inputs, expected = (list(x) for x in case.data_sets[0])
    values = dict(zip([i.name for i in graph.input], inputs, strict=True))

    weights = set()
    for node in graph.node:
        for index in WEIGHT_INPUTS.get(node.op_type, ()):
            if index < len(node.input) and node.input[index] in values:
                weights.add(node.input[index])
    keep = [i for i in graph.input if i.name not in weights]
    for name in sorted(weights):
        graph.initializer.append(numpy_helper.from_array(np.asarray(values[name]), name))
    del graph.input[:]
    graph.input.extend(keep)
    inputs = [values[i.name] for i in keep]

    for node in graph.node:
        if node.op_type == "LayerNormalization" and len(graph.output) > 1:
            first = graph.output[0]
            del graph.output[1:]
            expected = expected[:1]
            assert first.name == node.output[0]

    inputs, expected = _batch_first_recurrent(graph, inputs, expected)
    opset = max(o.version for o in model.opset_import if o.domain in ("", "ai.onnx"))
    if opset > 21:
        model = _to_opset_21(model, opset)
    return Case(case.name, model, inputs, expected, case.rtol, case.atol)


def _same_definition(op_type: str, old: int, new: int) -> bool:
    """True when ``op_type`` has the same attributes (with defaults) and inputs/outputs at
    opsets ``old`` and ``new``: the versions between only changed its type lists."""
    from onnx import defs  # noqa: PLC0415

    a, b = defs.get_schema(op_type, old), defs.get_schema(op_type, new)

    def shape(schema):
        attrs = {
            name: (a.type, a.default_value.SerializeToString())
            for name, a in schema.attributes.items()
        }
        return attrs, [i.name for i in schema.inputs], [o.name for o in schema.outputs]

    return shape(a) == shape(b)


def _to_opset_21(model: onnx.ModelProto, opset: int) -> onnx.ModelProto:
    """Opset 21 with ``onnx.version_converter``; where it has no adapter (GlobalMaxPool
    22 -> 21, for one), only the opset number changes, if every operator is defined the
    same way at both opsets."""
    try:
        return onnx.version_converter.convert_version(model, 21)
    except Exception:
        if not all(_same_definition(n.op_type, 21, opset) for n in model.graph.node):
            raise
        for entry in model.opset_import:
            if entry.domain in ("", "ai.onnx"):
                entry.version = 21
        return model


def _batch_first_recurrent(graph, inputs, expected):
    """Wrap a time-major recurrent node fed by a graph input in Transpose / Squeeze nodes."""
    nodes = [n for n in graph.node if n.op_type in RECURRENT]
    if len(nodes) != 1 or len(graph.node) != 1:
        return inputs, expected
    node = nodes[0]
    layout = next((a.i for a in node.attribute if a.name == "layout"), 0)
    names = [i.name for i in graph.input]
    if layout != 0 or node.input[0] not in names:
        return inputs, expected
    k = names.index(node.input[0])
    x_name = graph.input[k].name
    x = inputs[k]
    new_input = helper.make_tensor_value_info(f"{x_name}_batch_first", 1, None)
    new_input.CopyFrom(graph.input[k])
    new_input.name = f"{x_name}_batch_first"
    dims = new_input.type.tensor_type.shape.dim
    dims[0].dim_value, dims[1].dim_value = x.shape[1], x.shape[0]
    graph.input[k].CopyFrom(new_input)
    inputs = list(inputs)
    inputs[k] = np.ascontiguousarray(np.transpose(x, (1, 0, 2)))
    graph.node.insert(0, helper.make_node("Transpose", [new_input.name], [x_name], perm=[1, 0, 2]))

    outputs, new_expected = [], []
    for out, value in zip(list(graph.output), expected, strict=True):
        axes = f"{out.name}_axes"
        final = f"{out.name}_batch_first"
        if list(node.output).index(out.name) == 0:  # Y: (T, 1, N, H) -> (N, T, H)
            graph.initializer.append(numpy_helper.from_array(np.array([1], np.int64), axes))
            squeezed = f"{out.name}_squeezed"
            graph.node.append(helper.make_node("Squeeze", [out.name, axes], [squeezed]))
            graph.node.append(helper.make_node("Transpose", [squeezed], [final], perm=[1, 0, 2]))
            new_expected.append(np.transpose(value[:, 0], (1, 0, 2)))
        else:  # Y_h / Y_c: (1, N, H) -> (N, H)
            graph.initializer.append(numpy_helper.from_array(np.array([0], np.int64), axes))
            graph.node.append(helper.make_node("Squeeze", [out.name, axes], [final]))
            new_expected.append(value[0])
        elem = out.type.tensor_type.elem_type
        outputs.append(helper.make_tensor_value_info(final, elem, list(new_expected[-1].shape)))
    del graph.output[:]
    graph.output.extend(outputs)
    return inputs, new_expected
