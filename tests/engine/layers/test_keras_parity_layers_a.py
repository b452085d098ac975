"""LAYERS-A's layer types against Keras 3 itself (torch backend, the independent reference
for Keras semantics): the same configuration and weights (moved to Keras's layout through
each type's declared ``weight_layouts``) give the same outputs, images compared with Keras's
``data_format="channels_first"``. And every parameter is one of Keras's constructor
arguments, with Keras's default."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

import engine.layers as L  # noqa: N812
from engine.autodiff.tensor import Tensor
from tests.engine.keras_reference import keras, keras_tensor, to_numpy

IMAGE_TYPES = {
    "Conv2D",
    "Conv2DTranspose",
    "DepthwiseConv2D",
    "SeparableConv2D",
    "MaxPooling2D",
    "AveragePooling2D",
    "ZeroPadding2D",
    "Cropping2D",
    "UpSampling2D",
}
# (type, config, per-sample input shape (engine layout))
CASES = [
    ("Conv2D", {"filters": 4, "kernel_size": 3, "groups": 2, "padding": "same"}, (4, 6, 5)),
    ("Conv1D", {"filters": 3, "kernel_size": 3, "padding": "causal", "dilation_rate": 2}, (9, 2)),
    ("Conv1D", {"filters": 4, "kernel_size": 2, "strides": 2, "padding": "same"}, (7, 4)),
    ("Conv1D", {"filters": 4, "kernel_size": 3, "groups": 2, "activation": "relu"}, (8, 4)),
    ("Conv2DTranspose", {"filters": 3, "kernel_size": 3, "strides": 2}, (2, 4, 5)),
    (
        "Conv2DTranspose",
        {"filters": 3, "kernel_size": 3, "strides": 2, "padding": "same"},
        (2, 4, 5),
    ),
    (
        "Conv2DTranspose",
        {"filters": 2, "kernel_size": 4, "strides": 2, "padding": "same"},
        (2, 3, 3),
    ),
    (
        "Conv2DTranspose",
        {"filters": 2, "kernel_size": 3, "strides": 2, "padding": "same", "output_padding": 0},
        (2, 4, 4),
    ),
    (
        "Conv2DTranspose",
        {"filters": 2, "kernel_size": 3, "strides": 3, "output_padding": (1, 2)},
        (1, 3, 4),
    ),
    ("Conv2DTranspose", {"filters": 2, "kernel_size": 2, "dilation_rate": 2}, (2, 4, 3)),
    (
        "DepthwiseConv2D",
        {"kernel_size": 3, "strides": 2, "padding": "same", "depth_multiplier": 2},
        (3, 7, 6),
    ),
    (
        "SeparableConv2D",
        {"filters": 5, "kernel_size": 3, "depth_multiplier": 2, "activation": "tanh"},
        (3, 6, 6),
    ),
    ("MaxPooling1D", {"pool_size": 3, "strides": 2, "padding": "same"}, (8, 3)),
    # Symmetric "same" padding: with an odd total, Keras's torch backend pads average
    # pooling by repeating the edge, where TensorFlow (and the engine) leave padding out.
    ("AveragePooling1D", {"pool_size": 3, "strides": 2, "padding": "same"}, (9, 3)),
    ("GlobalAveragePooling1D", {"keepdims": True}, (5, 3)),
    ("GlobalMaxPooling1D", {}, (5, 3)),
    ("ZeroPadding2D", {"padding": ((1, 2), (0, 3))}, (2, 3, 4)),
    ("Cropping2D", {"cropping": ((1, 0), (2, 1))}, (2, 5, 6)),
    ("UpSampling2D", {"size": (2, 3), "interpolation": "nearest"}, (2, 3, 4)),
    ("UpSampling2D", {"size": (3, 2), "interpolation": "bilinear"}, (2, 3, 4)),
    ("Permute", {"dims": (3, 1, 2)}, (2, 3, 4)),
    ("RepeatVector", {"n": 3}, (5,)),
]


@pytest.mark.parametrize(("type_name", "config", "shape"), CASES, ids=lambda v: str(v))
def test_same_outputs_as_keras(type_name, config, shape):
    rng = np.random.default_rng(0)
    cls = L.LAYER_TYPES[type_name]
    layer = cls(**config)
    x = rng.standard_normal((2, *shape)).astype(np.float32)
    layer(Tensor(x))
    weights = [rng.normal(0, 0.5, size=w.shape).astype(np.float32) for w in layer.get_weights()]
    layer.set_weights(weights)
    expected_layer = getattr(keras.layers, type_name)(
        **config, **({"data_format": "channels_first"} if type_name in IMAGE_TYPES else {})
    )
    expected_layer.build((None, *shape))
    names = [s.name for s in cls(**config).weight_specs(shape)]
    expected_layer.set_weights(
        [
            np.transpose(w, cls.weight_layouts[name]) if name in cls.weight_layouts else w
            for name, w in zip(names, weights, strict=True)
        ]
    )
    expected = to_numpy(expected_layer(keras_tensor(x)))
    got = layer(Tensor(x)).numpy()
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)


NEW_TYPES = sorted({case[0] for case in CASES} | {"MaxPooling1D", "AveragePooling1D"})


@pytest.mark.parametrize("type_name", NEW_TYPES)
def test_parameters_are_keras_arguments_with_keras_defaults(type_name):
    cls = L.LAYER_TYPES[type_name]
    signature = inspect.signature(getattr(keras.layers, type_name).__init__).parameters
    for param in cls.params:
        assert param.name in signature, f"{type_name}.{param.name} is not a Keras argument"
        default = signature[param.name].default
        if default is inspect.Parameter.empty or param.required or param.name == "activation":
            continue  # activation: the engine spells Keras's None "linear"
        if param.kind.endswith("initializer") or param.name.endswith("initializer"):
            continue
        keras_default = None if default is None else param.coerce(type_name, default)
        assert param.default == keras_default, (param.name, param.default, default)
