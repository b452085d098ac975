"""Behaviour specific to Flatten, Reshape, Dropout, the merge layers, Embedding,
BatchNormalization and LayerNormalization (the generic contract is in test_all_layers.py).

References are plain numpy formulas written out here, independent of the engine's kernels.
"""

from __future__ import annotations

import numpy as np
import pytest

from engine import random
from engine.autodiff import ops
from engine.autodiff.tensor import Tensor, grad
from engine.layers import (
    Add,
    BatchNormalization,
    Concatenate,
    Dropout,
    Embedding,
    Flatten,
    LayerNormalization,
    Multiply,
    ParameterError,
    Reshape,
    ShapeError,
    Subtract,
)
from engine.layers.embedding import TokenIdError
from tests.engine.layers import harness

RNG = np.random.default_rng(11)


def _x(*shape, dtype=np.float32):
    return RNG.standard_normal(shape).astype(dtype)


# -- the strict array-API namespace --------------------------------------------------------------

MY_TYPES = (
    Flatten, Reshape, Dropout, Add, Subtract, Multiply, Concatenate, Embedding,
    BatchNormalization, LayerNormalization,
)  # fmt: skip


@pytest.mark.parametrize(
    ("cls", "example"),
    [
        pytest.param(cls, ex, id=f"{cls.type_name}-{i}")
        for cls in MY_TYPES
        for i, ex in enumerate(cls.examples)
    ],
)
def test_runs_on_the_strict_namespace(cls, example):
    harness.check_strict_namespace(cls, example)


# -- Flatten and Reshape -------------------------------------------------------------------------


def test_flatten_is_c_order_channels_first():
    x = _x(2, 3, 4, 5)
    out = Flatten()(x)
    assert out.shape == (2, 60)
    np.testing.assert_array_equal(out.numpy(), x.reshape(2, -1))
    np.testing.assert_array_equal(Flatten()(x[:1]).numpy(), x[:1].reshape(1, 60))


def test_reshape_infers_minus_one():
    layer = Reshape((-1, 3))
    assert layer.compute_output_shape((2, 6)) == (4, 3)
    x = _x(2, 2, 6)
    np.testing.assert_array_equal(layer(x).numpy(), x.reshape(2, 4, 3))
    assert Reshape(target_shape=[3, 4]).get_config()["target_shape"] == [3, 4]


def test_reshape_errors_name_both_shapes():
    with pytest.raises(ShapeError) as info:
        Reshape((5, 5)).compute_output_shape((6, 4))
    assert "(6, 4)" in str(info.value) and "(5, 5)" in str(info.value)
    assert "24" in info.value.fix
    with pytest.raises(ShapeError, match=r"\(7,\).*\(-1, 2\)"):
        Reshape((-1, 2)).compute_output_shape((7,))
    with pytest.raises(ParameterError, match="only one dimension may be -1"):
        Reshape((-1, -1))
    with pytest.raises(ParameterError, match="target_shape"):
        Reshape((0, 3))


# -- Dropout -------------------------------------------------------------------------------------


def test_dropout_is_identity_at_inference():
    x = _x(4, 10)
    np.testing.assert_array_equal(Dropout(0.5)(x, training=False).numpy(), x)


def test_dropout_drops_the_rate_and_rescales():
    x = np.ones((200, 500), dtype=np.float32)
    out = Dropout(0.3)(x, training=True).numpy()
    dropped = np.mean(out == 0.0)
    assert abs(dropped - 0.3) < 0.01  # 100,000 draws: the standard error is 0.0015
    np.testing.assert_allclose(out[out != 0.0], 1.0 / 0.7, rtol=1e-6)
    assert abs(out.mean() - 1.0) < 0.02  # inverted dropout keeps the expectation


def test_dropout_masks_follow_the_engine_seed():
    x = np.ones((8, 16), dtype=np.float32)
    layer = Dropout(0.5)
    random.set_random_seed(7)
    first = layer(x, training=True).numpy()
    second = layer(x, training=True).numpy()
    random.set_random_seed(7)
    again = layer(x, training=True).numpy()
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, second)  # a fresh mask each step


def test_seeded_dropout_owns_its_stream():
    x = np.ones((8, 16), dtype=np.float32)
    a, b = Dropout(0.5, seed=3), Dropout(0.5, seed=3)
    random.set_random_seed(1)
    out_a = a(x, training=True).numpy()
    random.set_random_seed(2)  # does not matter to a seeded layer
    out_b = b(x, training=True).numpy()
    np.testing.assert_array_equal(out_a, out_b)
    assert Dropout.from_config(a.get_config()).seed == 3


def test_dropout_gradient_is_the_mask():
    x = Tensor(np.ones((5, 6), dtype=np.float32), requires_grad=True)
    out = Dropout(0.5)(x, training=True)
    (g,) = grad(ops.sum_(out), [x])
    np.testing.assert_array_equal(g, out.numpy())


def test_dropout_rate_must_be_below_one():
    with pytest.raises(ParameterError, match="rate"):
        Dropout(1.0)
    with pytest.raises(ParameterError, match="rate"):
        Dropout(-0.1)
    assert Dropout(0.0)(_x(2, 3), training=True).shape == (2, 3)


# -- merging -------------------------------------------------------------------------------------


def test_add_subtract_multiply_values():
    a, b, c = _x(3, 4), _x(3, 4), _x(3, 4)
    np.testing.assert_allclose(Add()([a, b, c]).numpy(), a + b + c, rtol=1e-6)
    np.testing.assert_allclose(Subtract()([a, b]).numpy(), a - b)
    np.testing.assert_allclose(Multiply()([a, b, c]).numpy(), a * b * c, rtol=1e-6)


def test_merge_arity():
    with pytest.raises(ValueError, match="takes 2 inputs, got 3"):
        Subtract()([_x(2, 3)] * 3)
    with pytest.raises(ValueError, match="at least 2 inputs, got 1"):
        Add()([_x(2, 3)])
    assert Multiply.max_inputs is None and Add.max_inputs is None


@pytest.mark.parametrize("cls", [Add, Subtract, Multiply])
def test_merge_shapes_must_match(cls):
    with pytest.raises(ShapeError) as info:
        cls().compute_output_shape([(4, 8), (4, 6)])
    assert "(4, 8) vs (4, 6)" in str(info.value)
    assert info.value.fix


def test_concatenate_axis_counts_the_batch_axis():
    a, b = _x(2, 3, 4, 4), _x(2, 5, 4, 4)
    out = Concatenate(axis=1)([a, b])  # channels
    assert out.shape == (2, 8, 4, 4)
    np.testing.assert_array_equal(out.numpy(), np.concatenate([a, b], axis=1))
    c, d = _x(2, 3, 4), _x(2, 3, 2)
    np.testing.assert_array_equal(
        Concatenate()([c, d]).numpy(), np.concatenate([c, d], axis=-1)
    )  # the default -1 is the last axis
    assert Concatenate(axis=-2).compute_output_shape([(3, 4), (5, 4)]) == (8, 4)
    assert Concatenate(axis=2).compute_output_shape([(3, 8, 8), (3, 4, 8)]) == (3, 12, 8)


def test_concatenate_errors():
    with pytest.raises(ShapeError) as info:
        Concatenate(axis=1).compute_output_shape([(3, 8, 8), (5, 4, 4)])
    assert str(info.value).startswith("Concatenate inputs differ on axis 2: (3, 8, 8) vs (5, 4, 4)")
    assert "axis 1" in info.value.fix
    with pytest.raises(ShapeError, match="different ranks"):
        Concatenate().compute_output_shape([(3,), (3, 1)])
    with pytest.raises(ShapeError, match="axis 3 does not exist"):
        Concatenate(axis=3).compute_output_shape([(3, 1), (3, 1)])
    with pytest.raises(ParameterError, match="batch axis"):
        Concatenate(axis=0)


def test_concatenate_gradient_splits_back():
    a = Tensor(_x(2, 3), requires_grad=True)
    b = Tensor(_x(2, 1), requires_grad=True)
    weights = np.arange(8, dtype=np.float32).reshape(2, 4)
    ga, gb = grad(Concatenate()([a, b]), [a, b], grad_output=weights)
    np.testing.assert_array_equal(ga, weights[:, :3])
    np.testing.assert_array_equal(gb, weights[:, 3:])


# -- Embedding -----------------------------------------------------------------------------------


def test_embedding_looks_up_rows():
    layer = Embedding(10, 4)
    ids = np.array([[1, 9, 0], [3, 3, 2]])
    out = layer(ids)
    table = layer.get_weights()[0]
    assert table.shape == (10, 4)
    assert out.shape == (2, 3, 4)
    np.testing.assert_array_equal(out.numpy(), table[ids])
    assert np.abs(table).max() <= 0.05  # Keras's random_uniform initialiser


def test_embedding_accepts_whole_numbers_as_floats():
    layer = Embedding(5, 2)
    ids = np.array([[0, 4]])
    np.testing.assert_array_equal(
        layer(ids.astype(np.float32)).numpy(), layer.get_weights()[0][ids]
    )


def test_embedding_gradient_accumulates_repeated_tokens():
    layer = Embedding(4, 2)
    ids = np.array([[1, 1, 3], [1, 0, 3]])
    (g,) = grad(ops.sum_(layer(ids)), [layer.embeddings])
    np.testing.assert_array_equal(g, [[1, 1], [3, 3], [0, 0], [2, 2]])


def test_embedding_refuses_ids_out_of_range():
    layer = Embedding(input_dim=50, output_dim=2)
    with pytest.raises(TokenIdError) as info:
        layer(np.array([[3, 57, 12]]))
    message = str(info.value)
    assert "57" in message and "input_dim is 50" in message and "58" in message
    with pytest.raises(TokenIdError, match="-1"):
        layer(np.array([[3, -1]]))


def test_embedding_mask():
    ids = np.array([[5, 2, 0, 0]])
    np.testing.assert_array_equal(
        Embedding(6, 2, mask_zero=True).compute_mask(ids), [[True, True, False, False]]
    )
    assert Embedding(6, 2).compute_mask(ids) is None


# -- BatchNormalization --------------------------------------------------------------------------


def _bn_reference(x, gamma, beta, mean, var, eps, axis):
    shape = [1] * x.ndim
    shape[axis] = -1
    r = lambda v: v.reshape(shape)  # noqa: E731
    return (x - r(mean)) / np.sqrt(r(var) + eps) * r(gamma) + r(beta)


def _set_bn(layer, size, rng):
    gamma, beta = rng.uniform(0.5, 2.0, size), rng.standard_normal(size)
    mean, var = rng.standard_normal(size), rng.uniform(0.5, 2.0, size)
    layer.set_weights([gamma, beta, mean, var])
    return [w.astype(np.float64) for w in layer.get_weights()]


def test_batch_norm_training_uses_batch_statistics_and_updates_moving_ones():
    rng = np.random.default_rng(0)
    x = (rng.standard_normal((16, 3, 4, 4)) * 3 + 1).astype(np.float32)
    layer = BatchNormalization(momentum=0.9)
    layer.build((3, 4, 4))
    gamma, beta, moving_mean, moving_var = _set_bn(layer, 3, rng)
    out = layer(x, training=True).numpy()

    xd = x.astype(np.float64)
    batch_mean = xd.mean(axis=(0, 2, 3))
    batch_var = xd.var(axis=(0, 2, 3))  # biased, as Keras
    want = _bn_reference(xd, gamma, beta, batch_mean, batch_var, 1e-3, 1)
    np.testing.assert_allclose(out, want, rtol=1e-4, atol=1e-5)
    _, _, new_mean, new_var = layer.get_weights()
    np.testing.assert_allclose(new_mean, 0.9 * moving_mean + 0.1 * batch_mean, rtol=1e-5)
    np.testing.assert_allclose(new_var, 0.9 * moving_var + 0.1 * batch_var, rtol=1e-5)


def test_batch_norm_inference_uses_moving_statistics():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((5, 4)).astype(np.float32)
    layer = BatchNormalization()
    layer.build((4,))
    weights = _set_bn(layer, 4, rng)
    out = layer(x, training=False).numpy()
    np.testing.assert_allclose(out, _bn_reference(x, *weights, 1e-3, 1), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(layer.get_weights()[2], weights[2].astype(np.float32))


def test_frozen_batch_norm_runs_in_inference_mode():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((6, 3)).astype(np.float32)
    layer = BatchNormalization()
    layer.build((3,))
    weights = _set_bn(layer, 3, rng)
    layer.trainable = False
    out = layer(x, training=True).numpy()
    np.testing.assert_allclose(out, _bn_reference(x, *weights, 1e-3, 1), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(layer.get_weights()[2], weights[2].astype(np.float32))
    assert layer.trainable_weights == []


def test_batch_norm_axis_rule():
    # axis=1: channels of images, features of vectors, time steps of sequences.
    assert BatchNormalization().weight_specs((3, 8, 8))[0].shape == (3,)
    assert BatchNormalization().weight_specs((5,))[0].shape == (5,)
    assert BatchNormalization().weight_specs((7, 2))[0].shape == (7,)
    assert BatchNormalization(axis=-1).weight_specs((7, 2))[0].shape == (2,)
    with pytest.raises(ParameterError, match="batch axis"):
        BatchNormalization(axis=0)
    with pytest.raises(ShapeError, match="axis 3 does not exist"):
        BatchNormalization(axis=3).compute_output_shape((4,))


def test_batch_norm_sequence_features_with_axis_minus_one():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((4, 5, 3)).astype(np.float32)
    layer = BatchNormalization(axis=-1, center=False, scale=False)
    out = layer(x, training=True).numpy()
    xd = x.astype(np.float64)
    want = (xd - xd.mean(axis=(0, 1))) / np.sqrt(xd.var(axis=(0, 1)) + 1e-3)
    np.testing.assert_allclose(out, want, rtol=1e-4, atol=1e-5)
    assert [v.name.split("/")[-1] for v in layer.weights] == ["moving_mean", "moving_variance"]


def test_batch_norm_weight_order_and_defaults():
    layer = BatchNormalization()
    layer.build((2, 3, 3))
    names = [v.name.split("/")[-1] for v in layer.weights]
    assert names == ["gamma", "beta", "moving_mean", "moving_variance"]
    assert [v.trainable for v in layer.weights] == [True, True, False, False]
    gamma, beta, mean, var = layer.get_weights()
    assert (gamma == 1).all() and (beta == 0).all() and (mean == 0).all() and (var == 1).all()
    assert layer.momentum == 0.99 and layer.epsilon == 1e-3
    assert BatchNormalization(scale=False).weight_specs((4,))[0].name == "beta"


# -- LayerNormalization --------------------------------------------------------------------------


def test_layer_norm_matches_the_formula():
    rng = np.random.default_rng(4)
    x = (rng.standard_normal((3, 5, 6)) * 2 + 3).astype(np.float32)
    layer = LayerNormalization()
    layer.build((5, 6))
    gamma, beta = rng.uniform(0.5, 2.0, 6), rng.standard_normal(6)
    layer.set_weights([gamma, beta])
    xd = x.astype(np.float64)
    mean, var = xd.mean(axis=-1, keepdims=True), xd.var(axis=-1, keepdims=True)
    want = (xd - mean) / np.sqrt(var + 1e-3) * gamma + beta
    for training in (False, True):
        np.testing.assert_allclose(layer(x, training=training).numpy(), want, rtol=1e-4, atol=1e-5)


def test_layer_norm_over_channels():
    x = _x(2, 3, 4, 4)
    out = LayerNormalization(axis=1, center=False, scale=False)(x).numpy()
    xd = x.astype(np.float64)
    want = (xd - xd.mean(axis=1, keepdims=True)) / np.sqrt(xd.var(axis=1, keepdims=True) + 1e-3)
    np.testing.assert_allclose(out, want, rtol=1e-4, atol=1e-5)
    assert LayerNormalization(axis=1).weight_specs((3, 4, 4))[0].shape == (3,)
    with pytest.raises(ParameterError, match="batch axis"):
        LayerNormalization(axis=0)
