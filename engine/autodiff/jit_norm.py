"""numba version of training-mode batch normalisation over axis 1 (see
:mod:`engine.autodiff.jit` and :func:`engine.autodiff.kernels_norm.batch_norm`).

``x`` is viewed as ``(N, C, P)`` (``P`` = the spatial size, 1 for a Dense output). Forward:
the per-channel mean, then the variance of the centred values (two passes, as numpy's, not
the cancelling sum of squares), sums in float64; then one pass writes ``x_hat`` (kept for
the backward pass) and ``y``. Backward: one pass for the two per-channel sums, one for
``dx``. numpy needs about seven passes and as many full-size temporaries each way.

The sums run in a different order than numpy's pairwise ones (and in float64), so the
values agree to float32 rounding, not to the bit.
"""

from __future__ import annotations

import numpy

from engine.autodiff.jit import compiled

__all__ = ["batch_norm_backward", "batch_norm_forward"]


@compiled(reassociate=True)
def _channel_sums(x, shift):
    """Per channel: sum of ``x - shift[c]`` and of its square, in float64."""
    n, c, p = x.shape
    first = numpy.zeros(c)
    second = numpy.zeros(c)
    for s in range(n):
        for ch in range(c):
            a = 0.0
            b = 0.0
            centre = shift[ch]
            for i in range(p):
                d = numpy.float64(x[s, ch, i]) - centre
                a += d
                b += d * d
            first[ch] += a
            second[ch] += b
    return first, second


@compiled
def _normalise(x, mean, inv_std, gamma, beta, x_hat, y):
    n, c, p = x.shape
    for s in range(n):
        for ch in range(c):
            m, k, g, b = mean[ch], inv_std[ch], gamma[ch], beta[ch]
            for i in range(p):
                h = (x[s, ch, i] - m) * k
                x_hat[s, ch, i] = h
                y[s, ch, i] = h * g + b


@compiled(reassociate=True)
def _gradient_sums(g, x_hat):
    n, c, p = g.shape
    sum_g = numpy.zeros(c)
    sum_gx = numpy.zeros(c)
    for s in range(n):
        for ch in range(c):
            a = 0.0
            b = 0.0
            for i in range(p):
                v = numpy.float64(g[s, ch, i])
                a += v
                b += v * x_hat[s, ch, i]
            sum_g[ch] += a
            sum_gx[ch] += b
    return sum_g, sum_gx


@compiled
def _input_gradient(g, x_hat, mean_g, mean_gx, scale, dx):
    n, c, p = g.shape
    for s in range(n):
        for ch in range(c):
            mg, mgx, k = mean_g[ch], mean_gx[ch], scale[ch]
            for i in range(p):
                dx[s, ch, i] = (g[s, ch, i] - mg - x_hat[s, ch, i] * mgx) * k


def batch_norm_forward(data, gamma, beta, epsilon: float):
    """``(y, x_hat, mean, variance, inv_std)`` for ``data (N, C, ...)``; ``gamma``/``beta``
    are ``(C,)`` arrays or None. ``mean``, ``variance`` and ``inv_std`` are ``(C,)`` in the
    data's dtype; ``y`` and ``x_hat`` have the data's shape."""
    dtype = data.dtype
    x = numpy.ascontiguousarray(data).reshape(data.shape[0], data.shape[1], -1)
    n, c, p = x.shape
    count = n * p
    first, _ = _channel_sums(x, numpy.zeros(c))
    mean64 = first / count
    # The second pass centres on the mean: the variance without cancellation.
    _, second = _channel_sums(x, mean64)
    variance64 = second / count
    mean, variance = mean64.astype(dtype), variance64.astype(dtype)
    inv_std = (1.0 / numpy.sqrt(variance + dtype.type(epsilon))).astype(dtype)
    ones = numpy.ones(c, dtype)
    gamma = ones if gamma is None else numpy.ascontiguousarray(gamma, dtype=dtype)
    beta = numpy.zeros(c, dtype) if beta is None else numpy.ascontiguousarray(beta, dtype=dtype)
    x_hat = numpy.empty_like(x)
    y = numpy.empty_like(x)
    _normalise(x, mean, inv_std, gamma, beta, x_hat, y)
    return y.reshape(data.shape), x_hat, mean, variance, inv_std


def batch_norm_backward(g, x_hat, inv_std, gamma):
    """``(dx, dgamma, dbeta)`` from the output's gradient ``g`` (``dgamma``/``dbeta`` are the
    per-channel sums, in the data's dtype)."""
    dtype = x_hat.dtype
    g3 = numpy.ascontiguousarray(g, dtype=dtype).reshape(x_hat.shape)
    n, c, p = x_hat.shape
    count = n * p
    sum_g, sum_gx = _gradient_sums(g3, x_hat)
    scale = inv_std if gamma is None else (numpy.asarray(gamma, dtype) * inv_std)
    dx = numpy.empty_like(x_hat)
    _input_gradient(
        g3,
        x_hat,
        (sum_g / count).astype(dtype),
        (sum_gx / count).astype(dtype),
        numpy.ascontiguousarray(scale, dtype=dtype),
        dx,
    )
    return dx.reshape(g.shape), sum_gx.astype(dtype), sum_g.astype(dtype)
