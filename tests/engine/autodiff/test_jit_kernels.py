"""The optional compiled kernels (engine.autodiff.jit, C built at first use) against the numpy
formulas they replace and against PyTorch: the same values both ways, so a machine without a
C compiler trains to the same numbers.

CI's machine has a C compiler, so these run compiled there; ``jit.disabled()`` is the numpy
way.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch
import torch.nn.functional as F  # noqa: N812

from engine.autodiff import jit
from engine.autodiff import kernels_activation as K
from engine.autodiff.tensor import Tensor

EDGES = [-np.inf, -1e30, -6.0, -3.0, -2.9999998, -0.0, 0.0, 2.9999998, 3.0, 6.0, 1e30, np.inf]


def test_the_compiled_kernels_are_on_in_the_dev_environment():
    # The development machines and CI have a C compiler: the compiled path must be
    # exercised there, not silently skipped after a failed build.
    assert jit.enabled() or os.environ.get(jit.ENV) == "0"
    with jit.disabled():
        assert not jit.enabled()


def test_the_environment_switch_turns_them_off(monkeypatch):
    monkeypatch.setenv(jit.ENV, "0")
    assert not jit.enabled()


def _both_ways(run):
    compiled = run()
    with jit.disabled():
        reference = run()
    return compiled, reference


def _bits(a):
    return a.view(np.uint32 if a.dtype == np.float32 else np.uint64)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", ["hard_sigmoid", "hard_silu"])
def test_activations_give_the_numpy_formulas_bits(name, dtype):
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.standard_normal(50_000) * 4, EDGES, [np.nan]]).astype(dtype)
    g = rng.standard_normal(x.size).astype(dtype)
    fn = getattr(K, name)

    def run():
        tensor = Tensor(x, requires_grad=True)
        with np.errstate(invalid="ignore"):  # hard_silu(-inf) is 0 * -inf = NaN both ways
            out = fn(tensor)
            return out.numpy(), out._vjp(g)[0]

    (out, dx), (want_out, want_dx) = _both_ways(run)
    assert out.dtype == dtype and dx.dtype == dtype
    np.testing.assert_array_equal(_bits(out), _bits(want_out))
    np.testing.assert_array_equal(_bits(dx), _bits(want_dx))


@pytest.mark.parametrize(
    "name,reference", [("hard_sigmoid", F.hardsigmoid), ("hard_silu", F.hardswish)]
)
def test_compiled_activations_match_torch_away_from_the_kinks(name, reference):
    rng = np.random.default_rng(1)
    x = rng.uniform(-8, 8, (4, 3, 17, 19))
    x = x[np.abs(np.abs(x) - 3) > 1e-3]  # PyTorch's hardswish takes x/3 + 1/2 at exactly 3
    g = rng.standard_normal(x.shape)
    tensor = Tensor(x, requires_grad=True)
    out = getattr(K, name)(tensor)
    tx = torch.tensor(x, requires_grad=True)
    ty = reference(tx)
    ty.backward(torch.tensor(g))
    # PyTorch's hardsigmoid backward multiplies by a float32 1/6 (rel 3e-8 off in float64).
    np.testing.assert_allclose(out.numpy(), ty.detach().numpy(), rtol=1e-7, atol=1e-12)
    np.testing.assert_allclose(out._vjp(g)[0], tx.grad.numpy(), rtol=1e-7, atol=1e-12)


@pytest.mark.parametrize("normalized", [False, True])
def test_a_cnn_trains_the_same_with_and_without_the_compiled_kernels(normalized):
    # Without normalisation every compiled kernel gives numpy's bits: the same weights. A
    # batch norm sums in another order (float64 against numpy's float32 pairwise sums):
    # the same training to rounding.
    import engine  # noqa: PLC0415
    from engine import layers  # noqa: PLC0415

    rng = np.random.default_rng(4)
    x = rng.standard_normal((64, 1, 12, 12)).astype(np.float32)
    y = (x[:, 0, :6].mean(axis=(1, 2)) > 0).astype(np.int64)

    def train():
        engine.set_random_seed(0)
        # Before a batch norm a bias gets no gradient (the norm takes the mean out): its
        # values would be rounding noise, so the normalised model's convolution has none.
        conv = layers.Conv2D(4, 3, padding="same", use_bias=not normalized)
        stack = [engine.Input((1, 12, 12)), conv]
        stack += [layers.BatchNormalization()] if normalized else []
        stack += [layers.Activation("hard_silu")]
        stack += [layers.GroupNormalization(groups=2)] if normalized else []
        stack += [
            layers.ReLU(),
            layers.MaxPooling2D(2),
            layers.Flatten(),
            layers.Dense(2),
        ]
        model = engine.Sequential(stack)
        model.compile(
            optimizer="adam",
            loss=engine.losses.SparseCategoricalCrossentropy(from_logits=True),
        )
        history = model.fit(x, y, batch_size=16, epochs=2, verbose=0, seed=1)
        return history.history["loss"], [w.numpy() for w in model.weights]

    (losses, weights), (want_losses, want_weights) = _both_ways(train)
    if not normalized:
        assert losses == want_losses
        for a, b in zip(weights, want_weights, strict=True):
            np.testing.assert_array_equal(a, b)
    else:
        np.testing.assert_allclose(losses, want_losses, rtol=1e-4)
        for a, b in zip(weights, want_weights, strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-4)


@pytest.mark.parametrize("shape", [(16, 8, 6, 5), (32, 7)])
@pytest.mark.parametrize("affine", [(True, True), (False, True), (True, False), (False, False)])
def test_batch_norm_compiled_and_numpy_match_torch(shape, affine):
    from engine.autodiff import kernels_norm  # noqa: PLC0415

    rng = np.random.default_rng(5)
    x = rng.standard_normal(shape) * 3 + 7  # an offset mean: the variance must not cancel
    g = rng.standard_normal(shape)
    c = shape[1]
    gamma = rng.standard_normal(c) if affine[0] else None
    beta = rng.standard_normal(c) if affine[1] else None
    tx = torch.tensor(x, requires_grad=True)
    tw = torch.tensor(gamma if gamma is not None else np.ones(c), requires_grad=True)
    tb = torch.tensor(beta if beta is not None else np.zeros(c), requires_grad=True)
    ty = F.batch_norm(tx, None, None, tw, tb, training=True, eps=1e-3)
    ty.backward(torch.tensor(g))

    def run():
        tensors = [Tensor(a, requires_grad=True) if a is not None else None for a in (gamma, beta)]
        y, mean, variance = kernels_norm.batch_norm(
            Tensor(x, requires_grad=True), *tensors, 1, 1e-3
        )
        return y.numpy(), mean, variance, y._vjp(g)

    for y, mean, variance, grads in _both_ways(run):
        np.testing.assert_allclose(y, ty.detach().numpy(), rtol=1e-10, atol=1e-10)
        axes = (0, *range(2, len(shape)))
        np.testing.assert_allclose(mean, x.mean(axis=axes), rtol=1e-12)
        np.testing.assert_allclose(variance, x.var(axis=axes), rtol=1e-10)
        want = [tx.grad] + [t.grad for t, a in ((tw, gamma), (tb, beta)) if a is not None]
        assert len(grads) == len(want)
        for mine, theirs in zip(grads, want, strict=True):
            np.testing.assert_allclose(mine, theirs.numpy(), rtol=1e-9, atol=1e-10)


def test_batch_norm_float32_compiled_agrees_with_numpy_to_rounding():
    from engine.autodiff import kernels_norm  # noqa: PLC0415

    rng = np.random.default_rng(6)
    x = (rng.standard_normal((32, 16, 12, 12)) * 2 + 50).astype(np.float32)
    g = rng.standard_normal(x.shape).astype(np.float32)
    gamma, beta = (rng.standard_normal(16).astype(np.float32) for _ in range(2))

    def run():
        params = [Tensor(gamma, requires_grad=True), Tensor(beta, requires_grad=True)]
        y, mean, variance = kernels_norm.batch_norm(Tensor(x, requires_grad=True), *params, 1, 1e-3)
        return (y.numpy(), mean, variance, *y._vjp(g))

    compiled, reference = _both_ways(run)
    for mine, theirs in zip(compiled, reference, strict=True):
        assert mine.dtype == np.float32 and mine.shape == theirs.shape
        scale = float(np.max(np.abs(theirs)))
        assert float(np.max(np.abs(mine - theirs))) <= 2e-5 * scale


def test_batch_norm_compiled_float64_matches_finite_differences():
    from engine.autodiff import kernels_norm  # noqa: PLC0415

    rng = np.random.default_rng(7)
    x = rng.standard_normal((4, 3, 5, 2))
    g = rng.standard_normal(x.shape)
    gamma = Tensor(rng.standard_normal(3), requires_grad=True)
    beta = Tensor(rng.standard_normal(3), requires_grad=True)

    def loss(data):
        y = kernels_norm.batch_norm(Tensor(data), gamma, beta, 1, 1e-3)[0]
        return float(np.sum(y.numpy() * g))

    y = kernels_norm.batch_norm(Tensor(x, requires_grad=True), gamma, beta, 1, 1e-3)[0]
    dx = y._vjp(g)[0]
    h = 1e-6
    for probe in [(0, 0, 0, 0), (3, 2, 4, 1), (1, 1, 2, 0)]:
        plus, minus = x.copy(), x.copy()
        plus[probe] += h
        minus[probe] -= h
        assert abs((loss(plus) - loss(minus)) / (2 * h) - dx[probe]) < 1e-6


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_relu_gives_the_numpy_paths_bits(dtype):
    from engine.autodiff import ops  # noqa: PLC0415

    rng = np.random.default_rng(8)
    x = np.concatenate([rng.standard_normal(40_000), EDGES]).astype(dtype)
    g = np.concatenate([rng.standard_normal(40_000), EDGES[::-1]]).astype(dtype)

    def run():
        out = ops.relu(Tensor(x, requires_grad=True))
        with np.errstate(invalid="ignore"):  # inf * 0 where the input was not positive
            return out.numpy(), out._vjp(g)[0]

    (out, dx), (want_out, want_dx) = _both_ways(run)
    np.testing.assert_array_equal(_bits(out), _bits(want_out))
    np.testing.assert_array_equal(_bits(dx), _bits(want_dx))
    np.testing.assert_array_equal(out, np.maximum(x, 0))


def test_relu_grad_writes_into_a_given_array_even_a_strided_one():
    from engine.autodiff import jit_activations  # noqa: PLC0415

    rng = np.random.default_rng(9)
    relu_out = np.maximum(rng.standard_normal((6, 5)), 0)
    g = rng.standard_normal((6, 5))
    want = g * (relu_out > 0)
    dense = np.empty((6, 5))
    assert jit_activations.relu_grad(relu_out, g, out=dense) is dense
    np.testing.assert_array_equal(dense, want)
    strided = np.empty((6, 10))[:, ::2]
    jit_activations.relu_grad(relu_out, g, out=strided)
    np.testing.assert_array_equal(strided, want)


def test_a_conv_with_its_relu_fused_gives_the_same_gradients_both_ways():
    from engine.autodiff import kernels_conv  # noqa: PLC0415

    rng = np.random.default_rng(10)
    x = rng.standard_normal((9, 3, 10, 10)).astype(np.float32)
    w = rng.standard_normal((8, 3, 3, 3)).astype(np.float32)
    b = rng.standard_normal(8).astype(np.float32)
    g = rng.standard_normal((9, 8, 10, 10)).astype(np.float32)

    def run():
        tensors = [Tensor(a, requires_grad=True) for a in (x, w, b)]
        out = kernels_conv.conv2d(*tensors, padding="same", relu=True)
        return (out.numpy(), *out._vjp(g))

    for mine, theirs in zip(*_both_ways(run), strict=True):
        np.testing.assert_array_equal(mine, theirs)


@pytest.mark.parametrize("shape,groups", [((4, 6, 5, 3), 3), ((3, 8, 7), 2), ((2, 4, 3, 3), 4)])
@pytest.mark.parametrize("affine", [True, False])
def test_group_norm_compiled_and_numpy_match_torch(shape, groups, affine):
    from engine.autodiff import kernels_group_norm  # noqa: PLC0415

    rng = np.random.default_rng(11)
    x = rng.standard_normal(shape) * 2 + 4
    g = rng.standard_normal(shape)
    c = shape[1]
    gamma = rng.standard_normal(c) if affine else np.ones(c)
    beta = rng.standard_normal(c) if affine else np.zeros(c)
    tx = torch.tensor(x, requires_grad=True)
    tw = torch.tensor(gamma, requires_grad=True)
    tb = torch.tensor(beta, requires_grad=True)
    ty = F.group_norm(tx, groups, tw, tb, eps=1e-5)
    ty.backward(torch.tensor(g))

    def run():
        params = [Tensor(gamma, requires_grad=True), Tensor(beta, requires_grad=True)]
        if not affine:
            params = [None, None]
        out = kernels_group_norm.group_norm(Tensor(x, requires_grad=True), *params, groups, 1e-5)
        return out.numpy(), out._vjp(g)

    for y, grads in _both_ways(run):
        np.testing.assert_allclose(y, ty.detach().numpy(), rtol=1e-10, atol=1e-10)
        want = [tx.grad, tw.grad, tb.grad] if affine else [tx.grad]
        assert len(grads) == len(want)
        for mine, theirs in zip(grads, want, strict=True):
            np.testing.assert_allclose(mine, theirs.numpy(), rtol=1e-9, atol=1e-10)


def test_group_norm_float32_compiled_agrees_with_numpy_to_rounding():
    from engine.autodiff import kernels_group_norm  # noqa: PLC0415

    rng = np.random.default_rng(12)
    x = (rng.standard_normal((16, 32, 9, 9)) * 2 + 30).astype(np.float32)
    g = rng.standard_normal(x.shape).astype(np.float32)
    gamma, beta = (rng.standard_normal(32).astype(np.float32) for _ in range(2))

    def run():
        params = [Tensor(gamma, requires_grad=True), Tensor(beta, requires_grad=True)]
        out = kernels_group_norm.group_norm(Tensor(x, requires_grad=True), *params, 8, 1e-5)
        return (out.numpy(), *out._vjp(g))

    for mine, theirs in zip(*_both_ways(run), strict=True):
        assert mine.dtype == np.float32 and mine.shape == theirs.shape
        assert float(np.max(np.abs(mine - theirs))) <= 5e-5 * float(np.max(np.abs(theirs)))
