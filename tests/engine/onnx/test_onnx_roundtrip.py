"""Round trip: export -> import -> export gives the same outputs, for every example of every
layer type, and for a Functional model with several inputs and outputs; the imported
model becomes a graph document laid out top to bottom."""

from __future__ import annotations

import numpy as np
import pytest

import engine.layers  # noqa: F401 - registers every layer type
from engine.layers.base import LAYER_TYPES, Input
from engine.onnx import export_model, import_model
from engine.onnx.export import random_inputs
from tests.engine.onnx.builders import (
    example_cases,
    example_model,
    functional_model,
    randomize_weights,
)
from tests.engine.onnx.onnx_graphs import run_onnxruntime

CASES = [
    pytest.param(cls, example, id=f"{name}-{i}")
    for name, cls, i, example in example_cases(LAYER_TYPES)
    if name != "Input"
]
# Types that come back as another, equivalent layer: Dropout is exported as Identity (an
# inference model), a linear Activation comes back as one too.
CHANGES_TYPE = {"Dropout"}


def _as_list(value):
    return value if isinstance(value, list) else [value]


def round_trip(model, tmp_path):
    first, second = tmp_path / "first.onnx", tmp_path / "second.onnx"
    export_model(model, first)
    result = import_model(first)
    export_model(result.model, second)  # verified against the imported model's predict
    return result, first, second


def assert_same_outputs(model, imported, first, second):
    import onnx  # noqa: PLC0415

    arrays = random_inputs(model, 5, np.random.default_rng(7))
    feed = arrays if len(arrays) > 1 else arrays[0]
    original = _as_list(model.predict(feed, verbose=0))
    again = _as_list(imported.predict(feed, verbose=0))
    for a, b in zip(original, again, strict=True):
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-6)
    runs = []
    for path in (first, second):
        proto = onnx.load(path)
        runs.append(run_onnxruntime(proto, dict(zip([i.name for i in proto.graph.input], arrays))))
    for a, b in zip(*runs, strict=True):
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(("cls", "example"), CASES)
def test_every_example_survives_export_import_export(tmp_path, cls, example):
    model = example_model(cls, example)
    result, first, second = round_trip(model, tmp_path)
    assert_same_outputs(model, result.model, first, second)
    # Node names carried the layer names, and the weights came back unchanged.
    for layer in result.model.layers:
        if cls.type_name in CHANGES_TYPE or layer.type_name == "Input":
            continue
        original = model.get_layer(layer.name)
        theirs, mine = original.get_weights(), layer.get_weights()
        if [w.shape for w in theirs] == [w.shape for w in mine]:
            for a, b in zip(theirs, mine, strict=True):
                np.testing.assert_allclose(b, a, rtol=1e-6, atol=1e-7)


def test_a_multi_input_multi_output_model_round_trips(tmp_path):
    layers = engine.layers
    image = Input((2, 6, 6), name="image")
    tokens = Input((4,), name="tokens", dtype="int64")
    x = layers.Conv2D(3, 3, strides=2, padding="same", activation="relu", name="conv")(image)
    x = layers.AveragePooling2D(padding="same", name="pool")(x)
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    e = layers.Embedding(9, 3, name="embed")(tokens)
    e = layers.GRU(3, return_sequences=True, name="gru")(e)
    e = layers.LayerNormalization(name="norm")(e)
    e = layers.SimpleRNN(3, name="rnn")(e)
    both = layers.Multiply(name="gate")([x, e])
    out_a = layers.Dense(4, activation="softmax", name="a")(both)
    out_b = layers.Subtract(name="b")([x, e])
    model = functional_model([image, tokens], [out_a, out_b], name="two_heads")
    randomize_weights(model)
    result, first, second = round_trip(model, tmp_path)
    assert_same_outputs(model, result.model, first, second)
    assert [layer.name for layer in result.model.layers] == [layer.name for layer in model.layers]
    assert [layer.type_name for layer in result.model.layers] == [
        layer.type_name for layer in model.layers
    ]


def test_the_imported_model_becomes_a_graph_document_laid_out_top_to_bottom(tmp_path):
    layers = engine.layers
    x = Input((6,), name="x")
    a = layers.Dense(4, activation="relu", name="left")(x)
    b = layers.Dense(4, activation="tanh", name="right")(x)
    y = layers.Add(name="sum")([a, b])
    model = functional_model(x, layers.Dense(2, name="out")(y))
    randomize_weights(model)
    path = tmp_path / "m.onnx"
    export_model(model, path)
    document = import_model(path).graph_document(name="Imported")
    position = {node.id: node.position for node in document.nodes}
    assert set(position) == {"x", "left", "right", "sum", "out"}
    for edge in document.edges:  # as the canvas's Auto-arrange lays it out
        assert position[edge.source][1] < position[edge.target][1]
    assert position["left"][1] == position["right"][1] and position["left"] != position["right"]


def test_token_ids_fed_as_floats_are_cast_and_come_back(tmp_path):
    """A canvas model may feed ids through a float Input: the export casts them to int64
    before Gather, and the importer reads the Cast back as the same Embedding."""
    ids = Input((5,), name="ids")
    out = engine.layers.Embedding(6, 2, name="embed")(ids)
    model = functional_model(ids, out)
    randomize_weights(model)
    result, first, second = round_trip(model, tmp_path)
    x = np.random.default_rng(3).integers(0, 6, size=(4, 5)).astype(np.float32)
    np.testing.assert_array_equal(result.model.predict(x, verbose=0), model.predict(x, verbose=0))
    import onnx  # noqa: PLC0415

    assert "Cast" in [n.op_type for n in onnx.load(first).graph.node]
    expected = run_onnxruntime(onnx.load(first), {"ids": x})[0]
    np.testing.assert_allclose(expected, model.predict(x, verbose=0), rtol=1e-6)
