"""Conv2D and the pooling layers: shape inference (TensorFlow's formulas), the errors a user
sees, weights and counts (Keras's known numbers), forward values against naive loops, and
the strict array-API namespace. The generic harness covers the rest through ``examples``."""

from __future__ import annotations

import math

import numpy as np
import pytest

from engine.autodiff.tensor import Tensor
from engine.layers import (
    AveragePooling2D,
    Conv2D,
    Dense,
    Flatten,
    GlobalAveragePooling2D,
    GlobalMaxPooling2D,
    MaxPooling2D,
    ParameterError,
    ShapeError,
)
from tests.engine.autodiff.test_kernels_conv import naive_conv, naive_pool
from tests.engine.layers import harness

# -- Conv2D -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("config", "input_shape", "expected"),
    [
        ({"filters": 32, "kernel_size": 3, "padding": "same"}, (1, 28, 28), (32, 28, 28)),
        ({"filters": 8, "kernel_size": 3}, (1, 28, 28), (8, 26, 26)),
        ({"filters": 4, "kernel_size": 3, "strides": 2, "padding": "same"}, (3, 7, 8), (4, 4, 4)),
        ({"filters": 4, "kernel_size": 3, "strides": 2}, (3, 7, 8), (4, 3, 3)),
        ({"filters": 2, "kernel_size": (1, 5)}, (1, 4, 5), (2, 4, 1)),
        ({"filters": 2, "kernel_size": 3, "dilation_rate": 2}, (1, 7, 9), (2, 3, 5)),
        (
            {"filters": 2, "kernel_size": 3, "dilation_rate": 2, "padding": "same"},
            (1, 7, 9),
            (2, 7, 9),
        ),
        ({"filters": 5, "kernel_size": 4, "strides": 3, "padding": "same"}, (2, 10, 2), (5, 4, 1)),
    ],
)
def test_conv2d_output_shape(config, input_shape, expected):
    layer = Conv2D(**config)
    assert layer.compute_output_shape(input_shape) == expected
    x = np.random.default_rng(0).standard_normal((2, *input_shape)).astype(np.float32)
    assert layer(Tensor(x)).shape == (2, *expected)


def test_conv2d_same_padding_is_ceil_of_size_over_stride():
    for size in range(1, 10):
        for stride in (1, 2, 3):
            layer = Conv2D(1, 3, strides=stride, padding="same")
            shape = layer.compute_output_shape((1, size, size + 1))
            assert shape == (1, math.ceil(size / stride), math.ceil((size + 1) / stride))


def test_conv2d_explicit_pads_put_the_odd_row_at_the_bottom():
    assert Conv2D(1, 3, strides=2, padding="same").explicit_pads((6, 7)) == ((0, 1), (1, 1))
    assert Conv2D(1, 2, padding="same").explicit_pads((5, 5)) == ((0, 1), (0, 1))
    assert Conv2D(1, 3).explicit_pads((5, 5)) == ((0, 0), (0, 0))


@pytest.mark.parametrize("shape", [(64,), (8, 8), (1, 2, 3, 4)])
def test_conv2d_rejects_non_images(shape):
    with pytest.raises(ShapeError) as info:
        Conv2D(4, 3).compute_output_shape(shape)
    assert info.value.message == (f"Conv2D expects an image (channels, height, width), got {shape}")
    assert info.value.fix == "insert Reshape"
    assert str(info.value) == (
        f"Conv2D expects an image (channels, height, width), got {shape}: insert Reshape"
    )


def test_conv2d_kernel_too_large():
    with pytest.raises(ShapeError) as info:
        Conv2D(4, 5).compute_output_shape((1, 3, 3))
    assert str(info.value) == (
        "kernel 5x5 does not fit in 3x3 input with padding='valid': "
        "use padding='same' or a smaller kernel_size"
    )
    with pytest.raises(ShapeError, match="spanning 5x5 with dilation"):
        Conv2D(4, 3, dilation_rate=2).compute_output_shape((1, 4, 9))
    # "same" always fits.
    assert Conv2D(4, 5, padding="same").compute_output_shape((1, 3, 3)) == (4, 3, 3)


@pytest.mark.parametrize(
    "config",
    [
        {"filters": 0, "kernel_size": 3},
        {"filters": 2, "kernel_size": (3, 3, 3)},
        {"filters": 2, "kernel_size": 0},
        {"filters": 2, "kernel_size": 3, "strides": 0},
        {"filters": 2, "kernel_size": 3, "padding": "full"},
        {"filters": 2, "kernel_size": 3, "activation": "swish-ish"},
        {"filters": 2, "kernel_size": 3, "data_format": "channels_last"},
    ],
)
def test_conv2d_rejects_bad_parameters(config):
    with pytest.raises(ParameterError):
        Conv2D(**config)


def test_conv2d_keras_positional_arguments_and_defaults():
    layer = Conv2D(16, 3)
    assert layer.filters == 16 and layer.kernel_size == (3, 3)
    assert layer.strides == (1, 1) and layer.padding == "valid"
    assert layer.dilation_rate == (1, 1) and layer.activation == "linear"
    assert layer.use_bias and layer.kernel_initializer == "glorot_uniform"


def test_reference_cnn_parameter_counts_match_keras():
    # Keras's model.summary() for this CNN: 320, 18,496, 401,536 and 1,290 parameters.
    shape = (1, 28, 28)
    counts = []
    for layer in [
        Conv2D(32, 3, padding="same", activation="relu"),
        MaxPooling2D(2),
        Conv2D(64, 3, padding="same", activation="relu"),
        MaxPooling2D(2),
        Flatten(),
        Dense(128, activation="relu"),
        Dense(10),
    ]:
        counts.append(layer.count_params(shape))
        shape = layer.compute_output_shape(shape)
    assert counts == [320, 0, 18496, 0, 0, 401536, 1290]
    assert shape == (10,)


def test_conv2d_weights_layout_and_fans():
    layer = Conv2D(6, (3, 2), use_bias=False)
    (spec,) = layer.weight_specs((4, 5, 5))
    assert spec.name == "kernel" and spec.shape == (6, 4, 3, 2)
    assert (spec.fan_in, spec.fan_out) == (4 * 3 * 2, 6 * 3 * 2)
    specs = Conv2D(6, 3).weight_specs((4, 5, 5))
    assert [(s.name, s.shape, s.initializer) for s in specs][1] == ("bias", (6,), "zeros")
    # Glorot-uniform bound for a conv kernel: sqrt(6 / (fan_in + fan_out)).
    layer = Conv2D(64, 3)
    layer.build((32, 8, 8))
    kernel = layer.get_weights()[0]
    limit = math.sqrt(6.0 / (32 * 9 + 64 * 9))
    assert np.abs(kernel).max() <= limit and np.abs(kernel).max() > 0.9 * limit


def test_conv2d_flops():
    # 2 * (C * kh * kw) per output value, plus the bias add.
    assert Conv2D(32, 3, padding="same").flops((1, 28, 28)) == 32 * 28 * 28 * (2 * 9 + 1)
    assert Conv2D(4, 2, use_bias=False).flops((3, 5, 5)) == 4 * 4 * 4 * 2 * 12


@pytest.mark.parametrize(
    "config",
    [
        {"filters": 3, "kernel_size": 3, "padding": "same", "activation": "relu"},
        {"filters": 2, "kernel_size": (2, 3), "strides": (2, 1), "activation": "tanh"},
        {"filters": 2, "kernel_size": 2, "dilation_rate": 2, "use_bias": False},
    ],
)
def test_conv2d_forward_matches_naive_loops(config):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 6, 7)).astype(np.float32)
    layer = Conv2D(**config)
    layer.build(x.shape[1:])
    weights = [rng.standard_normal(w.shape).astype(np.float32) for w in layer.get_weights()]
    layer.set_weights(weights)
    got = layer(Tensor(x)).numpy()
    bias = weights[1].astype(np.float64) if layer.use_bias else None
    pads = layer.explicit_pads(x.shape[2:])
    want = naive_conv(
        x.astype(np.float64), weights[0], bias, layer.strides, pads, layer.dilation_rate
    )
    activation = {"relu": lambda v: np.maximum(v, 0), "tanh": np.tanh, "linear": lambda v: v}
    want = activation[layer.activation](want)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


# -- pooling ----------------------------------------------------------------------------------


@pytest.mark.parametrize("cls", [MaxPooling2D, AveragePooling2D])
@pytest.mark.parametrize(
    ("config", "input_shape", "expected"),
    [
        ({}, (32, 28, 28), (32, 14, 14)),
        ({}, (3, 7, 5), (3, 3, 2)),
        ({"padding": "same"}, (3, 7, 5), (3, 4, 3)),
        ({"pool_size": 3, "strides": 2}, (2, 7, 8), (2, 3, 3)),
        ({"pool_size": 3, "strides": 2, "padding": "same"}, (2, 7, 8), (2, 4, 4)),
        ({"pool_size": (1, 2), "strides": 1}, (1, 3, 3), (1, 3, 2)),
    ],
)
def test_pooling_output_shape(cls, config, input_shape, expected):
    layer = cls(**config)
    assert layer.compute_output_shape(input_shape) == expected
    x = np.random.default_rng(0).standard_normal((2, *input_shape)).astype(np.float32)
    assert layer(Tensor(x)).shape == (2, *expected)


def test_pooling_strides_default_to_pool_size():
    assert MaxPooling2D(3).window_strides == (3, 3)
    assert MaxPooling2D((2, 3), strides=1).window_strides == (1, 1)
    layer = AveragePooling2D(2)
    assert layer.get_config()["strides"] is None  # kept as given: Keras's config
    assert AveragePooling2D.from_config(layer.get_config()).window_strides == (2, 2)


@pytest.mark.parametrize("cls", [MaxPooling2D, AveragePooling2D])
def test_pooling_errors(cls):
    name = cls.type_name
    with pytest.raises(ShapeError) as info:
        cls().compute_output_shape((64,))
    assert str(info.value) == (
        f"{name} expects an image (channels, height, width), got (64,): insert Reshape"
    )
    with pytest.raises(ShapeError) as info:
        cls(3).compute_output_shape((1, 2, 5))
    assert str(info.value) == (
        "pool 3x3 does not fit in 2x5 input with padding='valid': "
        "use padding='same' or a smaller pool_size"
    )
    with pytest.raises(ParameterError):
        cls(pool_size=0)


@pytest.mark.parametrize(("cls", "reduce"), [(MaxPooling2D, np.max), (AveragePooling2D, np.mean)])
@pytest.mark.parametrize(
    "config",
    [{}, {"padding": "same"}, {"pool_size": 3, "strides": 2, "padding": "same"}],
)
def test_pooling_forward_matches_naive_loops(cls, reduce, config):
    x = np.random.default_rng(1).standard_normal((2, 3, 7, 6)).astype(np.float32)
    layer = cls(**config)
    pads = layer.explicit_pads(x.shape[2:])
    want = naive_pool(x.astype(np.float64), layer.pool_size, layer.window_strides, pads, reduce)
    np.testing.assert_allclose(layer(Tensor(x)).numpy(), want, rtol=1e-6, atol=1e-6)


def test_pooling_flops():
    assert MaxPooling2D().flops((32, 28, 28)) == 32 * 14 * 14 * 4
    assert GlobalAveragePooling2D().flops((8, 4, 5)) == 8 * 20


@pytest.mark.parametrize(
    ("cls", "reduce"), [(GlobalAveragePooling2D, np.mean), (GlobalMaxPooling2D, np.max)]
)
def test_global_pooling(cls, reduce):
    x = np.random.default_rng(2).standard_normal((3, 4, 5, 6)).astype(np.float32)
    assert cls().compute_output_shape((4, 5, 6)) == (4,)
    assert cls(keepdims=True).compute_output_shape((4, 5, 6)) == (4, 1, 1)
    np.testing.assert_allclose(cls()(Tensor(x)).numpy(), reduce(x, axis=(2, 3)), rtol=1e-6)
    kept = cls(keepdims=True)(Tensor(x)).numpy()
    np.testing.assert_allclose(kept, reduce(x, axis=(2, 3), keepdims=True), rtol=1e-6)
    with pytest.raises(ShapeError, match=r"got \(4, 5\): insert Reshape"):
        cls().compute_output_shape((4, 5))


# -- every example also runs under the strict array-API namespace ------------------------------

STRICT_CASES = [
    pytest.param(cls, example, id=f"{cls.type_name}-{i}")
    for cls in (
        Conv2D,
        MaxPooling2D,
        AveragePooling2D,
        GlobalAveragePooling2D,
        GlobalMaxPooling2D,
    )
    for i, example in enumerate(cls.examples)
]


@pytest.mark.parametrize(("cls", "example"), STRICT_CASES)
def test_examples_under_the_strict_namespace(cls, example):
    harness.check_strict_namespace(cls, example)
