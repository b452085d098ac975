"""The training-only layers of LAYERS-B: channel dropout, Gaussian noise and dropout, and the
activity penalty. Their randomness is checked by its structure and statistics (no two
libraries draw the same numbers), their gradients against the mask or noise actually used,
and ``ActivityRegularization``'s penalty against Keras 3's ``model.losses``."""

from __future__ import annotations

import numpy as np
import pytest

import engine.layers as L  # noqa: N812
from engine import random
from engine.autodiff.tensor import Tensor, grad


def _run(layer, x, training=True):
    tensor = Tensor(x, requires_grad=True)
    out = layer(tensor, training=training)
    (g,) = grad(out, [tensor], grad_output=np.ones(out.shape, x.dtype))
    return out.numpy(), np.asarray(g)


@pytest.mark.parametrize(
    ("layer", "shape", "mask_axes"),
    [
        (L.SpatialDropout2D(rate=0.4), (64, 16, 5, 5), (2, 3)),
        (L.SpatialDropout1D(rate=0.4), (64, 7, 16), (1,)),
    ],
)
def test_spatial_dropout_drops_whole_channels_in_training_only(layer, shape, mask_axes):
    random.set_random_seed(1)
    x = np.random.default_rng(0).uniform(1.0, 2.0, size=shape).astype(np.float32)
    out, g = _run(layer, x)
    factor = out / x
    # One factor per (sample, channel): 0 (dropped) or 1 / (1 - rate) (kept), never mixed.
    spread = factor.max(axis=mask_axes) - factor.min(axis=mask_axes)
    assert np.all(spread < 1e-6)
    kept = np.isclose(factor, 1 / 0.6)
    assert np.all(kept | (factor == 0))
    assert abs(1 - kept.mean() - 0.4) < 0.05  # about rate of the channels dropped
    np.testing.assert_allclose(g, factor, rtol=1e-6)  # the gradient is the mask
    np.testing.assert_array_equal(layer(Tensor(x), training=False).numpy(), x)


def test_spatial_dropout_2d_refuses_a_flat_input_with_a_fix():
    with pytest.raises(ValueError, match="expects inputs of shape.*use Dropout"):
        L.SpatialDropout2D(rate=0.5).compute_output_shape((8,))


def test_gaussian_noise_statistics_and_identity_gradient():
    random.set_random_seed(2)
    x = np.random.default_rng(1).standard_normal((200, 50)).astype(np.float32)
    out, g = _run(L.GaussianNoise(stddev=0.3), x)
    noise = out - x
    assert abs(noise.mean()) < 0.01 and abs(noise.std() - 0.3) < 0.01
    np.testing.assert_array_equal(g, np.ones_like(x))
    np.testing.assert_array_equal(L.GaussianNoise(0.3)(Tensor(x)).numpy(), x)


def test_gaussian_dropout_statistics_and_gradient():
    random.set_random_seed(3)
    x = np.random.default_rng(2).uniform(1.0, 2.0, size=(200, 50)).astype(np.float32)
    out, g = _run(L.GaussianDropout(rate=0.2), x)
    factor = out / x
    assert abs(factor.mean() - 1) < 0.01 and abs(factor.std() - np.sqrt(0.2 / 0.8)) < 0.01
    np.testing.assert_allclose(g, factor, rtol=1e-5)
    np.testing.assert_array_equal(L.GaussianDropout(0.2)(Tensor(x)).numpy(), x)


def test_a_seeded_noise_layer_repeats_its_stream_whatever_else_draws():
    x = np.zeros((4, 6), np.float32)
    first = L.GaussianNoise(1.0, seed=7)(Tensor(x), training=True).numpy()
    random.generator().random(100)  # others drawing from the shared stream change nothing
    second = L.GaussianNoise(1.0, seed=7)(Tensor(x), training=True).numpy()
    np.testing.assert_array_equal(first, second)
    assert np.any(first != 0)


def test_activity_regularization_penalty_matches_keras():
    import keras  # noqa: PLC0415

    x = np.random.default_rng(4).standard_normal((3, 4)).astype(np.float32)
    inputs = keras.Input((4,))
    model = keras.Model(inputs, keras.layers.ActivityRegularization(l1=0.01, l2=0.02)(inputs))
    model(x)
    want = float(model.losses[0])
    layer = L.ActivityRegularization(l1=0.01, l2=0.02)
    out = layer(Tensor(x))
    np.testing.assert_array_equal(out.numpy(), x)
    (penalty,) = layer.losses
    assert penalty.item() == pytest.approx(want, rel=1e-5)
    unpenalised = L.ActivityRegularization()
    unpenalised(Tensor(x))
    assert unpenalised.losses == []
