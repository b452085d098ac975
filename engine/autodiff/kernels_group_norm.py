"""Fused group normalisation: forward beside its hand-written VJP.

The channels (axis 1) of ``x`` of shape ``(N, C, *S)`` are split into ``groups`` groups of
``C / groups`` consecutive channels; each sample's group is normalised over its channels
and every other axis, then each channel is scaled and shifted (``gamma``, ``beta`` of shape
``(C,)``). With the data viewed as ``(N, G, M)`` this is layer normalisation of the last
axis, so the backward pass is the same three reductions
(:mod:`engine.autodiff.kernels_norm`):

    dx = inv_std * (dx_hat - mean(dx_hat) - x_hat * mean(dx_hat * x_hat))

No Python loop over samples or groups; everything runs on ``backend.xp`` in the input's
dtype.
"""

from __future__ import annotations

from engine import backend
from engine.autodiff.tensor import Tensor

__all__ = ["group_norm"]


def group_norm(x: Tensor, gamma: Tensor | None, beta: Tensor | None, groups: int, epsilon: float):
    """Group normalisation of ``x`` (channels on axis 1); ``gamma``/``beta`` may be None."""
    xp = backend.xp
    data = x.data
    shape = tuple(data.shape)
    n, c = shape[0], shape[1]
    grouped = xp.reshape(data, (n, groups, -1))
    count = grouped.shape[2]
    mean = xp.mean(grouped, axis=2, keepdims=True)
    centered = grouped - mean
    variance = xp.mean(centered * centered, axis=2, keepdims=True)
    inv_std = 1.0 / xp.sqrt(variance + epsilon)
    x_hat_grouped = centered * inv_std
    x_hat = xp.reshape(x_hat_grouped, shape)

    view = (1, c) + (1,) * (len(shape) - 2)
    gamma_b = None if gamma is None else xp.reshape(gamma.data, view)
    y = x_hat if gamma_b is None else x_hat * gamma_b
    if beta is not None:
        y = y + xp.reshape(beta.data, view)
    param_reduce = (0,) + tuple(range(2, len(shape)))
    parents = [x] + [p for p in (gamma, beta) if p is not None]

    def vjp(g):
        grads = []
        if x.requires_grad:
            d_hat = xp.reshape(g if gamma_b is None else g * gamma_b, (n, groups, count))
            mean_d = xp.sum(d_hat, axis=2, keepdims=True) / count
            mean_dx = xp.sum(d_hat * x_hat_grouped, axis=2, keepdims=True) / count
            dx = inv_std * (d_hat - mean_d - x_hat_grouped * mean_dx)
            grads.append(xp.reshape(dx, shape))
        else:
            grads.append(None)
        if gamma is not None:
            grads.append(xp.sum(g * x_hat, axis=param_reduce) if gamma.requires_grad else None)
        if beta is not None:
            grads.append(xp.sum(g, axis=param_reduce) if beta.requires_grad else None)
        return tuple(grads)

    return Tensor.from_op(y, parents, vjp)
