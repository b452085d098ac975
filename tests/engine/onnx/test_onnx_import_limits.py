"""Tiny ONNX files that declare enormous tensors: the importer refuses each one from the
declared shape, naming the node, its operator, the shape and the limit, before numpy
allocates anything (checked with tracemalloc, which sees numpy's buffers) and well within
a second. Also: paths that are not regular files, and files too large to be a model."""

from __future__ import annotations

import os
import time
import tracemalloc

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from engine.onnx import OnnxImportError, import_model
from engine.onnx.import_file import MAX_FILE_BYTES
from engine.onnx.import_limits import (
    MAX_FOLDED_TOTAL_BYTES,
    MAX_TENSOR_BYTES,
    MAX_WEIGHT_BYTES,
    Budget,
    SizeRefused,
)
from tests.engine.onnx.onnx_graphs import make_model

HUGE = [1, 100000, 100000]  # 37.3 GiB of float32
LIMIT = f"{MAX_TENSOR_BYTES // 1024**2} MiB"


def ints(name: str, values) -> onnx.TensorProto:
    return numpy_helper.from_array(np.asarray(values, dtype=np.int64), name)


def into_graph(nodes, inits, out="big") -> onnx.ModelProto:
    """``nodes`` computing ``out``, which an Add joins to the data, as a real model would."""
    graph = helper.make_graph(
        [*nodes, helper.make_node("Add", ["x", out], ["y"], name="join")],
        "hostile",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 4])],
        list(inits),
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)


def refusal(source, max_seconds: float = 1.0, max_traced: int = 64 * 1024**2) -> str:
    """The importer's message for ``source``; asserts it came fast and allocated little."""
    tracemalloc.start()
    start = time.perf_counter()
    try:
        with pytest.raises(OnnxImportError) as caught:
            import_model(source)
        elapsed = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert elapsed < max_seconds, f"refused after {elapsed:.2f} s"
    assert peak < max_traced, f"allocated {peak / 1024**2:.0f} MiB before refusing"
    return str(caught.value)


def constant_of_shape(shape) -> onnx.ModelProto:
    node = helper.make_node("ConstantOfShape", ["shape"], ["big"], name="fill")
    return into_graph([node], [ints("shape", shape)])


def expand(shape) -> onnx.ModelProto:
    node = helper.make_node("Expand", ["one", "shape"], ["big"], name="spread")
    one = numpy_helper.from_array(np.ones(1, np.float32), "one")
    return into_graph([node], [one, ints("shape", shape)])


@pytest.mark.parametrize(
    ("make", "node"),
    [(constant_of_shape, "'fill' (ConstantOfShape)"), (expand, "'spread' (Expand)")],
)
def test_a_200_byte_file_declaring_37_gib_is_refused_at_once(tmp_path, make, node):
    path = tmp_path / "hostile.onnx"
    path.write_bytes(make(HUGE).SerializeToString())
    assert path.stat().st_size < 300
    message = refusal(path)
    assert f"node {node}" in message
    assert "[1, 100000, 100000]" in message and "37.3 GiB" in message
    assert f"at most {LIMIT}" in message
    assert "\n" not in message  # one line, not an issue list


@pytest.mark.parametrize("make", [constant_of_shape, expand])
def test_a_negative_size_is_refused_by_name(make):
    message = refusal(make([1, -5, 4]))
    assert "negative size (-5 at axis 1)" in message


@pytest.mark.parametrize("make", [constant_of_shape, expand])
def test_sizes_that_overflow_int64_are_refused_not_wrapped(make):
    """2**62 * 4 * 4 bytes wraps to 0 in int64; Python ints do not."""
    message = refusal(make([2**62, 4, 4]))
    assert f"[{2**62}, 4, 4]" in message and f"at most {LIMIT}" in message


def test_a_shape_vector_of_thousands_of_entries_is_refused_before_conversion():
    message = refusal(constant_of_shape(np.ones(100_000, np.int64)))
    assert "'fill' (ConstantOfShape)" in message and "100000 values" in message


def test_a_broadcast_of_two_small_constants_is_checked_from_its_result():
    """[20000, 1] + [1, 20000]: 160 KiB in the file, 1.5 GiB broadcast."""
    a = numpy_helper.from_array(np.ones((20000, 1), np.float32), "a")
    b = numpy_helper.from_array(np.ones((1, 20000), np.float32), "b")
    node = helper.make_node("Mul", ["a", "b"], ["big"], name="outer")
    message = refusal(into_graph([node], [a, b]))
    assert "'outer' (Mul)" in message and "[20000, 20000]" in message


def test_a_concat_repeating_one_constant_is_checked_from_its_result():
    part = numpy_helper.from_array(np.ones((1, 256 * 1024), np.float32), "part")  # 1 MiB
    node = helper.make_node("Concat", ["part"] * 600, ["big"], name="pile", axis=0)
    message = refusal(into_graph([node], [part]))
    assert "'pile' (Concat)" in message and "[600, 262144]" in message


def test_a_gather_with_many_indices_is_checked_from_its_result():
    table = numpy_helper.from_array(np.ones((100, 10_000), np.float32), "table")
    index = ints("index", np.zeros(20_000, np.int64))
    node = helper.make_node("Gather", ["table", "index"], ["big"], name="pick")
    message = refusal(into_graph([node], [table, index]))
    assert "'pick' (Gather)" in message and "[20000, 10000]" in message


def test_a_cast_to_a_wider_type_is_checked_before_converting():
    """70 MiB of uint8 (really made) would become 560 MiB of float64: refused."""
    fill = helper.make_tensor("v", TensorProto.UINT8, [1], [1])
    nodes = [
        helper.make_node("ConstantOfShape", ["shape"], ["bytes"], name="fill", value=fill),
        helper.make_node("Cast", ["bytes"], ["big"], name="widen", to=TensorProto.DOUBLE),
    ]
    message = refusal(into_graph(nodes, [ints("shape", [70 * 1024**2])]), max_traced=100 * 1024**2)
    assert "'widen' (Cast)" in message and "float64" in message


def test_a_reshape_of_a_constant_to_a_negative_size_is_refused_by_name():
    data = numpy_helper.from_array(np.ones(8, np.float32), "data")
    node = helper.make_node("Reshape", ["data", "shape"], ["big"], name="bend")
    with pytest.raises(
        OnnxImportError, match=r"'bend' \(Reshape\).*negative size \(-5 at axis 1\)"
    ):
        import_model(into_graph([node], [data, ints("shape", [2, -5])]))


def test_an_attribute_of_millions_of_values_is_refused_before_reading_them():
    node = helper.make_node("Transpose", ["x"], ["t"], name="shuffle", perm=[0] * 1_000_000)
    model = make_model([node, helper.make_node("Relu", ["t"], ["y"])], [("x", [4])], [("y", [4])])
    message = refusal(model)
    assert "'shuffle' (Transpose)" in message and "'perm' of 1000000 values" in message


def test_a_normalisation_sized_by_a_declared_input_is_refused_before_its_weights():
    """Input [N, 2**40, 1, 1]: a BatchNormalization's per-channel vectors would be 4 TiB."""
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 2**40, 1, 1])
    one = {n: np.ones(1, np.float32) for n in ("s", "b", "m", "v")}
    node = helper.make_node("BatchNormalization", ["x", "s", "b", "m", "v"], ["y"], name="norm")
    message = refusal(make_model([node], [x], [("y", [2**40, 1, 1])], one))
    assert "'norm' (BatchNormalization)" in message and f"[{2**40}]" in message


def test_modest_folds_still_import():
    """A legitimate bias broadcast by Expand, folded and added after a MatMul, imports."""
    w = numpy_helper.from_array(np.ones((4, 4), np.float32), "w")
    nodes = [
        helper.make_node("MatMul", ["x", "w"], ["h"], name="mm"),
        helper.make_node("Expand", ["b", "shape"], ["bias"], name="spread"),
        helper.make_node("Add", ["h", "bias"], ["y"], name="add"),
    ]
    b = numpy_helper.from_array(np.full(1, 0.5, np.float32), "b")
    model = make_model(nodes, [("x", [4])], [("y", [4])])
    model.graph.initializer.extend([w, b, ints("shape", [4])])
    result = import_model(model)
    dense = result.model.layers[-1]
    np.testing.assert_allclose(dense.get_weights()[1], np.full(4, 0.5, np.float32))


# -- the budget itself, on declared shapes only (nothing is allocated) ----------------------


def test_the_folded_total_is_bounded_across_nodes():
    budget = Budget()
    third = MAX_FOLDED_TOTAL_BYTES // 3
    budget.fold((third,), np.uint8)
    budget.fold((third,), np.uint8)
    budget.fold((third,), np.uint8)
    with pytest.raises(SizeRefused, match="in all"):
        budget.fold((MAX_FOLDED_TOTAL_BYTES - 3 * third + 1,), np.uint8)


def test_the_weights_total_is_bounded_across_layers():
    from engine.layers.base import WeightSpec  # noqa: PLC0415

    budget = Budget()
    spec = WeightSpec("kernel", (MAX_TENSOR_BYTES // 4,))  # exactly the per-tensor limit
    for _ in range(MAX_WEIGHT_BYTES // MAX_TENSOR_BYTES):
        budget.weights_of("dense", [spec], "fc")
    with pytest.raises(SizeRefused, match="of weights in all") as caught:
        budget.weights_of("dense_9", [WeightSpec("bias", (1,))], "fc9")
    assert caught.value.node == "fc9"


# -- the file itself --------------------------------------------------------------------------


def test_a_folder_a_fifo_and_a_device_say_what_they_are(tmp_path):
    folder = tmp_path / "model.onnx"
    folder.mkdir()
    with pytest.raises(OnnxImportError, match="is a folder, not a file"):
        import_model(folder)
    if hasattr(os, "mkfifo"):
        fifo = tmp_path / "pipe.onnx"
        os.mkfifo(fifo)
        with pytest.raises(OnnxImportError, match=r"is a pipe \(FIFO\)"):
            import_model(fifo)  # would hang if opened: no writer
    if os.path.exists("/dev/zero"):
        message = refusal("/dev/zero")
        assert "/dev/zero: is a device, not a regular file" in message


def test_a_file_larger_than_a_model_can_be_is_refused_from_its_size(tmp_path):
    path = tmp_path / "sparse.onnx"
    with open(path, "wb") as handle:
        handle.truncate(MAX_FILE_BYTES + 1)  # sparse: no disk used, nothing to read
    message = refusal(path)
    assert "is 2.0 GiB; a model file is at most 2.0 GiB" in message


def test_external_data_that_is_a_fifo_is_refused(tmp_path):
    if not hasattr(os, "mkfifo"):
        pytest.skip("no FIFOs here")
    w = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[4, 3])
    w.data_location = TensorProto.EXTERNAL
    for key, value in (("location", "weights.bin"), ("length", "48")):
        entry = w.external_data.add()
        entry.key, entry.value = key, value
    nodes = [helper.make_node("Gemm", ["x", "w"], ["y"], name="fc")]
    model = make_model(nodes, [("x", [4])], [("y", [3])])
    model.graph.initializer.append(w)
    onnx.save(model, tmp_path / "m.onnx")
    os.mkfifo(tmp_path / "weights.bin")
    with pytest.raises(OnnxImportError, match=r"'weights.bin' is a pipe \(FIFO\)"):
        import_model(tmp_path / "m.onnx")


# -- as the user sees it ----------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["device", "fifo", "folder", "hostile"])
def test_the_import_command_says_what_is_wrong_in_one_line(capsys, tmp_path, kind):
    from app import cli  # noqa: PLC0415

    if kind == "device":
        if not os.path.exists("/dev/zero"):
            pytest.skip("no /dev/zero here")
        source, expected = "/dev/zero", "/dev/zero: is a device, not a regular file"
    elif kind == "fifo":
        if not hasattr(os, "mkfifo"):
            pytest.skip("no FIFOs here")
        source = tmp_path / "pipe.onnx"
        os.mkfifo(source)
        expected = f"{source}: is a pipe (FIFO)"
    elif kind == "folder":
        source = tmp_path / "model.onnx"
        source.mkdir()
        expected = f"{source}: is a folder, not a file"
    else:
        source = tmp_path / "hostile.onnx"
        source.write_bytes(constant_of_shape(HUGE).SerializeToString())
        expected = f"{source}: node 'fill' (ConstantOfShape) would make a float32 tensor"
    out = tmp_path / "x.lcproj"
    code = cli.main(["import", str(source), "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("layercanvas: error: cannot import ")
    assert expected in lines[0] and lines[0].count(str(source)) == 1
    assert not out.exists() and not out.with_suffix(".lcmodel").exists()
