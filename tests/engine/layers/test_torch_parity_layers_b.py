"""PyTorch parity (float64) of LAYERS-B's types: forward values and the gradients of the
inputs and weights for an arbitrary upstream gradient, relative error <= 1e-4 (in practice
float64 rounding). Activations are also checked against Keras 3's own functions where
PyTorch has no counterpart (Keras 3's ``hard_sigmoid``, ``ReLU`` with a threshold)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F  # noqa: N812

import engine.layers as L  # noqa: N812
from engine import activations
from engine.autodiff.tensor import Tensor, grad

RTOL = 1e-4


def rel_error(have, want) -> float:
    have, want = np.asarray(have, np.float64), np.asarray(want, np.float64)
    return float(np.max(np.abs(have - want)) / max(np.max(np.abs(want)), 1e-12))


def _inputs(shapes, seed=0, scale=3.0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s) * scale for s in shapes]


def compare(engine_fn, torch_fn, shapes, weights=(), seed=0, scale=3.0):
    """Run ``engine_fn(*tensors, *weights)`` and ``torch_fn(*tensors, *weights)``; compare
    outputs and the gradients of every input and weight for a random upstream gradient."""
    arrays = _inputs(shapes, seed, scale) + [np.asarray(w, np.float64) for w in weights]
    mine = [Tensor(a.copy(), requires_grad=True) for a in arrays]
    out = engine_fn(*mine)
    upstream = np.random.default_rng(seed + 1).standard_normal(out.shape)
    grads = grad(out, mine, grad_output=upstream)

    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    ref = torch_fn(*theirs)
    ref.backward(torch.tensor(upstream))
    assert out.shape == tuple(ref.shape)
    assert rel_error(out.numpy(), ref.detach().numpy()) <= RTOL
    for i, (g, t) in enumerate(zip(grads, theirs, strict=True)):
        assert rel_error(g, t.grad.numpy()) <= RTOL, f"gradient of argument {i}"


def _layer(layer):
    return lambda *xs: layer(xs[0] if len(xs) == 1 else list(xs))


# -- activations --------------------------------------------------------------------------


TORCH_ACTIVATIONS = {
    "relu6": F.relu6,
    "silu": F.silu,
    "swish": F.silu,
    "hard_silu": F.hardswish,
    "hard_swish": F.hardswish,
    "hard_sigmoid": F.hardsigmoid,
    "mish": F.mish,
    "selu": F.selu,
    "softsign": F.softsign,
    "softplus": F.softplus,
    "gelu": F.gelu,
    "tanh": torch.tanh,
    "sigmoid": torch.sigmoid,
    "elu": F.elu,
}


@pytest.mark.parametrize("name", sorted(TORCH_ACTIVATIONS))
def test_activation_strings_match_torch(name):
    compare(activations.get(name), TORCH_ACTIVATIONS[name], [(4, 3, 5)])


@pytest.mark.parametrize("name", sorted(TORCH_ACTIVATIONS))
def test_activation_layer_and_dense_argument_match_torch(name):
    rng = np.random.default_rng(5)
    kernel, bias = rng.standard_normal((6, 4)), rng.standard_normal(4)
    dense = L.Dense(4, activation=name)
    dense.build((6,))

    def mine(x, k, b):
        dense.kernel, dense.bias = k, b
        return dense(x)

    compare(
        mine, lambda x, k, b: TORCH_ACTIVATIONS[name](x @ k + b), [(5, 6)], weights=(kernel, bias)
    )
    compare(_layer(L.Activation(name)), TORCH_ACTIVATIONS[name], [(2, 3, 4)])


def test_hard_sigmoid_is_keras_3s_definition():
    import keras  # noqa: PLC0415

    x = np.linspace(-5, 5, 41)
    want = np.asarray(keras.activations.hard_sigmoid(x))
    np.testing.assert_allclose(activations.hard_sigmoid(Tensor(x)).numpy(), want, atol=1e-7)
    want = np.asarray(keras.activations.hard_silu(x))
    np.testing.assert_allclose(activations.hard_silu(Tensor(x)).numpy(), want, atol=1e-6)


@pytest.mark.parametrize("approximate", [False, True])
def test_gelu_layer_matches_torch(approximate):
    compare(
        _layer(L.GELU(approximate=approximate)),
        lambda x: F.gelu(x, approximate="tanh" if approximate else "none"),
        [(3, 4, 5)],
    )


@pytest.mark.parametrize(
    "config",
    [
        {},
        {"max_value": 6.0},
        {"negative_slope": 0.1},
        {"threshold": 0.5},
        {"negative_slope": 0.2, "threshold": 0.5, "max_value": 2.0},
    ],
)
def test_relu_layer_matches_its_formula_in_torch_and_keras(config):
    slope = config.get("negative_slope", 0.0)
    ceiling = config.get("max_value")
    threshold = config.get("threshold", 0.0)

    def reference(x):
        y = torch.where(x >= threshold, x, slope * (x - threshold))
        return y if ceiling is None else torch.clamp(y, max=ceiling)

    compare(_layer(L.ReLU(**config)), reference, [(4, 10)])
    import keras  # noqa: PLC0415

    x = _inputs([(4, 10)])[0].astype(np.float32)
    want = np.asarray(keras.layers.ReLU(**config)(x).detach().cpu())
    np.testing.assert_allclose(L.ReLU(**config)(Tensor(x)).numpy(), want, rtol=1e-6)


def test_relu6_layer_is_torch_relu6():
    compare(_layer(L.ReLU(max_value=6.0)), F.relu6, [(2, 3, 4, 4)])


def test_prelu_per_channel_matches_torch():
    layer = L.PReLU(shared_axes=[2, 3])
    layer.build((3, 4, 4))
    alpha = np.random.default_rng(2).uniform(0.05, 0.5, size=(3, 1, 1))

    def mine(x, a):
        layer.alpha = a
        return layer(x)

    compare(mine, lambda x, a: F.prelu(x, a.reshape(3)), [(2, 3, 4, 4)], weights=(alpha,))
    assert layer.count_params() == 3


def test_prelu_per_value_matches_torch_formula():
    layer = L.PReLU()
    layer.build((5,))
    alpha = np.random.default_rng(3).uniform(0.0, 0.5, size=(5,))

    def mine(x, a):
        layer.alpha = a
        return layer(x)

    compare(mine, lambda x, a: torch.where(x > 0, x, a * x), [(4, 5)], weights=(alpha,))


# -- merging ------------------------------------------------------------------------------


def test_average_maximum_minimum_match_torch():
    shapes = [(4, 3, 5)] * 3
    compare(_layer(L.Average()), lambda a, b, c: (a + b + c) / 3, shapes)
    compare(_layer(L.Maximum()), lambda a, b, c: torch.maximum(torch.maximum(a, b), c), shapes)
    compare(_layer(L.Minimum()), lambda a, b, c: torch.minimum(torch.minimum(a, b), c), shapes)


@pytest.mark.parametrize(
    ("axes", "shapes", "equation"),
    [
        (-1, [(6,), (6,)], "bi,bi->b"),
        ([2, 2], [(3, 4), (5, 4)], "bxi,byi->bxy"),
        ([1, 2], [(3, 2), (4, 3)], "bix,byi->bxy"),
        ([1, 1], [(3,), (3, 2)], "bi,biy->by"),
        ([2, 1], [(2, 3), (3, 4)], "bxi,biy->bxy"),
    ],
)
@pytest.mark.parametrize("normalize", [False, True])
def test_dot_matches_torch_einsum(axes, shapes, equation, normalize):
    sample_axes = L.Dot(axes=axes).sample_axes(shapes)

    def reference(x, y):
        if normalize:
            x = F.normalize(x, dim=sample_axes[0] + 1, eps=1e-7)
            y = F.normalize(y, dim=sample_axes[1] + 1, eps=1e-7)
        out = torch.einsum(equation, x, y)
        return out.reshape(-1, 1) if out.ndim == 1 else out

    compare(_layer(L.Dot(axes=axes, normalize=normalize)), reference, [(4, *s) for s in shapes])


def test_dot_shape_errors_name_the_axes_and_a_fix():
    with pytest.raises(ValueError, match="Dot axes differ in size.*choose axes"):
        L.Dot(axes=-1).compute_output_shape([(3, 4), (3, 5)])
    with pytest.raises(ValueError, match="axis 0 is the batch axis"):
        L.Dot(axes=0)


# -- normalization ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("groups", "shape"), [(2, (4, 6, 3, 3)), (1, (3, 4, 5)), (6, (2, 6, 2, 2)), (3, (5, 6))]
)
def test_group_normalization_matches_torch_group_norm(groups, shape):
    channels = shape[1]
    layer = L.GroupNormalization(groups=groups, epsilon=1e-5)
    layer.build(shape[1:])
    rng = np.random.default_rng(4)
    gamma, beta = rng.uniform(0.5, 1.5, channels), rng.standard_normal(channels)

    def mine(x, g, b):
        layer.gamma, layer.beta = g, b
        return layer(x)

    compare(
        mine,
        lambda x, g, b: F.group_norm(x, groups, g, b, eps=1e-5),
        [shape],
        weights=(gamma, beta),
        scale=2.0,
    )


def test_group_normalization_on_the_last_axis_matches_torch():
    layer = L.GroupNormalization(groups=2, axis=-1, epsilon=1e-4, center=False)
    layer.build((5, 4))
    gamma = np.random.default_rng(6).uniform(0.5, 1.5, 4)

    def mine(x, g):
        layer.gamma = g
        return layer(x)

    def reference(x, g):
        return F.group_norm(x.transpose(1, 2), 2, g, None, eps=1e-4).transpose(1, 2)

    compare(mine, reference, [(3, 5, 4)], weights=(gamma,))


def test_group_normalization_refuses_groups_that_do_not_divide_the_channels():
    with pytest.raises(ValueError, match="cannot split 6 channels into 4 groups.*1, 2, 3, 6"):
        L.GroupNormalization(groups=4).compute_output_shape((6, 3, 3))


def test_float32_exact_gelu_fast_path_matches_torch_in_float64():
    """float32 GELU evaluates the normal CDF with a fit instead of erf: within float32
    rounding of PyTorch's float64 value and gradient (and exact where float64's
    ``1 + erf`` cancels to 0 for x < -8)."""
    x = np.concatenate([np.linspace(-8, 8, 4001), _inputs([(300_000,)], scale=3.0)[0]])
    mine = Tensor(x.astype(np.float32), requires_grad=True)
    out = activations.gelu(mine)
    assert out.dtype == np.float32
    (g,) = grad(out, [mine], grad_output=np.ones(x.shape, np.float32))
    ref = torch.tensor(x, requires_grad=True)
    F.gelu(ref).sum().backward()
    np.testing.assert_allclose(out.numpy(), F.gelu(ref).detach().numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(g, ref.grad.numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", ["relu6", "silu", "hard_silu", "mish", "selu", "gelu"])
def test_activations_on_arrays_large_enough_to_be_blocked_match_torch(name):
    """Above 4 blocks of 64 Ki values the kernels run block by block on a thread pool
    (engine.autodiff.elementwise): the same numbers as PyTorch, forward and backward."""
    compare(activations.get(name), TORCH_ACTIVATIONS[name], [(4, 70_001)])
    relu = L.ReLU(negative_slope=0.1, threshold=0.5, max_value=2.0)

    def reference(x):
        return torch.clamp(torch.where(x >= 0.5, x, 0.1 * (x - 0.5)), max=2.0)

    compare(_layer(relu), reference, [(4, 70_001)])
