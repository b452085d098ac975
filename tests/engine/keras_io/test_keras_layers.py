"""Every Keras layer class LayerCanvas maps, one small model each, both ways: built and saved
by Keras, imported with outputs equal to Keras's (channels-last layouts converted), then
exported back and loaded by Keras with outputs equal to the engine's. A test fails when a
mapping is registered without a case here."""

from __future__ import annotations

import zlib

import numpy as np
import pytest

from engine.keras_io import export_keras, import_keras
from engine.keras_io.layers import load_mappings
from engine.keras_io.layers.registry import IMPORTS
from tests.engine.keras_reference import keras

pytestmark = [
    pytest.mark.filterwarnings("ignore::DeprecationWarning:keras.*"),
    pytest.mark.filterwarnings("ignore:Skipping variable loading:UserWarning"),
]

L = keras.layers
IMG = (6, 6, 3)


def image(*body):
    return [keras.Input(IMG), *body]


def flat(*body, width=5):
    return [keras.Input((width,)), *body]


def seq(*body, steps=4, features=3):
    return [keras.Input((steps, features)), *body]


# Keras class -> the layers of a small Sequential model using it.
SEQUENTIAL_CASES = {
    "Dense": flat(L.Dense(3, activation="tanh")),
    "Activation": flat(L.Activation("softplus")),
    "Dropout": flat(L.Dropout(0.4), L.Dense(2)),
    "Conv2D": image(L.Conv2D(4, (3, 2), strides=(2, 1), padding="same", dilation_rate=1)),
    "MaxPooling2D": image(L.MaxPooling2D(pool_size=(2, 3), strides=1)),
    "AveragePooling2D": image(L.AveragePooling2D(2, padding="same")),
    "GlobalAveragePooling2D": image(L.GlobalAveragePooling2D()),
    "GlobalMaxPooling2D": image(L.GlobalMaxPooling2D(keepdims=True)),
    "BatchNormalization": image(L.BatchNormalization()),
    "LayerNormalization": seq(L.LayerNormalization()),
    "SimpleRNN": seq(L.SimpleRNN(3, return_sequences=True)),
    "LSTM": seq(L.LSTM(3, unit_forget_bias=False)),
    "GRU": seq(L.GRU(3, reset_after=False)),
    "Embedding": [keras.Input((5,), dtype="int32"), L.Embedding(9, 3)],
    "Flatten": image(L.Flatten()),
    "Reshape": flat(L.Reshape((3, 2)), width=6),
    "Permute": seq(L.Permute((2, 1))),
    "RepeatVector": flat(L.RepeatVector(3)),
    "LeakyReLU": flat(L.LeakyReLU(negative_slope=0.2)),
    "ELU": flat(L.ELU(alpha=0.7)),
    "Softmax": image(L.Softmax()),
    "ReLU": flat(L.ReLU(max_value=0.6, negative_slope=0.1)),
    "PReLU": image(L.PReLU(shared_axes=[1, 2])),
    "ZeroPadding2D": image(L.ZeroPadding2D(((1, 0), (2, 1)))),
    "Cropping2D": image(L.Cropping2D(((1, 0), (0, 2)))),
    "UpSampling2D": image(L.UpSampling2D((2, 1), interpolation="bilinear")),
    "Conv1D": seq(L.Conv1D(4, 3, padding="causal", dilation_rate=2), steps=7),
    "MaxPooling1D": seq(L.MaxPooling1D(3, strides=2, padding="same"), steps=7),
    "AveragePooling1D": seq(L.AveragePooling1D(2), steps=6),
    "GlobalAveragePooling1D": seq(L.GlobalAveragePooling1D()),
    "GlobalMaxPooling1D": seq(L.GlobalMaxPooling1D()),
    "Conv2DTranspose": image(L.Conv2DTranspose(2, 3, strides=2, padding="same")),
    "DepthwiseConv2D": image(L.DepthwiseConv2D(3, depth_multiplier=2)),
    "SeparableConv2D": image(L.SeparableConv2D(4, 3, depth_multiplier=2, padding="same")),
    "GroupNormalization": image(L.Conv2D(4, 1), L.GroupNormalization(groups=2)),
    "Bidirectional": seq(L.Bidirectional(L.GRU(3, return_sequences=True), merge_mode="sum")),
    "TimeDistributed": [
        keras.Input((3, 5, 5, 2)),
        L.TimeDistributed(L.Conv2D(3, 3, padding="same")),
        L.TimeDistributed(L.MaxPooling2D()),
        L.TimeDistributed(L.Flatten()),
        L.TimeDistributed(L.Dense(2)),
    ],
    "GaussianNoise": flat(L.GaussianNoise(0.3), L.Dense(2)),
    "GaussianDropout": flat(L.GaussianDropout(0.3), L.Dense(2)),
    "SpatialDropout1D": seq(L.SpatialDropout1D(0.3)),
    "SpatialDropout2D": image(L.SpatialDropout2D(0.3)),
    "ActivityRegularization": flat(L.ActivityRegularization(l1=0.01)),
}


def _merge_model(layer_class, **kwargs):
    a = keras.Input(IMG)
    b = keras.Input(IMG)
    x = L.Conv2D(3, 1)(a)
    return keras.Model([a, b], layer_class(**kwargs)([x, b]))


def _attention_model():
    q = keras.Input((5, 4))
    v = keras.Input((6, 3))
    k = keras.Input((6, 2))
    causal = L.MultiHeadAttention(2, 3)(q, q, use_causal_mask=True)
    cross = L.MultiHeadAttention(2, 3, value_dim=2, output_shape=5)(causal, v, key=k)
    return keras.Model([q, v, k], cross)


FUNCTIONAL_CASES = {
    "MultiHeadAttention": _attention_model,
    "Add": lambda: _merge_model(L.Add),
    "Subtract": lambda: _merge_model(L.Subtract),
    "Multiply": lambda: _merge_model(L.Multiply),
    "Average": lambda: _merge_model(L.Average),
    "Maximum": lambda: _merge_model(L.Maximum),
    "Minimum": lambda: _merge_model(L.Minimum),
    "Concatenate": lambda: _merge_model(L.Concatenate, axis=-1),
    "Dot": lambda: keras.Model(
        [a := keras.Input((4, 3)), b := keras.Input((5, 3))], L.Dot(axes=(2, 2))([a, b])
    ),
}


def _cases():
    cases = {k: (lambda body=v: keras.Sequential(body)) for k, v in SEQUENTIAL_CASES.items()}
    return {**cases, **FUNCTIONAL_CASES}


CASES = _cases()


def _inputs(model, rng):
    out = []
    for t in model.inputs:
        shape = (3, *t.shape[1:])
        if "int" in str(t.dtype):
            out.append(rng.integers(0, 9, shape))
        else:
            out.append(rng.normal(size=shape).astype("float32"))
    return out if len(out) > 1 else out[0]


def test_every_mapped_keras_class_has_a_case():
    load_mappings()
    assert set(IMPORTS) - {"InputLayer"} <= set(CASES)


@pytest.mark.parametrize("class_name", sorted(CASES))
def test_layer_round_trip(class_name, tmp_path):
    rng = np.random.default_rng(zlib.crc32(class_name.encode()))
    model = CASES[class_name]()
    for w in model.weights:  # every weight away from its initial value
        value = rng.normal(0, 0.5, w.shape) + (1.5 if "variance" in w.path else 0.0)
        w.assign(value.astype("float32"))
    source = tmp_path / "k.keras"
    model.save(source)
    x = _inputs(model, rng)
    imported = import_keras(source)
    np.testing.assert_allclose(
        imported.model.predict(x), model.predict(x, verbose=0), atol=1e-5, rtol=1e-5
    )
    back = tmp_path / "back.keras"
    export_keras(imported.model, back)
    reloaded = keras.saving.load_model(back)
    np.testing.assert_allclose(
        reloaded.predict(x, verbose=0), imported.model.predict(x), atol=1e-5, rtol=1e-5
    )
