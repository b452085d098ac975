"""The fused batch-norm and layer-norm kernels: forward against a plain numpy formula, VJP
against finite differences in float64, and the strict array-API namespace."""

from __future__ import annotations

import array_api_strict
import numpy as np
import pytest

from engine import backend
from engine.autodiff import kernels_norm
from engine.autodiff.gradcheck import check_gradients
from engine.autodiff.tensor import Tensor, grad

EPS = 1e-3

# (x shape, axis counting the batch axis)
BATCH_NORM_CASES = {
    "image": ((3, 2, 3, 3), 1),
    "image-batch1": ((1, 3, 2, 2), 1),
    "flat": ((5, 4), 1),
    "flat-batch1": ((1, 3), -1),
    "sequence-features": ((2, 3, 5), -1),
    "sequence-time": ((2, 3, 5), 1),
}
LAYER_NORM_CASES = {
    "flat": ((3, 5), -1),
    "flat-batch1": ((1, 7), -1),
    "sequence": ((2, 3, 4), 2),
    "image-channels": ((2, 3, 2, 2), 1),
}
AFFINE = {"both": (True, True), "scale_only": (True, False), "shift_only": (False, True)}
AFFINE_NONE = {**AFFINE, "neither": (False, False)}


def reference(x, gamma, beta, reduce_axes, param_axis):
    """The textbook formula, one step at a time in numpy."""
    mean = x.mean(axis=reduce_axes, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=reduce_axes, keepdims=True)
    y = (x - mean) / np.sqrt(var + EPS)
    shape = [1] * x.ndim
    shape[param_axis] = x.shape[param_axis]
    if gamma is not None:
        y = y * gamma.reshape(shape)
    if beta is not None:
        y = y + beta.reshape(shape)
    return y, mean, var


def _draw(shape, axis, seed=0):
    # Not check_gradients's own seed: a projection equal to an affine function of x would
    # make the normalised gradient nearly vanish and the relative error meaningless.
    rng = np.random.default_rng(seed + 100)
    x = rng.standard_normal(shape) * 2.0 + 0.5
    size = shape[axis]
    return x, rng.uniform(0.5, 1.5, size), rng.standard_normal(size)


def _bn_axes(ndim, axis):
    axis %= ndim
    return tuple(a for a in range(ndim) if a != axis), axis


@pytest.mark.parametrize("name", BATCH_NORM_CASES)
@pytest.mark.parametrize("affine", AFFINE_NONE)
def test_batch_norm_forward_and_statistics(name, affine):
    shape, axis = BATCH_NORM_CASES[name]
    x, gamma, beta = _draw(shape, axis)
    gamma = gamma if AFFINE_NONE[affine][0] else None
    beta = beta if AFFINE_NONE[affine][1] else None
    y, mean, var = kernels_norm.batch_norm(
        Tensor(x), None if gamma is None else Tensor(gamma), None if beta is None else Tensor(beta),
        axis, EPS,
    )  # fmt: skip
    reduce_axes, param_axis = _bn_axes(len(shape), axis)
    want, want_mean, want_var = reference(x, gamma, beta, reduce_axes, param_axis)
    np.testing.assert_allclose(y.numpy(), want, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(backend.to_numpy(mean), want_mean.reshape(-1), rtol=1e-12)
    np.testing.assert_allclose(backend.to_numpy(var), want_var.reshape(-1), rtol=1e-12)


@pytest.mark.parametrize("name", LAYER_NORM_CASES)
@pytest.mark.parametrize("affine", AFFINE_NONE)
def test_layer_norm_forward(name, affine):
    shape, axis = LAYER_NORM_CASES[name]
    x, gamma, beta = _draw(shape, axis)
    gamma = gamma if AFFINE_NONE[affine][0] else None
    beta = beta if AFFINE_NONE[affine][1] else None
    y = kernels_norm.layer_norm(
        Tensor(x), None if gamma is None else Tensor(gamma), None if beta is None else Tensor(beta),
        axis, EPS,
    )  # fmt: skip
    want, _, _ = reference(x, gamma, beta, (axis % len(shape),), axis % len(shape))
    np.testing.assert_allclose(y.numpy(), want, rtol=1e-12, atol=1e-12)


def _bn(axis, affine):
    """A function of (x, gamma?, beta?) tensors for check_gradients."""
    use_gamma, use_beta = AFFINE_NONE[affine]

    def fn(x, *params):
        params = list(params)
        gamma = params.pop(0) if use_gamma else None
        beta = params.pop(0) if use_beta else None
        return kernels_norm.batch_norm(x, gamma, beta, axis, EPS)[0]

    return fn


def _ln(axis, affine):
    use_gamma, use_beta = AFFINE_NONE[affine]

    def fn(x, *params):
        params = list(params)
        gamma = params.pop(0) if use_gamma else None
        beta = params.pop(0) if use_beta else None
        return kernels_norm.layer_norm(x, gamma, beta, axis, EPS)

    return fn


def _inputs(shape, axis, affine, seed=0):
    x, gamma, beta = _draw(shape, axis, seed)
    use_gamma, use_beta = AFFINE_NONE[affine]
    return [x] + ([gamma] if use_gamma else []) + ([beta] if use_beta else [])


KERNELS = {"batch_norm": (BATCH_NORM_CASES, _bn), "layer_norm": (LAYER_NORM_CASES, _ln)}
ALL = [
    pytest.param(kernel, name, affine, id=f"{kernel}-{name}-{affine}")
    for kernel, (cases, _) in KERNELS.items()
    for name in cases
    for affine in AFFINE_NONE
]


@pytest.mark.parametrize(("kernel", "name", "affine"), ALL)
def test_gradients_match_finite_differences(kernel, name, affine):
    cases, make = KERNELS[kernel]
    shape, axis = cases[name]
    for seed in (0, 1):
        error = check_gradients(make(axis, affine), _inputs(shape, axis, affine, seed))
        assert error < 1e-6, f"seed {seed}: {error:.2e}"


def _run(fn, arrays):
    tensors = [Tensor(backend.asarray(a), requires_grad=True) for a in arrays]
    out = fn(*tensors)
    weights = backend.asarray(np.random.default_rng(9).standard_normal(out.shape))
    grads = grad(out, tensors, grad_output=backend.xp.astype(weights, out.dtype))
    return out, grads


@pytest.mark.parametrize(("kernel", "name", "affine"), ALL)
def test_strict_namespace_matches_numpy(kernel, name, affine):
    cases, make = KERNELS[kernel]
    shape, axis = cases[name]
    fn, arrays = make(axis, affine), _inputs(shape, axis, affine)
    out_np, grads_np = _run(fn, arrays)
    with backend.use_namespace(array_api_strict, "strict"):
        out, grads = _run(fn, arrays)
        out_host = backend.to_numpy(out.data)
        grads_host = [backend.to_numpy(g) for g in grads]
    np.testing.assert_allclose(out_host, out_np.numpy(), rtol=1e-12, atol=1e-12)
    for got, want in zip(grads_host, grads_np, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(("kernel", "name", "affine"), ALL)
def test_float32_stays_float32(kernel, name, affine):
    cases, make = KERNELS[kernel]
    shape, axis = cases[name]
    arrays = [a.astype(np.float32) for a in _inputs(shape, axis, affine)]
    out, grads = _run(make(axis, affine), arrays)
    assert out.dtype == np.float32
    assert all(g.dtype == np.float32 for g in grads)


def test_batch_norm_output_is_normalised():
    x = np.random.default_rng(3).standard_normal((64, 3, 4, 4)) * 5.0 + 2.0
    y, _, _ = kernels_norm.batch_norm(Tensor(x), None, None, 1, 1e-8)
    per_channel = y.numpy().transpose(1, 0, 2, 3).reshape(3, -1)
    np.testing.assert_allclose(per_channel.mean(axis=1), 0.0, atol=1e-12)
    np.testing.assert_allclose(per_channel.std(axis=1), 1.0, rtol=1e-6)
