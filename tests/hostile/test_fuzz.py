"""Property-based fuzzing (issue 15): project documents and ONNX graphs drawn by hypothesis,
a bounded and reproducible number of examples each (``derandomize``: CI sees the same ones
every run). Whatever the document or graph, reading and checking it either works or raises
one of the user-error types the command line prints as one line; anything else would reach
a user as "internal error".

Shapes are drawn either small (the graph may be valid) or absurd (10**7 and more per axis),
never in between: a missing size limit then shows up at once as a refusal or a MemoryError,
not as a slow, real multi-gigabyte allocation inside the pytest process."""

from __future__ import annotations

import warnings

import numpy as np
import onnx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from onnx import TensorProto, helper, numpy_helper

FUZZ = settings(
    max_examples=120,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# -- project documents -------------------------------------------------------------------------

LAYER_TYPES = ["Input", "Dense", "Conv2D", "Flatten", "Dropout", "Add", "Concatenate",
               "Activation", "LSTM", "Embedding", "Reshape", "MaxPooling2D", "BatchNormalization",
               "Softmax", "NoSuchLayer", "", "__class__"]  # fmt: skip
PARAM_NAMES = ["shape", "units", "activation", "filters", "kernel_size", "strides", "padding",
               "rate", "pool_size", "input_dim", "output_dim", "target_shape", "axis",
               "return_sequences", "use_bias", "dtype", "trainable", "junk"]  # fmt: skip
IDS = st.sampled_from(["input", "a", "b", "c", "out", "", "input "])

SIZES = st.one_of(st.integers(-3, 16), st.integers(10**7, 10**12))
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    SIZES,
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["relu", "softmax", "same", "valid", "float32", "int64", "x" * 300]),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)
PARAMS = st.dictionaries(st.sampled_from(PARAM_NAMES), VALUES, max_size=4)
NODE = st.fixed_dictionaries(
    {"id": IDS, "type": st.sampled_from(LAYER_TYPES), "params": PARAMS},
    optional={"position": st.lists(st.floats(allow_nan=True), max_size=3)},
)
EDGE = st.fixed_dictionaries(
    {"source": IDS, "target": IDS},
    optional={"target_port": st.one_of(st.integers(-2, 3), st.integers(), st.text(max_size=2))},
)
TRAINING = st.fixed_dictionaries(
    {},
    optional={
        "loss": st.sampled_from(["mse", "sparse_categorical_crossentropy", "nope", 3]),
        "optimizer": st.one_of(
            st.sampled_from(["adam", "sgd", "nope"]),
            st.fixed_dictionaries({"name": st.just("adam"), "learning_rate": SCALARS}),
        ),
        "batch_size": SCALARS,
        "epochs": SCALARS,
        "metrics": st.lists(st.sampled_from(["accuracy", "mae", "nope"]), max_size=2),
    },
)
DOCUMENT = st.fixed_dictionaries(
    {
        "format": st.sampled_from(["layercanvas-project", "layercanvas-project", "other"]),
        "version": st.one_of(st.just(1), SCALARS),
        "graph": st.one_of(
            st.fixed_dictionaries(
                {"nodes": st.lists(NODE, max_size=6), "edges": st.lists(EDGE, max_size=6)}
            ),
            VALUES,
        ),
    },
    optional={"name": SCALARS, "training": st.one_of(TRAINING, VALUES), "dataset": VALUES},
)


@FUZZ
@given(DOCUMENT)
def test_any_project_document_is_checked_or_refused_as_a_user_error(document):
    from engine.graph.project import Project  # noqa: PLC0415
    from engine.user_errors import user_error_types  # noqa: PLC0415

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a warning is not a crash; the CLI suite judges those
        try:
            project = Project.from_json(document)
            checked = project.check()
        except user_error_types():
            return
    for d in checked.diagnostics:
        assert d.text(), "a diagnostic without a message"


# -- ONNX graphs --------------------------------------------------------------------------------

DIM = st.one_of(st.integers(1, 6), st.integers(10**7, 10**9))
SHAPE = st.lists(DIM, min_size=1, max_size=4)
SHAPE_VALUES = st.lists(st.one_of(st.integers(-2, 6), st.integers(10**7, 10**12)), max_size=4)
OUT_DIMS = st.lists(st.sampled_from(["a", "b", "c"]), min_size=1, max_size=3)  # rank as drawn
UNARY = ["Relu", "Sigmoid", "Tanh", "Softmax", "Flatten", "Identity", "Transpose", "FooBar"]


@st.composite
def onnx_graphs(draw) -> onnx.ModelProto:
    """x -> a chain of 1 to 4 operators (some with constant second inputs) -> y."""
    rank = draw(st.integers(2, 4))
    x_shape = ["N"] + [draw(st.integers(1, 6)) for _ in range(rank - 1)]
    nodes, inits, current = [], [], "x"
    for i in range(draw(st.integers(1, 4))):
        out = f"t{i}"
        kind = draw(st.sampled_from(["unary", "binary", "gemm", "shape_op", "conv"]))
        if kind == "unary":
            op = draw(st.sampled_from(UNARY))
            attrs = {"axis": draw(st.integers(-5, 5))} if op in ("Softmax", "Flatten") else {}
            nodes.append(helper.make_node(op, [current], [out], name=f"n{i}", **attrs))
        elif kind == "binary":
            op = draw(st.sampled_from(["Add", "Mul", "Sub", "Div", "MatMul"]))
            shape = draw(st.lists(st.integers(1, 6), max_size=3))
            value = np.full(shape, draw(st.floats(allow_nan=True, width=32)), np.float32)
            inits.append(numpy_helper.from_array(value, f"c{i}"))
            nodes.append(helper.make_node(op, [current, f"c{i}"], [out], name=f"n{i}"))
        elif kind == "gemm":
            w = np.ones(draw(st.lists(st.integers(1, 6), min_size=2, max_size=2)), np.float32)
            inits.append(numpy_helper.from_array(w, f"w{i}"))
            nodes.append(helper.make_node("Gemm", [current, f"w{i}"], [out], name=f"n{i}"))
        elif kind == "shape_op":
            op = draw(st.sampled_from(["Reshape", "Expand", "ConstantOfShape", "Tile"]))
            values = np.asarray(draw(SHAPE_VALUES), np.int64)
            inits.append(numpy_helper.from_array(values, f"s{i}"))
            if op == "ConstantOfShape":
                nodes.append(helper.make_node(op, [f"s{i}"], [f"k{i}"], name=f"n{i}"))
                nodes.append(helper.make_node("Add", [current, f"k{i}"], [out], name=f"a{i}"))
            else:
                nodes.append(helper.make_node(op, [current, f"s{i}"], [out], name=f"n{i}"))
        else:
            kernel = [draw(st.integers(1, 4)), x_shape[1] if rank == 4 else 1, 3, 3]
            w = np.ones(kernel, np.float32)
            inits.append(numpy_helper.from_array(w, f"k{i}"))
            attrs = {"pads": draw(st.lists(st.integers(-1, 3), min_size=4, max_size=4))}
            nodes.append(helper.make_node("Conv", [current, f"k{i}"], [out], name=f"n{i}", **attrs))
        current = out
    nodes.append(helper.make_node("Identity", [current], ["y"], name="out"))
    if draw(st.integers(0, 7)) == 0:  # an initializer whose dims declare more than it holds
        lie = numpy_helper.from_array(np.zeros(3, np.float32), "lie")
        del lie.dims[:]
        lie.dims.extend(draw(SHAPE))
        inits.append(lie)
    graph = helper.make_graph(
        nodes,
        "fuzz",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, x_shape)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", *draw(OUT_DIMS)])],
        inits,
    )
    opset = draw(st.sampled_from([13, 17, 17, 21]))
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], ir_version=8)


def _imported_or_refused(proto: onnx.ModelProto) -> None:
    from engine.onnx import OnnxImportError, import_model  # noqa: PLC0415

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            result = import_model(proto)
        except OnnxImportError as err:
            assert str(err).strip()
            return
    assert result.model is not None


@FUZZ
@given(onnx_graphs())
def test_any_onnx_graph_is_imported_or_refused_as_an_import_error(proto):
    _imported_or_refused(proto)


@st.composite
def shape_graphs(draw) -> onnx.ModelProto:
    """One operator that builds a tensor from a shape the file gives: x (N, 4) -> op -> y.
    Half of the drawn sizes are absurd, so constant folding must check them first."""
    op = draw(st.sampled_from(["ConstantOfShape", "Expand", "Tile", "Reshape"]))
    values = draw(st.lists(st.one_of(st.integers(-2, 6), st.integers(10**7, 10**12)), max_size=4))
    shape = numpy_helper.from_array(np.asarray(values, np.int64), "shape")
    if op == "ConstantOfShape":
        nodes = [
            helper.make_node(op, ["shape"], ["k"], name="big"),
            helper.make_node("Add", ["x", "k"], ["y"], name="add"),
        ]
    else:
        nodes = [helper.make_node(op, ["x", "shape"], ["y"], name="big")]
    graph = helper.make_graph(
        nodes,
        "fuzz",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", *draw(OUT_DIMS)])],
        [shape],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)


@FUZZ
@given(shape_graphs())
def test_any_declared_shape_is_folded_or_refused_never_allocated(proto):
    _imported_or_refused(proto)
