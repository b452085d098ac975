"""Files the importer must refuse with one clear ``OnnxImportError``: corrupt or truncated
data, external data outside the model's folder, opsets it does not read, enormous tensors,
custom operator domains. Nothing may be built or written half."""

from __future__ import annotations

import os

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from engine.onnx import OnnxImportError, import_model
from engine.onnx.import_file import MAX_TENSOR_BYTES
from tests.engine.onnx.onnx_graphs import make_model


def dense_model(opset: int = 17) -> onnx.ModelProto:
    rng = np.random.default_rng(0)
    return make_model(
        [helper.make_node("Gemm", ["x", "w", "b"], ["y"], name="fc")],
        [("x", [4])],
        [("y", [3])],
        {"w": rng.normal(size=(4, 3)).astype(np.float32), "b": np.zeros(3, np.float32)},
        opset=opset,
    )


def test_a_valid_file_imports(tmp_path):
    path = tmp_path / "ok.onnx"
    onnx.save(dense_model(), path)
    result = import_model(path)
    assert [layer.type_name for layer in result.model.layers] == ["Input", "Dense"]


@pytest.mark.parametrize(
    "data",
    [b"", b"\x00\x01\x02garbage\xff" * 10, b"not an onnx file at all"],
    ids=["empty", "garbage", "text"],
)
def test_corrupt_files_are_refused(tmp_path, data):
    path = tmp_path / "bad.onnx"
    path.write_bytes(data)
    with pytest.raises(OnnxImportError, match="not a readable ONNX model"):
        import_model(path)


def test_a_truncated_file_is_refused(tmp_path):
    data = dense_model().SerializeToString()
    for cut in (len(data) // 3, len(data) // 2, len(data) - 7):
        path = tmp_path / f"cut{cut}.onnx"
        path.write_bytes(data[:cut])
        with pytest.raises(OnnxImportError):
            import_model(path)


def test_a_missing_file_is_refused(tmp_path):
    with pytest.raises(OnnxImportError, match="file not found"):
        import_model(tmp_path / "nowhere.onnx")


@pytest.mark.parametrize("opset", [22, 25])
def test_an_opset_too_new_is_refused(tmp_path, opset):
    path = tmp_path / "new.onnx"
    onnx.save(dense_model(opset=opset), path)
    with pytest.raises(OnnxImportError, match=f"opset {opset}, newer than LayerCanvas reads"):
        import_model(path)


def test_an_opset_too_old_is_refused():
    with pytest.raises(OnnxImportError, match="older than LayerCanvas reads"):
        import_model(dense_model(opset=7))


def _external(model: onnx.ModelProto, name: str, location: str, length: int) -> None:
    tensor = next(t for t in model.graph.initializer if t.name == name)
    tensor.ClearField("raw_data")
    tensor.ClearField("float_data")
    tensor.data_location = TensorProto.EXTERNAL
    for key, value in (("location", location), ("offset", "0"), ("length", str(length))):
        entry = tensor.external_data.add()
        entry.key, entry.value = key, value


def test_external_data_inside_the_folder_is_read(tmp_path):
    model = dense_model()
    weights = onnx.numpy_helper.to_array(model.graph.initializer[0])
    (tmp_path / "weights.bin").write_bytes(weights.tobytes())
    _external(model, "w", "weights.bin", weights.nbytes)
    path = tmp_path / "external.onnx"
    path.write_bytes(model.SerializeToString())
    result = import_model(path)
    np.testing.assert_array_equal(result.model.layers[1].get_weights()[0], weights)


@pytest.mark.parametrize(
    "location",
    ["../secret.bin", "/etc/passwd", "sub/../../secret.bin", "..\\secret.bin", "C:/secret.bin"],
)
def test_external_data_outside_the_folder_is_refused(tmp_path, location):
    folder = tmp_path / "model"
    folder.mkdir()
    (tmp_path / "secret.bin").write_bytes(b"\x00" * 48)
    model = dense_model()
    _external(model, "w", location, 48)
    path = folder / "m.onnx"
    path.write_bytes(model.SerializeToString())
    with pytest.raises(OnnxImportError, match="outside the model's folder"):
        import_model(path)


def test_external_data_through_a_link_leading_outside_is_refused(tmp_path):
    folder = tmp_path / "model"
    folder.mkdir()
    (tmp_path / "secret.bin").write_bytes(b"\x00" * 48)
    os.symlink(tmp_path / "secret.bin", folder / "weights.bin")
    model = dense_model()
    _external(model, "w", "weights.bin", 48)
    path = folder / "m.onnx"
    path.write_bytes(model.SerializeToString())
    with pytest.raises(OnnxImportError, match="leads outside the model's folder"):
        import_model(path)


def test_missing_or_short_external_data_is_refused(tmp_path):
    model = dense_model()
    _external(model, "w", "weights.bin", 48)
    path = tmp_path / "m.onnx"
    path.write_bytes(model.SerializeToString())
    with pytest.raises(OnnxImportError, match="is missing"):
        import_model(path)
    (tmp_path / "weights.bin").write_bytes(b"\x00" * 20)
    with pytest.raises(OnnxImportError, match="shorter than the tensor"):
        import_model(path)


def test_external_data_without_a_folder_is_refused():
    model = dense_model()
    _external(model, "w", "weights.bin", 48)
    with pytest.raises(OnnxImportError, match="external file"):
        import_model(model.SerializeToString())


def test_an_enormous_initializer_is_refused_from_its_dims():
    """The tensor declares 4 GiB but holds no data: refused before anything is read."""
    model = dense_model()
    huge = TensorProto(name="huge", data_type=TensorProto.FLOAT, dims=[1024, 1024, 1024])
    model.graph.initializer.append(huge)
    assert model.ByteSize() < 10_000
    with pytest.raises(OnnxImportError, match=f"over {MAX_TENSOR_BYTES // 1024**2} MiB"):
        import_model(model)


def test_custom_domains_and_unsupported_operators_are_all_listed():
    """One error lists every node we cannot represent, with its name and operator."""
    rng = np.random.default_rng(0)
    nodes = [
        helper.make_node("Gemm", ["x", "w"], ["h"], name="fc"),
        helper.make_node("Sin", ["h"], ["s"], name="wave"),
        helper.make_node("Relu", ["s"], ["r"], name="after_wave"),
        helper.make_node("FusedGemm", ["r", "w2"], ["f"], name="fused", domain="com.microsoft"),
        helper.make_node("Cos", ["f"], ["y"], name="other_wave"),
    ]
    model = make_model(
        nodes,
        [("x", [4])],
        [("y", [4])],
        {"w": rng.normal(size=(4, 4)), "w2": rng.normal(size=(4, 4))},
    )
    model.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    with pytest.raises(OnnxImportError) as caught:
        import_model(model)
    issues = caught.value.issues
    assert [(i.node, i.op_type) for i in issues] == [
        ("wave", "Sin"),
        ("fused", "com.microsoft.FusedGemm"),
        ("other_wave", "Cos"),
    ]
    message = str(caught.value)
    assert "custom operator domain 'com.microsoft'" in message
    assert "operator Sin has no LayerCanvas layer equivalent" in message


def test_an_invalid_graph_is_refused_by_the_checker():
    model = dense_model()
    model.graph.node[0].input[1] = "nothing_named_like_this"
    with pytest.raises(OnnxImportError, match="not a valid ONNX model"):
        import_model(model)


def test_a_graph_input_with_a_variable_feature_size_is_refused():
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", "F"])
    model = make_model([helper.make_node("Relu", ["x"], ["y"], name="act")], [x], [("y", [4])])
    with pytest.raises(OnnxImportError, match="variable size .'F'. at axis 1"):
        import_model(model)


def test_randomly_damaged_files_import_or_are_refused_never_crash(tmp_path):
    """Byte-level damage to a real export: every result is a model or an OnnxImportError."""
    import random  # noqa: PLC0415

    from engine.layers import LSTM, Conv2D, Dense, Flatten, Reshape  # noqa: PLC0415
    from engine.layers.base import Input  # noqa: PLC0415
    from engine.onnx import export_model  # noqa: PLC0415
    from tests.engine.onnx.builders import functional_model  # noqa: PLC0415

    x = Input((1, 4, 4))
    h = Conv2D(2, 3, padding="same", activation="relu")(x)
    h = LSTM(3)(Reshape((4, 8))(Flatten()(h)))
    path = tmp_path / "m.onnx"
    export_model(functional_model(x, Dense(2, activation="softmax")(h)), path)
    original = path.read_bytes()
    rng = random.Random(0)
    outcomes = {"imported": 0, "refused": 0}
    for _ in range(150):
        data = bytearray(original)
        for _ in range(rng.randint(1, 3)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        try:
            import_model(bytes(data))
            outcomes["imported"] += 1
        except OnnxImportError:
            outcomes["refused"] += 1
    assert outcomes["refused"] > 0 and outcomes["imported"] > 0
