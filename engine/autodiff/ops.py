"""The differentiable primitives: each forward computation beside its vector-Jacobian product.

Derived operations (``sub``, ``neg``, ``square``, ``mean``) are written in terms of others
where that costs nothing, so they need no VJP of their own. Everything calls the current
backend namespace (``backend.xp``) with array-API spellings, so the same code runs on numpy,
CuPy and the strict test namespace. The activations are in :mod:`ops_activations`, the
helpers every primitive module shares in :mod:`ops_base`; both are re-exported here.
"""

from __future__ import annotations

from collections.abc import Sequence

from engine import backend
from engine.autodiff.ops_activations import (  # noqa: F401 - re-exported
    elu,
    gelu,
    leaky_relu,
    log_softmax,
    relu,
    sigmoid,
    sigmoid_array,
    softmax,
    softplus,
    tanh,
)
from engine.autodiff.ops_base import _unbroadcast, as_tensor  # noqa: F401 - re-exported
from engine.autodiff.tensor import Tensor, _as_array

__all__ = [
    "add",
    "sub",
    "mul",
    "div",
    "neg",
    "power",
    "square",
    "sqrt",
    "exp",
    "log",
    "abs_",
    "matmul",
    "tanh",
    "sigmoid",
    "relu",
    "leaky_relu",
    "elu",
    "gelu",
    "softplus",
    "softmax",
    "log_softmax",
    "sum_",
    "mean",
    "max_",
    "reshape",
    "transpose",
    "concat",
    "getitem",
    "maximum",
    "minimum",
    "where",
    "clip",
    "as_tensor",
    "stop_gradient",
    "embedding_lookup",
    "dropout_mask_mul",
]


# -- arithmetic -------------------------------------------------------------------------------


def add(a, b) -> Tensor:
    a, b = _pair(a, b)
    return Tensor.from_op(
        a.data + b.data,
        (a, b),
        lambda g: (_unbroadcast(g, a.shape), _unbroadcast(g, b.shape)),
    )


def mul(a, b) -> Tensor:
    a, b = _pair(a, b)
    return Tensor.from_op(
        a.data * b.data,
        (a, b),
        lambda g: (
            _unbroadcast(g * b.data, a.shape) if a.requires_grad else None,
            _unbroadcast(g * a.data, b.shape) if b.requires_grad else None,
        ),
    )


def div(a, b) -> Tensor:
    a, b = _pair(a, b)
    out = a.data / b.data
    return Tensor.from_op(
        out,
        (a, b),
        lambda g: (
            _unbroadcast(g / b.data, a.shape) if a.requires_grad else None,
            _unbroadcast(-g * out / b.data, b.shape) if b.requires_grad else None,
        ),
    )


def neg(a) -> Tensor:
    a = as_tensor(a)
    return Tensor.from_op(-a.data, (a,), lambda g: (-g,))


def sub(a, b) -> Tensor:
    a, b = _pair(a, b)
    return Tensor.from_op(
        a.data - b.data,
        (a, b),
        lambda g: (_unbroadcast(g, a.shape), _unbroadcast(-g, b.shape)),
    )


def power(a, exponent: float) -> Tensor:
    """``a ** exponent`` for a constant Python exponent."""
    a = as_tensor(a)
    exponent = float(exponent)
    return Tensor.from_op(
        a.data**exponent, (a,), lambda g: (g * exponent * a.data ** (exponent - 1.0),)
    )


def square(a) -> Tensor:
    a = as_tensor(a)
    return Tensor.from_op(a.data * a.data, (a,), lambda g: (2.0 * g * a.data,))


def sqrt(a) -> Tensor:
    a = as_tensor(a)
    out = backend.xp.sqrt(a.data)
    return Tensor.from_op(out, (a,), lambda g: (g * 0.5 / out,))


def exp(a) -> Tensor:
    a = as_tensor(a)
    out = backend.xp.exp(a.data)
    return Tensor.from_op(out, (a,), lambda g: (g * out,))


def log(a) -> Tensor:
    a = as_tensor(a)
    return Tensor.from_op(backend.xp.log(a.data), (a,), lambda g: (g / a.data,))


def abs_(a) -> Tensor:
    a = as_tensor(a)
    xp = backend.xp
    return Tensor.from_op(xp.abs(a.data), (a,), lambda g: (g * xp.sign(a.data),))


def maximum(a, b) -> Tensor:
    a, b = _pair(a, b)
    xp = backend.xp
    mask = a.data >= b.data
    return Tensor.from_op(
        xp.maximum(a.data, b.data),
        (a, b),
        lambda g: (
            _unbroadcast(xp.where(mask, g, xp.zeros_like(g)), a.shape),
            _unbroadcast(xp.where(mask, xp.zeros_like(g), g), b.shape),
        ),
    )


def minimum(a, b) -> Tensor:
    return neg(maximum(neg(a), neg(b)))


def where(condition, a, b) -> Tensor:
    """Elementwise choice; ``condition`` is a boolean array (not differentiated)."""
    a, b = _pair(a, b)
    xp = backend.xp
    cond = condition.data if isinstance(condition, Tensor) else _as_array(condition)
    return Tensor.from_op(
        xp.where(cond, a.data, b.data),
        (a, b),
        lambda g: (
            _unbroadcast(xp.where(cond, g, xp.zeros_like(g)), a.shape),
            _unbroadcast(xp.where(cond, xp.zeros_like(g), g), b.shape),
        ),
    )


def clip(a, low: float, high: float) -> Tensor:
    a = as_tensor(a)
    xp = backend.xp
    inside = (a.data >= low) & (a.data <= high)
    return Tensor.from_op(
        xp.clip(a.data, low, high), (a,), lambda g: (xp.where(inside, g, xp.zeros_like(g)),)
    )


def stop_gradient(a) -> Tensor:
    return Tensor(as_tensor(a).data)


def matmul(a, b) -> Tensor:
    """Matrix product; batched over leading axes like ``xp.matmul``."""
    a, b = _pair(a, b)
    xp = backend.xp
    if a.ndim > 2 and b.ndim == 2:
        return _folded_matmul(a, b)

    def vjp(g):
        if a.ndim == 1 and b.ndim == 1:  # a dot product: g is a scalar
            return (
                g * b.data if a.requires_grad else None,
                g * a.data if b.requires_grad else None,
            )
        ga = gb = None
        if a.requires_grad:
            if b.ndim == 1:
                ga = g[..., None] * b.data
            else:
                ga = _unbroadcast(xp.matmul(g, _swap_last(b.data)), a.shape)
        if b.requires_grad:
            if a.ndim == 1:
                gb = a.data[:, None] * g[..., None, :]
            elif a.ndim == 2 and b.ndim == 2:
                gb = xp.matmul(_swap_last(a.data), g)
            else:
                gb = _unbroadcast(xp.matmul(_swap_last(a.data), g), b.shape)
        return ga, gb

    return Tensor.from_op(xp.matmul(a.data, b.data), (a, b), vjp)


def _folded_matmul(a: Tensor, b: Tensor) -> Tensor:
    """``(..., k) @ (k, n)`` (Dense on sequences, attention projections) as ONE 2-D GEMM over
    the leading axes folded together: numpy runs a stacked matmul against a broadcast matrix
    as one small GEMM per leading index, about 8x slower for a (64, 64, 128) @ (128, 256)
    and its kernel gradient. Same values and gradients as the batched product."""
    xp = backend.xp
    k, n = b.shape
    lead = tuple(a.shape[:-1])
    a2 = xp.reshape(a.data, (-1, k))

    def vjp(g):
        g2 = xp.reshape(g, (-1, n))
        ga = xp.reshape(xp.matmul(g2, _swap_last(b.data)), a.shape) if a.requires_grad else None
        gb = xp.matmul(_swap_last(a2), g2) if b.requires_grad else None
        return ga, gb

    return Tensor.from_op(xp.reshape(xp.matmul(a2, b.data), (*lead, n)), (a, b), vjp)


def _swap_last(x):
    axes = list(range(len(x.shape)))
    axes[-1], axes[-2] = axes[-2], axes[-1]
    return backend.permute_dims(x, axes)


# -- reductions ------------------------------------------------------------------------------


def _norm_axes(axis, ndim: int) -> tuple[int, ...]:
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, int):
        axis = (axis,)
    return tuple(sorted(ax % ndim for ax in axis))


def _expand_back(g, axes: tuple[int, ...], keepdims: bool, shape):
    """Give a reduced gradient its reduced axes back so it broadcasts to ``shape``."""
    if not keepdims:
        new_shape = list(g.shape)
        for ax in axes:
            new_shape.insert(ax, 1)
        g = backend.xp.reshape(g, tuple(new_shape))
    return backend.xp.broadcast_to(g, tuple(shape))


def sum_(a, axis=None, keepdims: bool = False) -> Tensor:
    a = as_tensor(a)
    axes = _norm_axes(axis, a.ndim)
    return Tensor.from_op(
        backend.xp.sum(a.data, axis=axes, keepdims=keepdims),
        (a,),
        lambda g: (_expand_back(g, axes, keepdims, a.shape),),
    )


def mean(a, axis=None, keepdims: bool = False) -> Tensor:
    a = as_tensor(a)
    axes = _norm_axes(axis, a.ndim)
    count = 1
    for ax in axes:
        count *= a.shape[ax]
    return mul(sum_(a, axes, keepdims), 1.0 / count)


def max_(a, axis=None, keepdims: bool = False) -> Tensor:
    a = as_tensor(a)
    xp = backend.xp
    axes = _norm_axes(axis, a.ndim)
    out = xp.max(a.data, axis=axes, keepdims=True)

    def vjp(g):
        # Ties share the gradient equally, so the VJP is the derivative of a symmetric max.
        mask = xp.astype(a.data == out, a.data.dtype)
        mask = mask / xp.sum(mask, axis=axes, keepdims=True)
        return (mask * _expand_back(g, axes, keepdims, a.shape),)

    result = (
        out
        if keepdims
        else xp.reshape(out, tuple(d for i, d in enumerate(a.shape) if i not in axes))
    )
    return Tensor.from_op(result, (a,), vjp)


# -- shapes ----------------------------------------------------------------------------------


def reshape(a, shape: Sequence[int]) -> Tensor:
    a = as_tensor(a)
    xp = backend.xp
    return Tensor.from_op(
        xp.reshape(a.data, tuple(shape)), (a,), lambda g: (xp.reshape(g, a.shape),)
    )


def transpose(a, axes: Sequence[int] | None = None) -> Tensor:
    a = as_tensor(a)
    axes = tuple(reversed(range(a.ndim))) if axes is None else tuple(axes)
    inverse = tuple(sorted(range(len(axes)), key=lambda i: axes[i]))
    return Tensor.from_op(
        backend.permute_dims(a.data, axes), (a,), lambda g: (backend.permute_dims(g, inverse),)
    )


def concat(tensors: Sequence, axis: int = -1) -> Tensor:
    tensors = [as_tensor(t) for t in tensors]
    ndim = tensors[0].ndim
    axis = axis % ndim
    sizes = [t.shape[axis] for t in tensors]

    def vjp(g):
        parts, start = [], 0
        for size in sizes:
            index = [slice(None)] * ndim
            index[axis] = slice(start, start + size)
            parts.append(g[tuple(index)])
            start += size
        return tuple(parts)

    return Tensor.from_op(backend.concat([t.data for t in tensors], axis=axis), tensors, vjp)


def getitem(a, index) -> Tensor:
    """Basic slicing (ints, slices, ``None``, ``...``); not fancy indexing."""
    a = as_tensor(a)
    xp = backend.xp
    # The array API wants every axis indexed: a trailing ``...`` says "the rest, whole".
    index = index if isinstance(index, tuple) else (index,)
    if not any(i is Ellipsis for i in index):
        index = index + (Ellipsis,)
    # Assignment takes no new axes (``None``): drop them from the index and from ``g``.
    store_index = tuple(i for i in index if i is not None)

    def vjp(g):
        full = xp.zeros(a.shape, dtype=g.dtype)
        if len(store_index) != len(index):
            g = xp.reshape(g, tuple(full[store_index].shape))
        full[store_index] = g
        return (full,)

    return Tensor.from_op(a.data[index], (a,), vjp)


def embedding_lookup(table, indices) -> Tensor:
    """Rows of ``table`` picked by integer ``indices`` (any shape); repeated rows accumulate."""
    table = as_tensor(table)
    xp = backend.xp
    idx = indices.data if isinstance(indices, Tensor) else _as_array(indices)
    flat = xp.reshape(idx, (-1,))
    out = xp.reshape(xp.take(table.data, flat, axis=0), tuple(idx.shape) + (table.shape[1],))

    def vjp(g):
        full = xp.zeros(table.shape, dtype=g.dtype)
        return (backend.scatter_add(full, flat, xp.reshape(g, (-1, table.shape[1]))),)

    return Tensor.from_op(out, (table,), vjp)


def dropout_mask_mul(a, mask) -> Tensor:
    """``a * mask`` for a constant mask array (already scaled by 1 / keep probability)."""
    a = as_tensor(a)
    return Tensor.from_op(a.data * mask, (a,), lambda g: (g * mask,))


def _pair(a, b) -> tuple[Tensor, Tensor]:
    if isinstance(a, Tensor):
        return a, as_tensor(b, like=a)
    b = as_tensor(b)
    return as_tensor(a, like=b), b


# -- operator overloading on Tensor ----------------------------------------------------------


def _bind_operators() -> None:
    Tensor.__add__ = lambda self, other: add(self, other)
    Tensor.__radd__ = lambda self, other: add(other, self)
    Tensor.__sub__ = lambda self, other: sub(self, other)
    Tensor.__rsub__ = lambda self, other: sub(other, self)
    Tensor.__mul__ = lambda self, other: mul(self, other)
    Tensor.__rmul__ = lambda self, other: mul(other, self)
    Tensor.__truediv__ = lambda self, other: div(self, other)
    Tensor.__rtruediv__ = lambda self, other: div(other, self)
    Tensor.__neg__ = lambda self: neg(self)
    Tensor.__pow__ = lambda self, exponent: power(self, exponent)
    Tensor.__matmul__ = lambda self, other: matmul(self, other)
    Tensor.__rmatmul__ = lambda self, other: matmul(other, self)
    Tensor.__getitem__ = lambda self, index: getitem(self, index)
    Tensor.reshape = lambda self, *shape: reshape(
        self, shape[0] if len(shape) == 1 and not isinstance(shape[0], int) else shape
    )
    Tensor.sum = lambda self, axis=None, keepdims=False: sum_(self, axis, keepdims)
    Tensor.mean = lambda self, axis=None, keepdims=False: mean(self, axis, keepdims)
    Tensor.T = property(lambda self: transpose(self))


_bind_operators()
