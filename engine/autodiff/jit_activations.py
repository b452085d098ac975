"""Compiled mask-and-clip activations (see :mod:`engine.autodiff.jit`, ``native/kernels.c``).

Each loop computes exactly what the numpy formula in :mod:`kernels_activation` (or
:func:`engine.autodiff.ops_activations.relu`'s backward) computes, in the same order, so
the two paths agree bit for bit (the tests check it). Measured on one core, a (64, 32, 28,
28) float32 map: hard_silu forward 0.39 -> 0.14 ms and backward 0.94 -> 0.24 ms (PyTorch
0.14 forward), ReLU's backward 0.41 -> 0.19 ms.
"""

from __future__ import annotations

import numpy

from engine.autodiff.jit import call

__all__ = ["hard_sigmoid", "hard_sigmoid_grad", "hard_silu", "hard_silu_grad", "relu_grad"]


def _unary(name: str, x):
    x = numpy.ascontiguousarray(x)
    out = numpy.empty_like(x)
    call(name, x.dtype, x, out, x.size)
    return out


def _binary(name: str, x, g, out=None):
    """``name`` over ``x`` and ``g``; into ``out`` (``x``'s shape and dtype) or a new array."""
    x, g = numpy.ascontiguousarray(x), numpy.ascontiguousarray(g, dtype=x.dtype)
    target = out if out is not None and out.flags.c_contiguous else numpy.empty_like(x)
    call(name, x.dtype, x, g, target, x.size)
    if out is not None and target is not out:
        out[...] = target  # a strided out: the kernel wrote a contiguous copy
        return out
    return target


def hard_sigmoid(x):
    return _unary("hard_sigmoid", x)


def hard_sigmoid_grad(x, g):
    return _binary("hard_sigmoid_grad", x, g)


def hard_silu(x):
    return _unary("hard_silu", x)


def hard_silu_grad(x, g):
    return _binary("hard_silu_grad", x, g)


def relu_grad(relu_out, g, out=None):
    """ReLU's backward from its output: ``g`` where ``relu_out > 0``, else ``g * 0``; into
    ``out`` when given (the same shape and dtype)."""
    return _binary("relu_grad", relu_out, g, out)
