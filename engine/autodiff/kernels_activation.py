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
from engine.autodiff import jit, jit_activations, ops
from engine.autodiff.elementwise import in_place, map_blocks
from engine.autodiff.ops import _unbroadcast, as_tensor
from engine.autodiff.tensor import Tensor, is_grad_enabled

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


def _unary(forward, derivative, a, blocked: bool = True, long_formula: bool = False) -> Tensor:
    """The primitive ``forward(x)`` whose VJP is ``derivative(x, g)`` (both elementwise).
    Formulas of a few operations (``blocked=False``) run on the whole array: for them the
    blocks' Python overhead outweighs the cache savings."""
    a = as_tensor(a)
    x = a.data
    if not blocked:
        run = lambda fn, *arrays: fn(*arrays)  # noqa: E731
    else:
        run = lambda fn, *arrays: map_blocks(fn, *arrays, long_formula=long_formula)  # noqa: E731
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
    ``hard_sigmoid(x) + x * inside / 6``), with no mask: ``w = clip(x, -3, 3) / 3`` and
    ``trunc(w)`` is -1, 0 or 1 exactly on the three pieces (``w`` reaches +-1 only at the
    clip), so ``w + 1/2 - trunc(w) / 2`` is the derivative. A comparison, a cast and a
    multiply per mask cost more than these 7 in-place passes."""
    xp = backend.xp
    w = xp.clip(x, -3.0, 3.0)
    w /= 3.0  # a division: exactly 1 at 3 and below 1 under it (1/3 rounded is not)
    d = xp.trunc(w)
    d *= -0.5
    d += w
    d += 0.5
    d *= g
    return d


_SELU_SA = SELU_SCALE * SELU_ALPHA


def _selu_value(x):
    """``scale * max(x, 0) + scale * alpha * expm1(min(x, 0))`` in six passes. ``clip``
    between two finite-or-infinite bounds, not ``minimum``/``maximum`` with a scalar (nor
    ``clip`` with a ``None`` bound, which becomes one): numpy vectorises the two-bound clip
    and not those (0.14 against 0.49 ms on a (64, 32, 28, 28) map); no mask, no ``where``."""
    xp = backend.xp
    negative = xp.clip(x, -math.inf, 0.0) if xp is numpy else xp.minimum(x, xp.zeros_like(x))
    negative = in_place(xp.expm1, negative, out=negative)
    negative *= _SELU_SA
    out = xp.clip(x, 0.0, math.inf) if xp is numpy else xp.maximum(x, xp.zeros_like(x))
    out *= SELU_SCALE
    out += negative
    return out


def _selu_grad_from_output(y, g):
    """The derivative from the output ``y`` (which the next layer keeps anyway): ``scale``
    where ``y > 0``, ``y + scale * alpha`` (= ``scale * alpha * exp(x)``) elsewhere, i.e.
    ``min(y, 0) + scale * alpha`` less ``scale * (alpha - 1)`` where ``y > 0``."""
    xp = backend.xp
    d = xp.clip(y, -math.inf, 0.0) if xp is numpy else xp.minimum(y, xp.zeros_like(y))
    d += _SELU_SA
    d -= _mask(y > 0, y) * (_SELU_SA - SELU_SCALE)
    d *= g
    return d


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
    if _compiled_float32(a):
        # One vectorised loop each way; the backward recomputes the sigmoid instead.
        return _unary_compiled(jit_activations.silu, jit_activations.silu_grad, a)
    s = map_blocks(_sigmoid_block, x)
    return Tensor.from_op(x * s, (a,), lambda g: (map_blocks(_silu_grad, x, s, g),))


def mish(a) -> Tensor:
    """``x * tanh(softplus(x))`` (a long formula: in cache-sized blocks even on one thread)."""
    return _unary(_mish, _mish_grad, a, long_formula=True)


def hard_sigmoid(a) -> Tensor:
    """Keras 3's ``hard_sigmoid``: ``relu6(x + 3) / 6``."""
    a = as_tensor(a)
    if _compiled_here(a):
        return _unary_compiled(jit_activations.hard_sigmoid, jit_activations.hard_sigmoid_grad, a)
    return _unary(_hard_sigmoid, _hard_sigmoid_grad, a, blocked=False)


def hard_silu(a) -> Tensor:
    """``x * hard_sigmoid(x)`` (Keras's ``hard_silu``, also ``hard_swish``)."""
    a = as_tensor(a)
    if _compiled_here(a):
        return _unary_compiled(jit_activations.hard_silu, jit_activations.hard_silu_grad, a)
    return _unary(_hard_silu, _hard_silu_grad, a)


def _compiled_here(a: Tensor) -> bool:
    """Whether the compiled loop runs (see :mod:`engine.autodiff.jit`): numpy floats only."""
    return jit.enabled() and a.data.dtype in (numpy.float32, numpy.float64)


def _compiled_float32(a: Tensor) -> bool:
    """Whether the compiled loops with an exponential run: float32 only (float64 is for the
    gradient checks, which keep the numpy formulas)."""
    return jit.enabled() and a.data.dtype == numpy.float32


def _unary_compiled(forward, derivative, a: Tensor) -> Tensor:
    """As :func:`_unary`, with one compiled loop each way (same values, bit for bit)."""
    x = a.data
    return Tensor.from_op(forward(x), (a,), lambda g: (derivative(x, g),))


def selu(a) -> Tensor:
    """``scale * x`` where ``x > 0``, ``scale * alpha * (exp(x) - 1)`` elsewhere. The backward
    pass works from the output: no second ``expm1``."""
    a = as_tensor(a)
    y = map_blocks(_selu_value, a.data)
    return Tensor.from_op(y, (a,), lambda g: (map_blocks(_selu_grad_from_output, y, g),))


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

# Phi(x) = (1 + tanh(x P(x^2))) / 2 with P of degree 6, fitted (Lawson's weighted minimax,
# float64) to atanh(erf(x / sqrt(2))) / x on [0, 6], each point weighted by how much an error
# in P moves Phi there: |Phi error| <= 3e-8 in exact arithmetic and <= 1e-7 evaluated in
# float32 (float32 rounding of values near 1), i.e. float32 rounding over the whole line.
# x is clipped to [-6, 6], where u = x P(x^2) = +-11.8 and tanh(u) rounds to exactly +-1, so
# Phi is exactly 0 in the far negative tail (gelu -> 0 with no residue) and 1 in the far
# positive one. 16 passes and a tanh (cheaper than exp) against the erfc fit's 30 and an exp;
# the tail is accurate in absolute terms (|gelu error| < 4e-7 everywhere), as PyTorch's own
# vectorised erf is.
_PHI_TANH = (
    7.97884941e-01,
    3.63330846e-02,
    -3.25949759e-05,
    -5.53061935e-05,
    3.96474438e-06,
    -1.32263336e-07,
    1.75617061e-09,
)
_PHI_TANH_FLOAT32 = numpy.array(_PHI_TANH, dtype=numpy.float32)  # for the compiled loop
_PHI_CLIP = 6.0
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_GELU_CUBIC = 0.044715  # the tanh form's cubic coefficient (Hendrycks & Gimpel)


def _gelu_cdf(x):
    """``(Phi(x), u, u^2)`` with ``u = clip(x, -6, 6)``: the tanh fit above, in place on the
    formula's own temporaries (no mask, no abs: the fit is odd in x about Phi = 1/2)."""
    xp = backend.xp
    u = xp.clip(x, -_PHI_CLIP, _PHI_CLIP)
    s = xp.multiply(u, u)
    p = xp.multiply(s, _PHI_TANH[6])
    p += _PHI_TANH[5]
    for c in _PHI_TANH[4::-1]:
        p *= s
        p += c
    p *= u
    p = in_place(xp.tanh, p, out=p)
    p *= 0.5
    p += 0.5
    return p, u, s


def _gelu_value(x):
    """``x Phi(x)`` alone (inference)."""
    cdf = _gelu_cdf(x)[0]
    cdf *= x
    return cdf


def _gelu_value_and_slope(x):
    """``(x Phi(x), Phi(x) + x phi(x))``: the derivative is computed here, from the pieces
    of ``Phi``'s evaluation still in cache (``u^2`` is reused), so the backward pass is one
    multiply. ``u phi(u)`` stands for ``x phi(x)``: they differ only where |x| > 6, by less
    than 4e-8 (float32 rounding of the derivative's 0 or 1 there)."""
    xp = backend.xp
    cdf, u, s = _gelu_cdf(x)
    out = xp.multiply(x, cdf)
    s *= -0.5
    q = in_place(xp.exp, s, out=s)
    q *= u
    q *= _INV_SQRT_2PI
    q += cdf
    return out, q


def _exact_gelu(a: Tensor) -> Tensor:
    """Training keeps the derivative ``Phi(x) + x phi(x)`` (one activation-sized array), so
    the backward pass is ``g`` times it."""
    x = a.data
    if _compiled_float32(a):
        # The same fit in one vectorised loop each way; the backward recomputes Phi and phi
        # from x rather than keep the slope (one activation-sized array less).
        phi = _PHI_TANH_FLOAT32
        return Tensor.from_op(
            jit_activations.gelu(x, phi), (a,), lambda g: (jit_activations.gelu_grad(x, g, phi),)
        )
    if not (is_grad_enabled() and a.requires_grad):
        return Tensor.from_op(map_blocks(_gelu_value, x, long_formula=True), (a,), None)
    out, slope = map_blocks(_gelu_value_and_slope, x, outputs=2, long_formula=True)
    return Tensor.from_op(out, (a,), lambda g: (backend.xp.multiply(g, slope),))


def _gelu_tanh_value(x):
    """``x (1 + t) / 2`` with ``t = tanh(x (a + b x^2))`` (the tanh form's
    ``tanh(sqrt(2 / pi) (x + 0.044715 x^3))``), in place (inference)."""
    xp = backend.xp
    t = xp.multiply(x, x)
    t *= _SQRT_2_OVER_PI * _GELU_CUBIC
    t += _SQRT_2_OVER_PI
    t *= x
    t = in_place(xp.tanh, t, out=t)
    t += 1.0
    t *= x
    t *= 0.5
    return t


def _gelu_tanh_value_and_slope(x):
    """``(x (1 + t) / 2, (1 + t) / 2 * (1 + (1 - t) x sqrt(2 / pi) (1 + 3 * 0.044715 x^2)))``:
    the derivative ``(1 + t) / 2 + x (1 - t^2) / 2 * inner'`` with ``1 - t^2`` factored,
    from the forward pass's ``x^2`` and ``t``."""
    xp = backend.xp
    s = xp.multiply(x, x)
    t = xp.multiply(s, _SQRT_2_OVER_PI * _GELU_CUBIC)
    t += _SQRT_2_OVER_PI
    t *= x
    t = in_place(xp.tanh, t, out=t)
    w = xp.add(t, 1.0)
    out = xp.multiply(w, x)
    out *= 0.5
    s *= _SQRT_2_OVER_PI * 3.0 * _GELU_CUBIC
    s += _SQRT_2_OVER_PI
    s *= x
    d = in_place(xp.subtract, 1.0, t, out=t)
    d *= s
    d += 1.0
    d *= w
    d *= 0.5
    return out, d


def _tanh_gelu(a: Tensor) -> Tensor:
    """As :func:`_exact_gelu`: training keeps the derivative, the backward pass multiplies."""
    x = a.data
    if not (is_grad_enabled() and a.requires_grad):
        return Tensor.from_op(map_blocks(_gelu_tanh_value, x, long_formula=True), (a,), None)
    out, slope = map_blocks(_gelu_tanh_value_and_slope, x, outputs=2, long_formula=True)
    return Tensor.from_op(out, (a,), lambda g: (backend.xp.multiply(g, slope),))


def gelu(a, approximate: bool = False) -> Tensor:
    """GELU ``x * Phi(x)``, or with ``approximate`` its tanh form. In float32 the exact form
    evaluates ``Phi`` with a tanh fit accurate to float32 rounding (far faster than
    ``scipy.special.erf``); in float64 (gradient checks) it uses erf
    through :func:`engine.autodiff.ops.gelu`."""
    a = as_tensor(a)
    if approximate:
        return _tanh_gelu(a)
    if a.dtype != backend.xp.float32:
        return ops.gelu(a, approximate=False)
    return _exact_gelu(a)
