"""Fused activation kernels: each forward beside its hand-written VJP.

These are the activations Keras 3 names (``relu6``, ``silu``, ``hard_sigmoid``,
``hard_silu``, ``mish``, ``selu``, ``softsign``), Keras's parametrised ``ReLU`` (slope,
ceiling, threshold) and the learned ``PReLU``. Each is one primitive instead of a chain of
elementwise ops, so a training step makes one tape entry and the backward pass reuses what
the forward computed (the sigmoid of SiLU, the tanh of Mish). Everything runs on
``backend.xp`` with array-API spellings (CuPy-ready); masks are multiplied in rather than
selected with ``where``, which is several times slower in numpy.
"""

from __future__ import annotations

import math

from engine import backend
from engine.autodiff import ops
from engine.autodiff.ops import _unbroadcast, as_tensor, sigmoid_array
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


def relu6(a) -> Tensor:
    """``min(max(x, 0), 6)``."""
    a = as_tensor(a)
    xp = backend.xp
    x = a.data
    out = xp.clip(x, 0.0, 6.0)
    return Tensor.from_op(out, (a,), lambda g: (g * _mask((x > 0) & (x < 6), g),))


def relu_general(
    a, negative_slope: float = 0.0, max_value: float | None = None, threshold: float = 0.0
) -> Tensor:
    """Keras's ``ReLU``: ``max_value`` where ``x >= max_value``, ``x`` where
    ``threshold <= x < max_value``, ``negative_slope * (x - threshold)`` elsewhere."""
    a = as_tensor(a)
    xp = backend.xp
    x = a.data
    above = _mask(x >= threshold, x)
    below = 1.0 - above
    out = x * above + (negative_slope * (x - threshold)) * below if negative_slope else x * above
    if max_value is not None:
        capped = _mask(out < max_value, x)
        out = xp.minimum(out, xp.full_like(out, max_value))
    else:
        capped = None

    def vjp(g):
        slope = above + negative_slope * below if negative_slope else above
        return (g * slope if capped is None else g * slope * capped,)

    return Tensor.from_op(out, (a,), vjp)


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


def silu(a) -> Tensor:
    """``x * sigmoid(x)`` (Keras's ``silu``, also called ``swish``)."""
    a = as_tensor(a)
    x = a.data
    s = sigmoid_array(x)
    out = x * s
    return Tensor.from_op(out, (a,), lambda g: (g * (s + out * (1.0 - s)),))


def mish(a) -> Tensor:
    """``x * tanh(softplus(x))``."""
    a = as_tensor(a)
    xp = backend.xp
    x = a.data
    decay = xp.exp(-xp.abs(x))  # shared by softplus and, in the backward pass, sigmoid
    positive = _mask(x >= 0, x)
    t = xp.tanh(xp.log1p(decay) + x * positive)
    out = x * t

    def vjp(g):
        sigmoid = (positive + (1.0 - positive) * decay) / (1.0 + decay)
        return (g * (t + x * (1.0 - t * t) * sigmoid),)

    return Tensor.from_op(out, (a,), vjp)


def hard_sigmoid(a) -> Tensor:
    """Keras 3's ``hard_sigmoid``: ``relu6(x + 3) / 6``."""
    a = as_tensor(a)
    xp = backend.xp
    x = a.data
    out = xp.clip(x * (1.0 / 6.0) + 0.5, 0.0, 1.0)
    return Tensor.from_op(out, (a,), lambda g: (g * _mask((x > -3) & (x < 3), g) * (1.0 / 6.0),))


def hard_silu(a) -> Tensor:
    """``x * hard_sigmoid(x)`` (Keras's ``hard_silu``, also ``hard_swish``)."""
    a = as_tensor(a)
    xp = backend.xp
    x = a.data
    h = xp.clip(x * (1.0 / 6.0) + 0.5, 0.0, 1.0)
    out = x * h

    def vjp(g):
        inside = _mask((x > -3) & (x < 3), g)
        return (g * (h + x * inside * (1.0 / 6.0)),)

    return Tensor.from_op(out, (a,), vjp)


def selu(a) -> Tensor:
    """``scale * x`` where ``x > 0``, ``scale * alpha * (exp(x) - 1)`` elsewhere."""
    a = as_tensor(a)
    xp = backend.xp
    x = a.data
    positive = _mask(x > 0, x)
    neg_part = SELU_ALPHA * xp.expm1(xp.minimum(x, xp.zeros_like(x)))
    out = SELU_SCALE * (x * positive + neg_part * (1.0 - positive))
    return Tensor.from_op(
        out,
        (a,),
        lambda g: (g * (SELU_SCALE * (positive + (neg_part + SELU_ALPHA) * (1.0 - positive))),),
    )


def softsign(a) -> Tensor:
    """``x / (1 + |x|)``."""
    a = as_tensor(a)
    xp = backend.xp
    x = a.data
    denominator = 1.0 + xp.abs(x)
    out = x / denominator
    return Tensor.from_op(out, (a,), lambda g: (g / (denominator * denominator),))


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


def gelu(a, approximate: bool = False) -> Tensor:
    """GELU ``x * Phi(x)``. In float32 the exact (erf) form evaluates ``Phi`` with a
    rational-exponential fit accurate to float32 rounding on SIMD numpy operations, several
    times faster than ``scipy.special.erf``; float64 (gradient checks) and the tanh form use
    :func:`engine.autodiff.ops.gelu`."""
    a = as_tensor(a)
    xp = backend.xp
    if approximate or a.dtype != xp.float32:
        return ops.gelu(a, approximate)
    x = a.data
    z = xp.abs(x) * _INV_SQRT2
    t = 1.0 / (1.0 + 0.5 * z)
    poly = t * _ERFC[9] + _ERFC[8]
    for c in _ERFC[7::-1]:
        poly = poly * t + c
    gauss = xp.exp(-(z * z))  # exp(-x^2 / 2)
    tail = 0.5 * t * gauss * xp.exp(poly)  # Phi(-|x|), accurate in the tail
    positive = _mask(x >= 0, x)
    cdf = positive + (1.0 - 2.0 * positive) * tail
    out = x * cdf
    return Tensor.from_op(out, (a,), lambda g: (g * (cdf + x * gauss * _INV_SQRT_2PI),))
