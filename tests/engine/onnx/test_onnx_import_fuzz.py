"""Property-based fuzz of the ONNX importer: random small graphs of supported and unsupported
operators, with random (often huge, negative or nonsensical) declared shapes, constants and
attributes, serialised and imported from their bytes.

The only allowed outcomes are an imported model or one :class:`OnnxImportError` with a
message: never another exception (``MemoryError``, numpy's ``ValueError``, a warning, which
pytest turns into an error), and never a long run. A bounded number of examples keeps it to
a few seconds in CI.
"""

from __future__ import annotations

import time

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from onnx import TensorProto, helper, numpy_helper

from engine.onnx import OnnxImportError, import_model

# Sizes a file may declare: small ones that fold, and ones that must be refused by name.
# (A rank of at most 3 keeps every product of the small and middle sizes under 64 MiB.)
DIMS = st.one_of(
    st.integers(-1, 6),
    st.sampled_from([-5, 1000, 100_000, 10**9, 2**31, 2**40, 2**62, 2**63 - 1]),
)
SHAPES = st.lists(DIMS, min_size=0, max_size=3)
FLOATS = st.floats(allow_nan=True, allow_infinity=True, width=32)
TYPES = st.sampled_from(
    [
        TensorProto.FLOAT,
        TensorProto.DOUBLE,
        TensorProto.INT64,
        TensorProto.INT32,
        TensorProto.UINT8,
        TensorProto.BOOL,
        TensorProto.FLOAT16,
        TensorProto.STRING,
    ]
)

# op -> (smallest, largest) number of inputs; "Tile", "Range", "Sin", "NonZero" are not
# supported and must be listed as such.
ARITY = {
    "Add": (2, 2),
    "BatchNormalization": (5, 5),
    "Cast": (1, 1),
    "AveragePool": (1, 1),
    "Concat": (1, 4),
    "Constant": (0, 0),
    "ConstantOfShape": (1, 1),
    "Conv": (2, 3),
    "Div": (2, 2),
    "Dropout": (1, 1),
    "Expand": (2, 2),
    "Flatten": (1, 1),
    "Gather": (2, 2),
    "Gemm": (2, 3),
    "GlobalAveragePool": (1, 1),
    "GRU": (3, 4),
    "Identity": (1, 1),
    "LayerNormalization": (2, 3),
    "LSTM": (3, 4),
    "MatMul": (2, 2),
    "MaxPool": (1, 1),
    "Mul": (2, 2),
    "NonZero": (1, 1),
    "Range": (3, 3),
    "ReduceMean": (1, 2),
    "Relu": (1, 1),
    "Reshape": (2, 2),
    "Shape": (1, 1),
    "Sin": (1, 1),
    "Slice": (3, 5),
    "Softmax": (1, 1),
    "Squeeze": (1, 2),
    "Sub": (2, 2),
    "Tile": (2, 2),
    "Transpose": (1, 1),
    "Unsqueeze": (2, 2),
}


@st.composite
def one_element(draw):
    """A ConstantOfShape ``value``: usually one number, sometimes empty or several."""
    elem = draw(TYPES.filter(lambda t: t != TensorProto.STRING))
    dtype = helper.tensor_dtype_to_np_dtype(elem)
    count = draw(st.sampled_from([1, 1, 1, 0, 3]))
    values = np.asarray(draw(st.lists(st.integers(0, 3), min_size=count, max_size=count)))
    return numpy_helper.from_array(values.astype(dtype), "value")


@st.composite
def attributes(draw, op: str) -> dict:
    axis = st.integers(-4, 4)
    sizes = st.lists(
        st.one_of(st.integers(-1, 3), st.sampled_from([2**31, 2**62])), min_size=2, max_size=2
    )
    pads = st.lists(st.integers(-1, 3), min_size=4, max_size=4)

    def window():
        found = {"kernel_shape": draw(sizes)}
        for name, values in (("strides", sizes), ("pads", pads), ("dilations", sizes)):
            if draw(st.booleans()):
                found[name] = draw(values)
        return found

    def recurrent():
        return {"hidden_size": draw(st.one_of(st.integers(-1, 4), st.just(2**40)))}

    pick = {
        "AveragePool": window,
        "Conv": lambda: {k: v for k, v in window().items() if draw(st.booleans())},
        "GRU": recurrent,
        "LSTM": recurrent,
        "MaxPool": window,
        "Cast": lambda: {"to": draw(TYPES)},
        "Concat": lambda: {"axis": draw(axis)},
        "ConstantOfShape": lambda: {"value": draw(one_element())} if draw(st.booleans()) else {},
        "Flatten": lambda: {"axis": draw(axis)},
        "Gather": lambda: {"axis": draw(axis)},
        "Gemm": lambda: {"transB": draw(st.integers(0, 1)), "alpha": draw(FLOATS)},
        "LayerNormalization": lambda: {"axis": draw(axis)},
        "Reshape": lambda: {"allowzero": draw(st.integers(0, 1))},
        "Softmax": lambda: {"axis": draw(axis)},
        "Transpose": lambda: (
            {"perm": draw(st.lists(st.integers(-1, 4), min_size=1, max_size=5))}
            if draw(st.booleans())
            else {}
        ),
        "Constant": lambda: draw(
            st.one_of(
                st.builds(lambda v: {"value_ints": v}, st.lists(DIMS, min_size=1, max_size=4)),
                st.builds(lambda v: {"value_floats": v}, st.lists(FLOATS, min_size=1, max_size=4)),
                st.builds(lambda v: {"value_int": v}, DIMS),
            )
        ),
    }
    return pick.get(op, dict)()


@st.composite
def initializers(draw) -> list:
    """Shape vectors (the hostile part), small float tensors and integer indices."""
    tensors = []
    for i in range(draw(st.integers(1, 4))):
        shape = draw(SHAPES)
        tensors.append(numpy_helper.from_array(np.asarray(shape, np.int64), f"shape{i}"))
    for i in range(draw(st.integers(0, 3))):
        dims = draw(st.lists(st.integers(1, 3), min_size=0, max_size=4))
        values = draw(st.lists(FLOATS, min_size=int(np.prod(dims)), max_size=int(np.prod(dims))))
        tensors.append(
            numpy_helper.from_array(np.asarray(values, np.float32).reshape(dims), f"c{i}")
        )
    if draw(st.booleans()):
        index = np.asarray(draw(st.integers(-3, 3)), np.int64)
        tensors.append(numpy_helper.from_array(index, "index"))
    return tensors


@st.composite
def models(draw):
    features = draw(st.lists(st.one_of(st.integers(1, 5), st.just(2**40)), min_size=1, max_size=3))
    inits = draw(initializers())
    names = ["x", *(t.name for t in inits)]
    nodes = []
    for i in range(draw(st.integers(1, 6))):
        op = draw(st.sampled_from(sorted(ARITY)))
        low, high = ARITY[op]
        count = draw(st.integers(low, high))
        inputs = [draw(st.sampled_from(names)) for _ in range(count)]
        node = helper.make_node(op, inputs, [f"t{i}"], name=f"n{i}_{op}", **draw(attributes(op)))
        nodes.append(node)
        names.append(f"t{i}")
    graph = helper.make_graph(
        nodes,
        "fuzz",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", *features])],
        [helper.make_tensor_value_info(names[-1], TensorProto.FLOAT, ["N", 4])],
        inits,
    )
    opset = draw(st.sampled_from([13, 17, 21]))
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], ir_version=8)


@settings(
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(models())
def test_random_graphs_import_or_are_refused_with_a_message(model):
    data = model.SerializeToString()
    start = time.perf_counter()
    try:
        import_model(data)
    except OnnxImportError as err:
        assert str(err).strip()
        assert "Traceback" not in str(err)
    assert time.perf_counter() - start < 5.0
