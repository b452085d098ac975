"""Compiled group normalisation (see :mod:`engine.autodiff.jit` and
:func:`engine.autodiff.kernels_group_norm.group_norm`).

Each sample's group is a contiguous run of ``C / G * S`` values: two passes give its mean
and the variance of the centred values (float64 sums), one writes ``y``. Backward: one pass
for the per-(sample, channel) sums of ``g`` and ``g * x``, one for ``dx``. The numpy version
runs ~30 small operations on the statistics besides its passes, which is most of its time
on the small maps GroupNormalization usually sees: (64, 32, 14, 14) forward 0.25 -> 0.09
ms, backward 0.33 -> 0.14 ms on one core. Values agree with numpy's to float32 rounding
(sums in another order).
"""

from __future__ import annotations

import numpy

from engine.autodiff.jit import call

__all__ = ["group_norm_backward", "group_norm_forward"]


def _params(values, groups: int, per_group: int, dtype, fill: float):
    if values is None:
        return numpy.full((groups, per_group), fill, dtype)
    return numpy.ascontiguousarray(numpy.reshape(values, (groups, per_group)), dtype=dtype)


def group_norm_forward(data, gamma, beta, groups: int, epsilon: float):
    """``(y, mean, inv)`` for ``data (N, C, ...)``; ``mean``/``inv`` are ``(N, G)`` float64."""
    x = numpy.ascontiguousarray(data)
    dtype = x.dtype
    n, c = x.shape[0], x.shape[1]
    per_group = c // groups
    size = x.size // (n * c)
    mean, inv = numpy.empty((n, groups)), numpy.empty((n, groups))
    call("gn_statistics", dtype, x, n, groups, per_group * size, float(epsilon), mean, inv)
    y = numpy.empty_like(x)
    gamma2 = _params(gamma, groups, per_group, dtype, 1.0)
    beta2 = _params(beta, groups, per_group, dtype, 0.0)
    call("gn_affine", dtype, x, n, groups, per_group, size, mean, inv, gamma2, beta2, y)
    return y, mean, inv


def group_norm_backward(g, data, mean, inv, gamma, groups: int):
    """``(dx, dgamma, dbeta)``: the input's gradient and the per-channel parameter sums."""
    x = numpy.ascontiguousarray(data)
    dtype = x.dtype
    n, c = x.shape[0], x.shape[1]
    per_group = c // groups
    size = x.size // (n * c)
    g = numpy.ascontiguousarray(g, dtype=dtype)
    count = per_group * size
    sum_g, sum_gx = numpy.empty((n, groups, per_group)), numpy.empty((n, groups, per_group))
    call("gn_channel_sums", dtype, g, x, n * c, size, sum_g, sum_gx)
    gamma2 = _params(gamma, groups, per_group, numpy.float64, 1.0)
    mean3, inv3 = mean[:, :, None], inv[:, :, None]
    b = inv3 * (sum_gx - mean3 * sum_g)  # sum of g * x_hat per (sample, channel)
    mean_d = numpy.sum(gamma2 * sum_g, axis=2, keepdims=True) / count
    mean_dx = numpy.sum(gamma2 * b, axis=2, keepdims=True) / count
    k1 = numpy.ascontiguousarray(gamma2 * inv3)
    k2 = -inv3 * inv3 * mean_dx
    k3 = -inv3 * mean_d - k2 * mean3
    dx = numpy.empty_like(x)
    k2, k3 = numpy.ascontiguousarray(k2[:, :, 0]), numpy.ascontiguousarray(k3[:, :, 0])
    call("gn_input_gradient", dtype, g, x, n, groups, per_group, size, k1, k2, k3, dx)
    dgamma = numpy.sum(b, axis=0).reshape(c).astype(dtype)
    dbeta = numpy.sum(sum_g, axis=0).reshape(c).astype(dtype)
    return dx, dgamma, dbeta
