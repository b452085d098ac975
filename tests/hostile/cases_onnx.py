"""Hostile ``.onnx`` files, run through ``layercanvas import MODEL.onnx --out p.lcproj``:
broken protobuf, constant folding to shapes of 37 GiB, initializers whose dims declare more
than they hold, external data outside the folder or on a device, unknown operators and
domains, deep subgraph nesting, opsets out of range, cycles."""

from __future__ import annotations

import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from tests.hostile.corpus import case, write
from tests.hostile.corpus import random_bytes as noise
from tests.hostile.post_checks import expect_mode

X = "x.onnx"
IMPORT = ["import", X, "--out", "p.lcproj"]


def model(nodes, inputs, outputs, inits=None, opset: int = 17, raw: bool = False):
    """A float32 model; ``inputs``/``outputs`` are ``(name, shape)`` with the batch axis given."""

    def info(name, shape):
        return helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)

    tensors = [numpy_helper.from_array(np.asarray(v), k) for k, v in (inits or {}).items()]
    graph = helper.make_graph(
        nodes, "hostile", [info(*i) for i in inputs], [info(*o) for o in outputs], tensors
    )
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], ir_version=8)
    return proto if raw else proto.SerializeToString()


def gemm(**changes):
    """x (N, 4) -> Gemm(w (4, 3), b (3,)) named "fc" -> y (N, 3)."""
    rng = np.random.default_rng(0)
    inits = {"w": rng.normal(size=(4, 3)).astype(np.float32), "b": np.zeros(3, np.float32)}
    args = {
        "nodes": [helper.make_node("Gemm", ["x", "w", "b"], ["y"], name="fc")],
        "inputs": [("x", ["N", 4])],
        "outputs": [("y", ["N", 3])],
        "inits": inits,
    }
    args.update(changes)
    return model(**args)


def _onnx(d, data: bytes):
    write(d, X, data)
    return [IMPORT]


def _shape(values) -> np.ndarray:
    return np.asarray(values, dtype=np.int64)


@case("onnx_ok", names=None, expect="ok", post=expect_mode("p.lcproj", "p.lcmodel"), defect="7")
def _(d):
    return _onnx(d, gemm())


@case("onnx_empty", names=X)
def _(d):
    return _onnx(d, b"")


@case("onnx_random_bytes", names=X)
def _(d):
    return _onnx(d, noise(8192, seed=3))


@case("onnx_truncated", names=X)
def _(d):
    data = gemm()
    return _onnx(d, data[: len(data) * 2 // 3])


@case("onnx_text_file", names=X)
def _(d):
    return _onnx(d, b"this is not an ONNX model\n" * 20)


# -- constant folding to declared shapes (defect 2) -------------------------------------------


@case("onnx_constantofshape_1x100000x100000", names=X, also=["big"], defect="2")
def _(d):
    nodes = [
        helper.make_node("ConstantOfShape", ["shape"], ["c"], name="big"),
        helper.make_node("Add", ["x", "c"], ["y"], name="add"),
    ]
    inits = {"shape": _shape([1, 100_000, 100_000])}
    return _onnx(d, model(nodes, [("x", ["N", 100_000])], [("y", ["N", 100_000, 100_000])], inits))


@case("onnx_expand_1x100000x100000", names=X, also=["big"], defect="2")
def _(d):
    nodes = [
        helper.make_node("Expand", ["one", "shape"], ["c"], name="big"),
        helper.make_node("Mul", ["x", "c"], ["y"], name="mul"),
    ]
    inits = {"one": np.ones((1, 1), np.float32), "shape": _shape([1, 100_000, 100_000])}
    return _onnx(d, model(nodes, [("x", ["N", 100_000])], [("y", ["N", 100_000, 100_000])], inits))


@case("onnx_constantofshape_30000x30000", names=X, also=["big"], defect="2")
def _(d):
    """3.6 GB: small enough to be allocated for real, far past any sensible folded constant."""
    nodes = [
        helper.make_node("ConstantOfShape", ["shape"], ["c"], name="big"),
        helper.make_node("Add", ["x", "c"], ["y"], name="add"),
    ]
    inits = {"shape": _shape([30_000, 30_000])}
    return _onnx(d, model(nodes, [("x", ["N", 30_000])], [("y", ["N", 30_000])], inits))


@case("onnx_tile_to_100000x100000", names=X, defect="2")
def _(d):
    nodes = [
        helper.make_node("Tile", ["one", "reps"], ["c"], name="big"),
        helper.make_node("Add", ["x", "c"], ["y"], name="add"),
    ]
    inits = {"one": np.ones((1, 1), np.float32), "reps": _shape([100_000, 100_000])}
    return _onnx(d, model(nodes, [("x", ["N", 100_000])], [("y", ["N", 100_000])], inits))


@case("onnx_constantofshape_negative", names=X)
def _(d):
    nodes = [
        helper.make_node("ConstantOfShape", ["shape"], ["c"], name="neg"),
        helper.make_node("Add", ["x", "c"], ["y"], name="add"),
    ]
    inits = {"shape": _shape([-5, 4])}
    return _onnx(d, model(nodes, [("x", ["N", 4])], [("y", ["N", 4])], inits))


@case("onnx_reshape_to_100000x100000", names=X)
def _(d):
    nodes = [helper.make_node("Reshape", ["x", "shape"], ["y"], name="reshape")]
    inits = {"shape": _shape([-1, 100_000, 100_000])}
    return _onnx(d, model(nodes, [("x", ["N", 4])], [("y", ["N", 100_000, 100_000])], inits))


# -- initializers whose header declares what the file does not hold ---------------------------


def _lying_initializer(dims: list[int]) -> bytes:
    proto = onnx.load_from_string(gemm())
    tensor = proto.graph.initializer[0]
    del tensor.dims[:]
    tensor.dims.extend(dims)
    return proto.SerializeToString()


@case("onnx_initializer_dims_declare_4_gib", names=X)
def _(d):
    return _onnx(d, _lying_initializer([1 << 30]))


@case("onnx_initializer_dims_negative", names=X)
def _(d):
    return _onnx(d, _lying_initializer([-4, 3]))


@case("onnx_initializer_dims_overflow_int64", names=X)
def _(d):
    return _onnx(d, _lying_initializer([1 << 62, 1 << 62, 12]))


def _external(location: str) -> bytes:
    proto = onnx.load_from_string(gemm())
    tensor = proto.graph.initializer[0]
    tensor.ClearField("raw_data")
    tensor.ClearField("float_data")
    tensor.data_location = TensorProto.EXTERNAL
    entry = tensor.external_data.add()
    entry.key, entry.value = "location", location
    return proto.SerializeToString()


@case("onnx_external_data_traversal", names=X)
def _(d):
    return _onnx(d, _external("../" * 24 + "etc/passwd"))


@case("onnx_external_data_absolute", names=X)
def _(d):
    return _onnx(d, _external("/etc/passwd"))


@case("onnx_external_data_missing", names=X)
def _(d):
    return _onnx(d, _external("weights.bin"))


@case("onnx_external_data_symlink_to_dev_zero", names=X, defect="5")
def _(d):
    os.symlink("/dev/zero", d / "weights.bin")
    return _onnx(d, _external("weights.bin"))


# -- graphs LayerCanvas cannot or must not import ---------------------------------------------


@case("onnx_unknown_operator", names=X, also=["FooBar"])
def _(d):
    nodes = [helper.make_node("FooBar", ["x"], ["y"], name="foo")]
    return _onnx(d, model(nodes, [("x", ["N", 4])], [("y", ["N", 4])]))


@case("onnx_custom_domain", names=X)
def _(d):
    nodes = [helper.make_node("Relu", ["x"], ["y"], name="evil", domain="com.evil")]
    proto = model(nodes, [("x", ["N", 4])], [("y", ["N", 4])], raw=True)
    proto.opset_import.append(helper.make_opsetid("com.evil", 1))
    return _onnx(d, proto.SerializeToString())


@case("onnx_opset_too_new", names=X)
def _(d):
    return _onnx(d, gemm(opset=40))


@case("onnx_opset_too_old", names=X)
def _(d):
    return _onnx(d, gemm(opset=3))


@case("onnx_cycle", names=X)
def _(d):
    nodes = [
        helper.make_node("Add", ["x", "b"], ["a"], name="first"),
        helper.make_node("Relu", ["a"], ["b"], name="second"),
        helper.make_node("Identity", ["a"], ["y"], name="out"),
    ]
    return _onnx(d, model(nodes, [("x", ["N", 4])], [("y", ["N", 4])]))


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _field(number: int, payload: bytes | str) -> bytes:
    """A length-delimited protobuf field, written by hand: protobuf itself refuses to build
    (or copy) messages nested past its depth limit, which is the point of this file."""
    data = payload.encode() if isinstance(payload, str) else payload
    return _varint(number << 3 | 2) + _varint(len(data)) + data


def _graph_bytes(nodes: list[bytes], name: str, inputs: list, outputs: list) -> bytes:
    body = b"".join(_field(1, n) for n in nodes) + _field(2, name)
    body += b"".join(_field(11, i.SerializeToString()) for i in inputs)
    return body + b"".join(_field(12, o.SerializeToString()) for o in outputs)


@case("onnx_deep_subgraph_nesting", names=X)
def _(d):
    """``If`` nodes nested 300 deep: past protobuf's recursion limit for nested messages."""
    out = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 4])
    leaf = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "leaf", [], [out])
    leaf_bytes = leaf.SerializeToString()
    inner = leaf_bytes
    for level in range(300):

        def branch(name: str, graph: bytes) -> bytes:
            return _field(1, name) + _varint(20 << 3) + _varint(5) + _field(6, graph)

        node = _field(1, "cond") + _field(2, "y") + _field(3, f"if{level}") + _field(4, "If")
        node += _field(5, branch("then_branch", inner)) + _field(
            5, branch("else_branch", leaf_bytes)
        )
        inner = _graph_bytes([node], f"g{level}", [], [out])
    inputs = [
        helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4]),
        helper.make_tensor_value_info("cond", TensorProto.BOOL, []),
    ]
    top = _graph_bytes([node], "deep", inputs, [out])
    opset = helper.make_opsetid("", 17).SerializeToString()
    data = _varint(1 << 3) + _varint(8) + _field(8, opset) + _field(7, top)
    return _onnx(d, data)
