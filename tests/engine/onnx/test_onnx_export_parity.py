"""Every registered layer type exports: for each entry of its ``examples`` (the generic
harness's), ``Input -> layer -> output`` with random weights passes the full ONNX checker
and onnxruntime matches ``model.predict`` on batches of 1, 3 and 8 (``verify_export``).
Also Functional models with several inputs and outputs, and a trained digits CNN."""

from __future__ import annotations

import numpy as np
import onnx
import pytest

import engine.layers  # noqa: F401 - registers every layer type
from engine.layers.base import LAYER_TYPES, Input
from engine.onnx import export_model
from engine.onnx.registry import exporter_for
from tests.engine.onnx.builders import example_cases, example_model, functional_model

TOLERANCE = 1e-4
CASES = [
    pytest.param(cls, example, id=f"{name}-{i}")
    for name, cls, i, example in example_cases(LAYER_TYPES)
    if name != "Input"
]
FIRST_EXAMPLES = [
    pytest.param(cls, cls.examples[0], id=name)
    for name, cls in sorted(LAYER_TYPES.items())
    if name != "Input" and cls.examples
]


def test_every_registered_layer_type_has_an_exporter():
    missing = sorted(n for n in LAYER_TYPES if n != "Input" and exporter_for(n) is None)
    assert not missing, f"layer types without an ONNX mapping: {missing}"


@pytest.mark.parametrize(("cls", "example"), CASES)
def test_every_example_exports_and_matches_onnxruntime(tmp_path, cls, example):
    model = example_model(cls, example)
    path = tmp_path / "model.onnx"
    report = export_model(model, path)  # raises ExportError on any mismatch
    assert report.checker_passed and report.batch_sizes == (1, 3, 8)
    assert report.max_relative_error <= TOLERANCE
    proto = onnx.load(path)
    assert proto.opset_import[0].version == 17 and proto.ir_version <= 13
    onnx.checker.check_model(proto, full_check=True)
    for value in list(proto.graph.input) + list(proto.graph.output):
        assert value.type.tensor_type.shape.dim[0].dim_param == "batch"  # dynamic batch


@pytest.mark.parametrize(("cls", "example"), FIRST_EXAMPLES)
def test_opset_21(tmp_path, cls, example):
    report = export_model(example_model(cls, example), tmp_path / "m.onnx", opset=21)
    assert report.max_relative_error <= TOLERANCE


@pytest.mark.parametrize("kind", ["SimpleRNN", "LSTM", "GRU"])
@pytest.mark.parametrize("activation", ["linear", "elu", "leaky_relu", "softplus", "sigmoid"])
def test_recurrent_activations_map_to_onnx_activation_lists(tmp_path, kind, activation):
    config = {"units": 3, "activation": activation, "return_sequences": True}
    if kind != "SimpleRNN":
        config["recurrent_activation"] = "sigmoid" if activation == "sigmoid" else "tanh"
    cls = LAYER_TYPES[kind]
    model = example_model(cls, {"config": config, "input_shape": (4, 2)})
    report = export_model(model, tmp_path / "rnn.onnx")
    assert report.max_relative_error <= TOLERANCE


def test_a_functional_model_with_several_inputs_and_outputs(tmp_path):
    layers = engine.layers
    image = Input((1, 6, 6), name="image")
    extra = Input((3,), name="extra")
    tokens = Input((5,), name="tokens", dtype="int64")
    x = layers.Conv2D(4, 3, padding="same", activation="relu", name="conv")(image)
    x = layers.BatchNormalization(name="bn")(x)
    x = layers.MaxPooling2D(name="pool")(x)
    x = layers.Flatten(name="flat")(x)
    e = layers.Embedding(11, 4, name="embed")(tokens)
    e = layers.LSTM(6, name="lstm")(e)
    h = layers.Concatenate(name="join")([x, layers.Dense(6, name="extra_dense")(extra), e])
    h = layers.Dense(8, activation="gelu", name="hidden")(h)
    h = layers.Dropout(0.3, name="drop")(h)
    classes = layers.Dense(5, activation="softmax", name="classes")(h)
    score = layers.Dense(1, name="score")(layers.Add(name="res")([h, h, h]))
    model = functional_model([image, extra, tokens], [classes, score], name="multi")
    from tests.engine.onnx.builders import randomize_weights  # noqa: PLC0415

    randomize_weights(model)
    path = tmp_path / "multi.onnx"
    for opset in (17, 21):
        report = export_model(model, path, opset=opset)
        assert report.max_relative_error <= TOLERANCE
    proto = onnx.load(path)
    assert [i.name for i in proto.graph.input] == ["image", "extra", "tokens"]
    assert [o.name for o in proto.graph.output] == ["classes", "score"]
    assert proto.graph.input[2].type.tensor_type.elem_type == onnx.TensorProto.INT64


def test_a_trained_digits_cnn(tmp_path):
    """Trained weights (not just random ones) survive export; ONNX Runtime classifies the
    held-out digits exactly as the engine does."""
    import onnxruntime as ort  # noqa: PLC0415
    from sklearn.datasets import load_digits  # noqa: PLC0415

    from engine.models.sequential import Sequential  # noqa: PLC0415

    digits = load_digits()
    x = (digits.images / 16.0).astype(np.float32)[:, None]
    y = digits.target.astype(np.int64)
    layers = engine.layers
    model = Sequential(
        [
            Input((1, 8, 8)),
            layers.Conv2D(8, 3, padding="same", activation="relu"),
            layers.MaxPooling2D(),
            layers.Conv2D(16, 3, activation="relu"),
            layers.Flatten(),
            layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x[:1400], y[:1400], epochs=8, batch_size=32, verbose=0)
    path = tmp_path / "digits.onnx"
    report = export_model(model, path)
    assert report.max_relative_error <= TOLERANCE
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    onnx_probs = session.run(None, {session.get_inputs()[0].name: x[1400:]})[0]
    engine_probs = model.predict(x[1400:], verbose=0)
    np.testing.assert_allclose(onnx_probs, engine_probs, rtol=1e-4, atol=1e-6)
    accuracy = float(np.mean(onnx_probs.argmax(axis=1) == y[1400:]))
    assert accuracy > 0.8  # it really is trained
