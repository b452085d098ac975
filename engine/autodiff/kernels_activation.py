"""Fused activation kernels: each forward formula beside its hand-written derivative.

These are the activations Keras 3 names (``relu6``, ``silu``, ``hard_sigmoid``,
``hard_silu``, ``mish``, ``selu``, ``softsign``, ``gelu``), Keras's parametrised ``ReLU``
(slope, ceiling, threshold) and the learned ``PReLU``. Each is one primitive, so a training
step makes one tape entry. The formulas are written on ``backend.xp`` with array-API
spellings (CuPy-ready) and run through :func:`engine.autodiff.elementwise.map_blocks`, which
on the CPU evaluates them cache block by cache block on every core; the backward pass
recomputes what it needs from ``x`` inside the block, which costs less than keeping
full-size intermediates. Masks are multiplied in rather than selected with ``where``, which
is several times slower in numpy.
"""

from __future__ import annotations

import math

import numpy

from engine import backend
from engine.autodiff import ops
from engine.autodiff.elementwise import in_place, map_blocks
from engine.autodiff.ops import _unbroadcast, as_tensor
from engine.autodiff.tensor import Tensor

__all__ = [
    "gelu",
    "hard_sigmoid",
    "hard_silu",
    "mish",
    "prelu",
    "relu6",
    "relu_general",
    "selu",
    "silu",
    "softsign",
]

# Keras's (and PyTorch's) SELU constants, from Klambauer et al. (2017).
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def _mask(condition, like):
    return backend.xp.astype(condition, like.dtype)


def _unary(forward, derivative, a, blocked: bool = True) -> Tensor:
    """The primitive ``forward(x)`` whose VJP is ``derivative(x, g)`` (both elementwise).
    Formulas of a few operations (``blocked=False``) run on the whole array: for them the
    blocks' Python overhead outweighs the cache savings."""
    a = as_tensor(a)
    x = a.data
    run = map_blocks if blocked else (lambda fn, *arrays: fn(*arrays))
    out = run(forward, x)
    return Tensor.from_op(out, (a,), lambda g: (run(derivative, x, g),))


# -- the formulas, on blocks -------------------------------------------------------------------


def _relu6(x):
    return backend.xp.clip(x, 0.0, 6.0)


def _relu6_grad(x, g):
    return g * _mask((x > 0) & (x < 6), g)


# In the formulas below, ``out=`` writes only into temporaries the formula itself made (never
# into ``x`` or ``g``): each op is one pass over a block in cache with no new allocation.

_EXP_CLAMP = 80.0  # exp(80) fits float32 and 1 / (1 + exp(80)) is still a normal number


def _sigmoid_block(x):
    """``1 / (1 + exp(-x))`` in four in-place passes: no cancellation for negative x (the
    tail keeps its relative precision down to where float32 exp overflows)."""
    xp = backend.xp
    s = xp.negative(x)
    if xp is numpy:
        # numpy's minimum against a scalar is not vectorised (25 us a block, as long as the
        # exp): let exp overflow to inf instead, which gives the right limit 1 / inf = 0.
        with numpy.errstate(over="ignore"):
            s = xp.exp(s, out=s)
    else:
        s = xp.exp(xp.minimum(s, _EXP_CLAMP))
    s += 1.0
    return in_place(xp.divide, 1.0, s, out=s)


def _silu_grad(x, s, g):
    """``g * s * (1 + x (1 - s))`` from the forward pass's ``s = sigmoid(x)``."""
    d = backend.xp.subtract(1.0, s)
    d *= x
    d += 1.0
    d *= s
    d *= g
    return d


def _mish_parts(x):
    """``(tanh(softplus(x)), exp(-|x|), x >= 0)``."""
    xp = backend.xp
    decay = xp.exp(-xp.abs(x))
    positive = _mask(x >= 0, x)
    return xp.tanh(xp.log1p(decay) + x * positive), decay, positive


def _mish(x):
    return x * _mish_parts(x)[0]


def _mish_grad(x, g):
    t, decay, positive = _mish_parts(x)
    sigmoid = (positive + (1.0 - positive) * decay) / (1.0 + decay)
    return g * (t + x * (1.0 - t * t) * sigmoid)


def _hard_sigmoid(x):
    return backend.xp.clip(x * (1.0 / 6.0) + 0.5, 0.0, 1.0)


def _hard_sigmoid_grad(x, g):
    return g * _mask((x > -3) & (x < 3), g) * (1.0 / 6.0)


def _hard_silu(x):
    xp = backend.xp
    h = xp.multiply(x, 1.0 / 6.0)
    h += 0.5
    h = in_place(xp.clip, h, 0.0, 1.0, out=h)
    h *= x
    return h


def _hard_silu_grad(x, g):
    """``x / 3 + 1/2`` inside (-3, 3), 1 from 3 on, 0 below -3 (the same values as
    ``hard_sigmoid(x) + x * inside / 6``), in place."""
    d = backend.xp.multiply(x, 1.0 / 3.0)
    d += 0.5
    inside = x > -3
    inside &= x < 3
    d *= _mask(inside, d)
    d += _mask(x >= 3, d)
    d *= g
    return d


def _selu_parts(x):
    xp = backend.xp
    positive = _mask(x > 0, x)
    return positive, SELU_ALPHA * xp.expm1(xp.minimum(x, xp.zeros_like(x)))


def _selu(x):
    positive, neg_part = _selu_parts(x)
    return SELU_SCALE * (x * positive + neg_part * (1.0 - positive))


def _selu_grad(x, g):
    positive, neg_part = _selu_parts(x)
    return g * (SELU_SCALE * (positive + (neg_part + SELU_ALPHA) * (1.0 - positive)))


def _softsign(x):
    return x / (1.0 + backend.xp.abs(x))


def _softsign_grad(x, g):
    denominator = 1.0 + backend.xp.abs(x)
    return g / (denominator * denominator)


# -- the primitives ----------------------------------------------------------------------------


def relu6(a) -> Tensor:
    """``min(max(x, 0), 6)``."""
    return _unary(_relu6, _relu6_grad, a, blocked=False)


def silu(a) -> Tensor:
    """``x * sigmoid(x)`` (Keras's ``silu``, also called ``swish``). The forward pass keeps
    ``sigmoid(x)`` (one activation-sized array): the backward pass then needs no exp, the
    costliest of its passes."""
    a = as_tensor(a)
    x = a.data
    s = map_blocks(_sigmoid_block, x)
    return Tensor.from_op(x * s, (a,), lambda g: (map_blocks(_silu_grad, x, s, g),))


def mish(a) -> Tensor:
    """``x * tanh(softplus(x))``."""
    return _unary(_mish, _mish_grad, a)


def hard_sigmoid(a) -> Tensor:
    """Keras 3's ``hard_sigmoid``: ``relu6(x + 3) / 6``."""
    return _unary(_hard_sigmoid, _hard_sigmoid_grad, a, blocked=False)


def hard_silu(a) -> Tensor:
    """``x * hard_sigmoid(x)`` (Keras's ``hard_silu``, also ``hard_swish``)."""
    return _unary(_hard_silu, _hard_silu_grad, a)


def selu(a) -> Tensor:
    """``scale * x`` where ``x > 0``, ``scale * alpha * (exp(x) - 1)`` elsewhere."""
    return _unary(_selu, _selu_grad, a)


def softsign(a) -> Tensor:
    """``x / (1 + |x|)``."""
    return _unary(_softsign, _softsign_grad, a, blocked=False)


def relu_general(
    a, negative_slope: float = 0.0, max_value: float | None = None, threshold: float = 0.0
) -> Tensor:
    """Keras's ``ReLU``: ``max_value`` where ``x >= max_value``, ``x`` where
    ``threshold <= x < max_value``, ``negative_slope * (x - threshold)`` elsewhere."""

    def forward(x):
        above = _mask(x >= threshold, x)
        out = x * above + (negative_slope * (x - threshold)) * (1.0 - above)
        if max_value is not None:
            out = backend.xp.minimum(out, backend.xp.full_like(out, max_value))
        return out

    def derivative(x, g):
        above = _mask(x >= threshold, x)
        slope = above + negative_slope * (1.0 - above)
        if max_value is not None:
            # Below the ceiling: x < max_value above the threshold, always below it.
            slope = slope * _mask((x < max_value) | (x < threshold), x)
        return g * slope

    return _unary(forward, derivative, a)


def prelu(a, alpha) -> Tensor:
    """``x`` where ``x > 0``, ``alpha * x`` elsewhere; ``alpha`` (a weight) broadcasts against
    one sample (its shape has no batch axis) and gets the gradient summed back."""
    a = as_tensor(a)
    alpha = as_tensor(alpha, like=a)
    x = a.data
    positive = _mask(x > 0, x)
    negative_x = x * (1.0 - positive)
    out = x * positive + alpha.data * negative_x

    def vjp(g):
        dx = g * (positive + alpha.data * (1.0 - positive)) if a.requires_grad else None
        dalpha = _unbroadcast(g * negative_x, alpha.shape) if alpha.requires_grad else None
        return dx, dalpha

    return Tensor.from_op(out, (a, alpha), vjp)


# -- GELU --------------------------------------------------------------------------------------

# Numerical Recipes' erfc (Chebyshev fit): relative error below 1.2e-7 for every x, tails
# included, i.e. float32 rounding. erfc(z) = t * exp(-z^2 + P(t)), t = 1 / (1 + z / 2).
_ERFC = (
    -1.26551223,
    1.00002368,
    0.37409196,
    0.09678418,
    -0.18628806,
    0.27886807,
    -1.13520398,
    1.48851587,
    -0.82215223,
    0.17087277,
)
_INV_SQRT2 = 1.0 / math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)


def _gelu_cdf(x):
    """``Phi(x)`` with the float32-accurate erfc fit, in place on the formula's own
    temporaries, with one exp (``exp(-z^2 + P(t))`` rather than ``exp(-z^2) * exp(P(t))``)."""
    xp = backend.xp
    z = xp.abs(x)
    z *= _INV_SQRT2
    t = xp.multiply(z, 0.5)
    t += 1.0
    t = in_place(xp.divide, 1.0, t, out=t)
    poly = xp.multiply(t, _ERFC[9])
    poly += _ERFC[8]
    for c in _ERFC[7::-1]:
        poly *= t
        poly += c
    z *= z  # z^2 = x^2 / 2
    poly -= z
    tail = in_place(xp.exp, poly, out=poly)
    tail *= t
    tail *= 0.5  # Phi(-|x|), accurate in the tail
    # Phi(x) = tail + [x >= 0] (1 - 2 tail): exactly the tail for negative x (no cancellation).
    # (A multiply by the mask: numpy's heaviside, where and masked copyto are 13-19x slower
    # on random signs.)
    cdf = in_place(xp.multiply, tail, -2.0, out=t)
    cdf += 1.0
    cdf *= _mask(x >= 0, cdf)
    cdf += tail
    return cdf


def _gelu_grad(x, cdf, g):
    """``g * (Phi(x) + x exp(-x^2 / 2) / sqrt(2 pi))`` from the forward pass's ``Phi(x)``."""
    xp = backend.xp
    d = xp.multiply(x, x)
    d *= -0.5
    d = in_place(xp.exp, d, out=d)
    d *= x
    d *= _INV_SQRT_2PI
    d += cdf
    d *= g
    return d


def _exact_gelu(a: Tensor) -> Tensor:
    """The erfc fit is ~25 passes over the data: the forward pass keeps ``Phi(x)`` (one
    activation-sized array) so that the backward pass costs 7 passes instead of all again."""
    x = a.data
    cdf = map_blocks(_gelu_cdf, x)
    return Tensor.from_op(x * cdf, (a,), lambda g: (map_blocks(_gelu_grad, x, cdf, g),))


def _gelu_tanh_parts(x):
    t = backend.xp.tanh(_SQRT_2_OVER_PI * (x + 0.044715 * x * x * x))
    return t


def _gelu_tanh(x):
    return 0.5 * x * (1.0 + _gelu_tanh_parts(x))


def _gelu_tanh_grad(x, g):
    t = _gelu_tanh_parts(x)
    d_inner = _SQRT_2_OVER_PI * (1.0 + 3 * 0.044715 * x * x)
    return g * (0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * d_inner)


def gelu(a, approximate: bool = False) -> Tensor:
    """GELU ``x * Phi(x)``, or with ``approximate`` its tanh form. In float32 the exact form
    evaluates ``Phi`` with a rational-exponential fit accurate to float32 rounding (several
    times faster than ``scipy.special.erf``); in float64 (gradient checks) it uses erf
    through :func:`engine.autodiff.ops.gelu`."""
    a = as_tensor(a)
    if approximate:
        return _unary(_gelu_tanh, _gelu_tanh_grad, a)
    if a.dtype != backend.xp.float32:
        return ops.gelu(a, approximate=False)
    return _exact_gelu(a)
