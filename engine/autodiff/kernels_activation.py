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

from engine import backend
from engine.autodiff.ops import _unbroadcast, as_tensor, sigmoid_array
from engine.autodiff.tensor import Tensor

__all__ = [
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
    softplus = xp.log1p(xp.exp(-xp.abs(x))) + xp.maximum(x, xp.zeros_like(x))
    t = xp.tanh(softplus)
    out = x * t
    return Tensor.from_op(out, (a,), lambda g: (g * (t + x * (1.0 - t * t) * sigmoid_array(x)),))


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
