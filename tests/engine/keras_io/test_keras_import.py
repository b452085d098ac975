"""Keras -> LayerCanvas: models built and saved by Keras 3 (torch backend) import with
outputs equal to Keras's on the same inputs, channels-last layouts included; Lambda layers
are refused by name; Keras 2's legacy .h5 layout is read; hostile archives are refused."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest

from engine.keras_io import KerasImportError, export_keras, import_keras
from tests.engine.keras_reference import keras

h5py = pytest.importorskip("h5py")

# Keras's own warnings (NumPy 2's copy keyword; an optimizer saved without its state), not
# the engine's.
pytestmark = [
    pytest.mark.filterwarnings("ignore::DeprecationWarning:keras.*"),
    pytest.mark.filterwarnings("ignore:Skipping variable loading:UserWarning"),
]

layers = keras.layers
RNG = np.random.default_rng(0)


def _save(model, tmp_path, name="m.keras"):
    path = tmp_path / name
    model.save(path)
    return path


def _randomize(model):
    # Non-trivial BatchNormalization statistics and biases, so layouts are really checked.
    for w in model.weights:
        w.assign(
            RNG.normal(0, 0.5, w.shape).astype("float32") + (1.0 if "variance" in w.path else 0.0)
        )


def _compare(model, result, inputs, atol=1e-5):
    expected = model.predict(inputs, verbose=0)
    got = result.model.predict(inputs)
    expected = expected if isinstance(expected, list) else [expected]
    got = got if isinstance(got, list) else [got]
    assert len(expected) == len(got)
    for e, g in zip(expected, got, strict=True):
        np.testing.assert_allclose(g, e, atol=atol, rtol=1e-5)


def test_channels_last_cnn_sequential(tmp_path):
    model = keras.Sequential(
        [
            keras.Input((10, 10, 3)),
            layers.Conv2D(4, 3, padding="same", activation="relu"),
            layers.BatchNormalization(),
            layers.MaxPooling2D(),
            layers.Conv2D(5, (3, 2), strides=(1, 2)),
            layers.AveragePooling2D(pool_size=2, padding="same"),
            layers.Dropout(0.3),
            layers.Flatten(),
            layers.Dense(6, activation="softmax"),
        ]
    )
    _randomize(model)
    model.compile(
        optimizer=keras.optimizers.Adam(0.01),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    result = import_keras(_save(model, tmp_path))
    x = RNG.random((4, 10, 10, 3)).astype("float32")  # the user's own NHWC data
    _compare(model, result, x)
    assert result.training["optimizer"] == {"name": "adam", "learning_rate": 0.01}
    assert result.training["loss"] == "sparse_categorical_crossentropy"
    assert result.training["metrics"] == ["accuracy"]
    types = [n.type for n in result.document.nodes]
    assert types.count("Permute") == 2  # into channels first, and back before Flatten
    assert any("Permute" in note for note in result.notes)


def test_global_pooling_concatenate_axis(tmp_path):
    inp = keras.Input((6, 6, 2))
    a = layers.Conv2D(3, 1)(inp)
    b = layers.Conv2D(2, 3, padding="same")(inp)
    c = layers.Concatenate()([a, b])  # axis=-1: the channels
    c = layers.BatchNormalization(axis=-1)(c)
    out = layers.GlobalAveragePooling2D()(c)
    model = keras.Model(inp, layers.Dense(2)(out))
    _randomize(model)
    result = import_keras(_save(model, tmp_path))
    _compare(model, result, RNG.random((3, 6, 6, 2)).astype("float32"))


def test_functional_two_inputs_shared_layer_two_outputs(tmp_path):
    a = keras.Input((4,), name="a")
    b = keras.Input((4,), name="b")
    shared = layers.Dense(3, activation="tanh", name="shared")
    merged = layers.Concatenate()([shared(a), shared(b)])
    o1 = layers.Dense(2, name="o1")(merged)
    o2 = layers.Dense(1, activation="sigmoid", name="o2")(merged)
    model = keras.Model([a, b], [o1, o2])
    model.compile(
        optimizer=keras.optimizers.SGD(0.1, momentum=0.9),
        loss=["mse", "binary_crossentropy"],
        metrics=[["mae"], ["accuracy"]],
    )
    result = import_keras(_save(model, tmp_path))
    x = [RNG.random((5, 4)).astype("float32"), RNG.random((5, 4)).astype("float32")]
    _compare(model, result, x)
    assert result.training["loss"] == {"o1": "mse", "o2": "binary_crossentropy"}
    assert result.training["metrics"] == {"o1": ["mae"], "o2": ["accuracy"]}
    assert result.training["optimizer"]["momentum"] == 0.9
    assert any("shared" in note and "no longer tied" in note for note in result.notes)


def test_embedding_lstm_gru(tmp_path):
    model = keras.Sequential(
        [
            keras.Input((7,), dtype="int32"),
            layers.Embedding(12, 5),
            layers.LSTM(4, return_sequences=True),
            layers.GRU(3),
            layers.Dense(2, activation="softmax"),
        ]
    )
    _randomize(model)
    result = import_keras(_save(model, tmp_path))
    _compare(model, result, RNG.integers(0, 12, (4, 7)))


def test_gru_reset_before_and_simple_rnn(tmp_path):
    model = keras.Sequential(
        [
            keras.Input((5, 3)),
            layers.GRU(4, reset_after=False, return_sequences=True),
            layers.SimpleRNN(3),
        ]
    )
    _randomize(model)
    result = import_keras(_save(model, tmp_path))
    _compare(model, result, RNG.random((2, 5, 3)).astype("float32"))


def test_nested_models_become_blocks(tmp_path):
    inner = keras.Sequential([keras.Input((3,)), layers.Dense(3, activation="tanh")], name="inner")
    block = keras.Sequential(
        [keras.Input((4,)), layers.Dense(3, activation="relu"), inner, layers.Dense(3)],
        name="block",
    )
    a = keras.Input((4,), name="a")
    b = keras.Input((4,), name="b")
    merged = layers.Add()([block(a), block(b)])  # a shared nested model: one block per call
    model = keras.Model([a, b], layers.Dense(2)(merged))
    _randomize(model)
    result = import_keras(_save(model, tmp_path))
    x = [RNG.random((3, 4)).astype("float32"), RNG.random((3, 4)).astype("float32")]
    _compare(model, result, x)
    doc = result.document
    blocks = [n for n in doc.nodes if n.type == "Block"]
    assert len(blocks) == 2 and {n.params["block"] for n in blocks} <= set(doc.blocks)
    inner_defs = [d for d in doc.blocks.values() if any(n.type == "Block" for n in d.graph.nodes)]
    assert inner_defs  # the model nested in the nested model is a block inside the block
    assert any("block" in note for note in result.notes)
    back = tmp_path / "back.keras"  # and out again, as one flat Keras model
    export_keras(result.model, back)
    reloaded = keras.saving.load_model(back)
    got = reloaded.predict(x, verbose=0)
    np.testing.assert_allclose(got, model.predict(x, verbose=0), atol=1e-5, rtol=1e-5)


def test_nested_model_with_two_outputs_stays_flattened(tmp_path):
    x = keras.Input((4,))
    two = keras.Model(x, [layers.Dense(2)(x), layers.Dense(2)(x)], name="two")
    inp = keras.Input((4,))
    p, q = two(inp)
    model = keras.Model(inp, layers.Concatenate()([p, q]))
    _randomize(model)
    result = import_keras(_save(model, tmp_path))
    _compare(model, result, RNG.random((3, 4)).astype("float32"))
    assert any(n.id.startswith("two_") for n in result.document.nodes)
    assert any("stays flattened" in note for note in result.notes)


def test_lambda_layer_is_refused_by_name(tmp_path):
    inp = keras.Input((3,))
    x = layers.Lambda(lambda t: t * 2, name="double")(inp)
    model = keras.Model(inp, layers.Dense(1)(x))
    path = tmp_path / "lambda.keras"
    model.save(path)
    with pytest.raises(KerasImportError) as info:
        import_keras(path)
    assert "'double' (Lambda)" in str(info.value)
    assert "never runs" in str(info.value)


def test_legacy_h5(tmp_path):
    model = keras.Sequential(
        [keras.Input((5,)), layers.Dense(4, activation="relu"), layers.Dense(2, name="out")]
    )
    model.compile(optimizer="rmsprop", loss="mse")
    path = tmp_path / "legacy.h5"
    keras.saving.save_model(model, path)
    with h5py.File(path) as f:  # the layout Keras 2 wrote
        assert "model_config" in f.attrs and "model_weights" in f
    result = import_keras(path)
    _compare(model, result, RNG.random((3, 5)).astype("float32"))
    assert result.training["optimizer"]["name"] == "rmsprop"


def test_keras2_h5_built_with_h5py(tmp_path):
    """A file in Keras 2's own layout and config dialect (inbound nodes as lists,
    batch_input_shape, weight names with ':0'), written with h5py alone."""
    kernel = RNG.normal(size=(3, 2)).astype("float32")
    bias = RNG.normal(size=(2,)).astype("float32")
    config = {
        "class_name": "Model",
        "config": {
            "name": "model",
            "layers": [
                {
                    "class_name": "InputLayer",
                    "name": "x",
                    "config": {"batch_input_shape": [None, 3], "dtype": "float32", "name": "x"},
                    "inbound_nodes": [],
                },
                {
                    "class_name": "Dense",
                    "name": "d",
                    "config": {"name": "d", "units": 2, "activation": "sigmoid", "use_bias": True},
                    "inbound_nodes": [[["x", 0, 0, {}]]],
                },
            ],
            "input_layers": [["x", 0, 0]],
            "output_layers": [["d", 0, 0]],
        },
    }
    path = tmp_path / "k2.h5"
    with h5py.File(path, "w") as f:
        f.attrs["model_config"] = json.dumps(config)
        f.attrs["keras_version"] = "2.4.0"
        g = f.create_group("model_weights/d")
        g.attrs["weight_names"] = [b"d/kernel:0", b"d/bias:0"]
        g.create_dataset("d/kernel:0", data=kernel)
        g.create_dataset("d/bias:0", data=bias)
    result = import_keras(path)
    x = RNG.random((4, 3)).astype("float32")
    expected = 1 / (1 + np.exp(-(x @ kernel + bias)))
    np.testing.assert_allclose(result.model.predict(x), expected, atol=1e-6)
    assert any("without compile" in note for note in result.notes)


def test_archive_with_unexpected_member_is_refused(tmp_path):
    path = tmp_path / "bad.keras"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("config.json", "{}")
        z.writestr("../evil.py", "print('x')")
    with pytest.raises(KerasImportError, match="unexpected member"):
        import_keras(path)


def test_h5_external_link_is_refused(tmp_path):
    path = tmp_path / "link.h5"
    with h5py.File(path, "w") as f:
        f.attrs["model_config"] = "{}"
        f["model_weights/x"] = h5py.ExternalLink("/etc/passwd", "/")
    with pytest.raises(KerasImportError, match="links to another file"):
        import_keras(path)


def test_conv1d_text_model(tmp_path):
    model = keras.Sequential(
        [
            keras.Input((12,), dtype="int32"),
            layers.Embedding(30, 8),
            layers.Conv1D(6, 3, activation="relu", padding="same"),
            layers.MaxPooling1D(2),
            layers.Conv1D(4, 3, activation="relu"),
            layers.GlobalMaxPooling1D(),
            layers.Dense(1, activation="sigmoid"),
        ]
    )
    _randomize(model)
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    result = import_keras(_save(model, tmp_path))
    _compare(model, result, RNG.integers(0, 30, (5, 12)))
    assert not [n for n in result.document.nodes if n.type == "Permute"]  # same layout
    assert result.training["loss"] == "binary_crossentropy"


def test_padding_mask_from_embedding(tmp_path):
    model = keras.Sequential(
        [
            keras.Input((6,), dtype="int32"),
            layers.Embedding(10, 4, mask_zero=True),
            layers.Bidirectional(layers.LSTM(3)),
            layers.Dense(2),
        ]
    )
    _randomize(model)
    result = import_keras(_save(model, tmp_path))
    ids = RNG.integers(1, 10, (4, 6))
    ids[:, 4:] = 0  # padding at the end of each sequence
    _compare(model, result, ids)
