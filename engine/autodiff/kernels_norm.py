"""Fused normalisation kernels: batch norm and layer norm, forward beside their VJP.

Both normalise ``x`` over some axes and then apply a per-feature affine transform
``y = gamma * x_hat + beta`` along one axis. Written as one primitive instead of a chain of
``mean``/``sub``/``div`` ops, the backward pass reuses the saved ``x_hat`` and ``1/std`` and
needs three reductions instead of a dozen temporaries:

    dx = inv_std * (dx_hat - mean(dx_hat) - x_hat * mean(dx_hat * x_hat))

with the means over the normalised axes and ``dx_hat = g * gamma``. Everything runs on
``backend.xp`` in the input's dtype (float32 normally, float64 in gradient checks).
"""

from __future__ import annotations

import numpy

from engine import backend
from engine.autodiff import jit, jit_norm
from engine.autodiff.tensor import Tensor

__all__ = ["batch_norm", "layer_norm", "normalize"]


def _param_view(param_array, ndim: int, axis: int):
    """A ``(d,)`` parameter reshaped to broadcast along ``axis`` of an ``ndim`` array."""
    shape = [1] * ndim
    shape[axis] = param_array.shape[0]
    return backend.xp.reshape(param_array, tuple(shape))


def normalize(
    x: Tensor,
    gamma: Tensor | None,
    beta: Tensor | None,
    reduce_axes: tuple[int, ...],
    param_axis: int,
    epsilon: float,
):
    """Normalise ``x`` over ``reduce_axes``, then scale and shift along ``param_axis``.

    ``gamma``/``beta`` are ``(x.shape[param_axis],)`` tensors or ``None`` (no scale / no
    shift). Returns ``(y, mean, variance)``; ``mean`` and ``variance`` are plain arrays with
    the reduced axes kept (size 1), the biased batch statistics Keras uses.
    """
    xp = backend.xp
    data = x.data
    ndim = len(data.shape)
    reduce_axes = tuple(sorted(ax % ndim for ax in reduce_axes))
    param_axis %= ndim
    count = 1
    for ax in reduce_axes:
        count *= data.shape[ax]

    mean = xp.mean(data, axis=reduce_axes, keepdims=True)
    centered = data - mean
    variance = xp.mean(xp.square(centered), axis=reduce_axes, keepdims=True)
    inv_std = 1.0 / xp.sqrt(variance + epsilon)
    # In place from here: each full-size temporary costs a pass over memory (and, fresh, its
    # page faults), which is most of a normalisation's time.
    x_hat = centered
    x_hat *= inv_std

    gamma_b = None if gamma is None else _param_view(gamma.data, ndim, param_axis)
    y = x_hat if gamma_b is None else x_hat * gamma_b
    if beta is not None:
        beta_b = _param_view(beta.data, ndim, param_axis)
        if y is x_hat:
            y = x_hat + beta_b
        else:
            y += beta_b

    param_reduce = tuple(ax for ax in range(ndim) if ax != param_axis)
    # Batch norm: the statistics and the parameters reduce over the same axes, so the
    # parameters' gradients are also the sums dx needs (sum(d_hat) = gamma * sum(g), and
    # sum(d_hat * x_hat) = gamma * sum(g * x_hat)): two reductions for all three gradients.
    shared = param_reduce == reduce_axes
    parents = [x] + [p for p in (gamma, beta) if p is not None]

    def vjp(g):
        if shared:
            return _shared_axes_vjp(g)
        grads = []
        if x.requires_grad:
            d_hat = g if gamma_b is None else g * gamma_b
            mean_d = xp.sum(d_hat, axis=reduce_axes, keepdims=True) / count
            mean_dx = xp.sum(d_hat * x_hat, axis=reduce_axes, keepdims=True) / count
            grads.append(inv_std * (d_hat - mean_d - x_hat * mean_dx))
        else:
            grads.append(None)
        if gamma is not None:
            grads.append(xp.sum(g * x_hat, axis=param_reduce) if gamma.requires_grad else None)
        if beta is not None:
            grads.append(xp.sum(g, axis=param_reduce) if beta.requires_grad else None)
        return tuple(grads)

    def _shared_axes_vjp(g):
        sum_g = xp.sum(g, axis=reduce_axes, keepdims=True)
        g_x_hat = g * x_hat
        sum_g_x_hat = xp.sum(g_x_hat, axis=reduce_axes, keepdims=True)
        del g_x_hat  # its memory serves dx below
        grads = [None]
        if x.requires_grad:
            # dx = gamma * inv_std * (g - mean(g) - x_hat * mean(g * x_hat)), as in-place
            # steps on one buffer: -(x_hat * mean(g * x_hat) + mean(g) - g) * gamma * inv_std.
            dx = x_hat * (sum_g_x_hat / count)
            dx += sum_g / count
            dx -= g
            dx *= -inv_std if gamma_b is None else -(inv_std * gamma_b)
            grads[0] = dx
        if gamma is not None:
            grads.append(xp.reshape(sum_g_x_hat, (-1,)) if gamma.requires_grad else None)
        if beta is not None:
            grads.append(xp.reshape(sum_g, (-1,)) if beta.requires_grad else None)
        return tuple(grads)

    return Tensor.from_op(y, parents, vjp), mean, variance


def batch_norm(x: Tensor, gamma, beta, axis: int, epsilon: float):
    """Training-mode batch normalisation with per-``axis`` statistics over everything else.

    ``axis`` counts the batch axis (Keras's convention), so ``axis=1`` is the channels of an
    ``(N, C, H, W)`` image. Returns ``(y, mean, variance)`` with ``mean``/``variance`` of shape
    ``(x.shape[axis],)``, ready for the moving-average update.
    """
    ndim = x.ndim
    axis %= ndim
    if axis == 1 and jit.enabled() and x.data.dtype in (numpy.float32, numpy.float64):
        return _batch_norm_compiled(x, gamma, beta, epsilon)
    reduce_axes = tuple(ax for ax in range(ndim) if ax != axis)
    y, mean, variance = normalize(x, gamma, beta, reduce_axes, axis, epsilon)
    size = (x.shape[axis],)
    return y, backend.xp.reshape(mean, size), backend.xp.reshape(variance, size)


def _batch_norm_compiled(x: Tensor, gamma, beta, epsilon: float):
    """:func:`batch_norm` over axis 1 as compiled loops (:mod:`engine.autodiff.jit_norm`): two
    passes for the statistics, one for ``y``; two back, from the input (no ``x_hat`` kept)."""
    y, mean, variance, inv_std = jit_norm.batch_norm_forward(
        x.data,
        None if gamma is None else gamma.data,
        None if beta is None else beta.data,
        epsilon,
    )
    parents = [x] + [p for p in (gamma, beta) if p is not None]

    def vjp(g):
        dx, dgamma, dbeta = jit_norm.batch_norm_backward(
            g, x.data, mean, inv_std, None if gamma is None else gamma.data
        )
        return affine_grads(x, gamma, beta, dx, dgamma, dbeta)

    return Tensor.from_op(y, parents, vjp), mean, variance


def affine_grads(x: Tensor, gamma, beta, dx, dgamma, dbeta) -> tuple:
    """The VJP's tuple for parents ``[x, gamma?, beta?]`` (None where one needs no gradient;
    an absent gamma or beta is not a parent)."""
    grads = [dx if x.requires_grad else None]
    if gamma is not None:
        grads.append(dgamma if gamma.requires_grad else None)
    if beta is not None:
        grads.append(dbeta if beta.requires_grad else None)
    return tuple(grads)


def layer_norm(x: Tensor, gamma, beta, axis: int, epsilon: float) -> Tensor:
    """Layer normalisation: statistics over ``axis`` of each sample, affine along it."""
    y, _, _ = normalize(x, gamma, beta, (axis,), axis, epsilon)
    return y
