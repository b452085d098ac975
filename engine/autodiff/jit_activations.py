"""numba versions of the mask-and-clip activations (see :mod:`engine.autodiff.jit`).

Each loop computes exactly what the numpy formula in :mod:`kernels_activation` computes, in
the same order, so the two paths agree bit for bit (the tests check it). Measured on one
core, a (64, 32, 28, 28) float32 map: hard_silu forward 0.39 -> 0.14 ms and backward
0.94 -> 0.24 ms (PyTorch 0.14 forward).
"""

from __future__ import annotations

import numpy

from engine.autodiff.jit import compiled

__all__ = ["hard_sigmoid", "hard_sigmoid_grad", "hard_silu", "hard_silu_grad", "relu_grad"]


def _unary(kernel, x):
    x = numpy.ascontiguousarray(x)
    out = numpy.empty_like(x)
    kernel(x.reshape(-1), out.reshape(-1))
    return out


def _binary(kernel, x, g, out=None):
    """``kernel`` over flat views; ``out`` (C-contiguous, x's shape and dtype) or a new array."""
    x, g = numpy.ascontiguousarray(x), numpy.ascontiguousarray(g, dtype=x.dtype)
    if out is None or not out.flags.c_contiguous:
        result = numpy.empty_like(x)
        kernel(x.reshape(-1), g.reshape(-1), result.reshape(-1))
        if out is None:
            return result
        out[...] = result  # a strided out: reshape(-1) would be a copy, not out
        return out
    kernel(x.reshape(-1), g.reshape(-1), out.reshape(-1))
    return out


# Constants are made in the array's dtype: a bare 0.5 would make the float32 arithmetic
# float64 in numba, where numpy keeps it float32 (NEP 50), and the bits would differ.


@compiled
def _hard_sigmoid_loop(x, out):
    sixth, half, zero, one = (
        x.dtype.type(1.0 / 6.0),
        x.dtype.type(0.5),
        x.dtype.type(0),
        x.dtype.type(1),
    )
    for i in range(x.size):
        h = x[i] * sixth + half
        if h < zero:
            h = zero
        elif h > one:
            h = one
        out[i] = h


@compiled
def _hard_sigmoid_grad_loop(x, g, out):
    sixth, zero = x.dtype.type(1.0 / 6.0), x.dtype.type(0)
    for i in range(x.size):
        v = x[i]
        out[i] = g[i] * sixth if -3.0 < v < 3.0 else g[i] * zero


@compiled
def _hard_silu_loop(x, out):
    sixth, half, zero, one = (
        x.dtype.type(1.0 / 6.0),
        x.dtype.type(0.5),
        x.dtype.type(0),
        x.dtype.type(1),
    )
    for i in range(x.size):
        v = x[i]
        h = v * sixth + half
        if h < zero:
            h = zero
        elif h > one:
            h = one
        out[i] = h * v


@compiled
def _hard_silu_grad_loop(x, g, out):
    # The numpy formula: w = clip(x, -3, 3) / 3, d = w + 1/2 - trunc(w) / 2: 0 at -3 and
    # below, 1 at 3 and above, x / 3 + 1/2 between.
    three, half, zero, one = x.dtype.type(3), x.dtype.type(0.5), x.dtype.type(0), x.dtype.type(1)
    for i in range(x.size):
        v = x[i]
        if v <= -three:
            d = zero
        elif v >= three:
            d = one
        else:  # NaN included: it stays NaN
            d = v / three + half
        out[i] = d * g[i]


def hard_sigmoid(x):
    return _unary(_hard_sigmoid_loop, x)


def hard_sigmoid_grad(x, g):
    return _binary(_hard_sigmoid_grad_loop, x, g)


def hard_silu(x):
    return _unary(_hard_silu_loop, x)


def hard_silu_grad(x, g):
    return _binary(_hard_silu_grad_loop, x, g)


@compiled
def _relu_grad_loop(out, g, dx):
    zero = g.dtype.type(0)
    for i in range(out.size):
        dx[i] = g[i] if out[i] > 0 else g[i] * zero  # numpy's g * (out > 0), bit for bit


def relu_grad(relu_out, g, out=None):
    """ReLU's backward from its output: ``g`` where ``relu_out > 0``, else ``g * 0``; into
    ``out`` when given (C-contiguous, the same shape and dtype)."""
    return _binary(_relu_grad_loop, relu_out, g, out)
