"""What every primitive module needs: turning values into tensors, and summing a broadcast
gradient back to its operand's shape. Re-exported by :mod:`engine.autodiff.ops`."""

from __future__ import annotations

import math

from engine import backend
from engine.autodiff.tensor import Tensor, _as_array

__all__ = ["_unbroadcast", "as_tensor"]


def as_tensor(value, like: Tensor | None = None) -> Tensor:
    """Tensors pass through; arrays and scalars become constants (in ``like``'s dtype)."""
    if isinstance(value, Tensor):
        return value
    dtype = like.data.dtype if like is not None else None
    return Tensor(_as_array(value, dtype))


def _unbroadcast(g, shape: tuple[int, ...]):
    """Sum a broadcast gradient back down to ``shape``."""
    xp = backend.xp
    if tuple(g.shape) == tuple(shape):
        return g
    extra = len(g.shape) - len(shape)
    if extra > 0 and tuple(g.shape[extra:]) == tuple(shape) and 0 not in g.shape:
        # A bias's gradient (sum over the leading axes) as ones @ g: numpy's reduction over
        # leading axes of (64, 64, 128) took 0.15 ms against 0.03 ms for the BLAS gemv.
        rows = xp.reshape(g, (-1, math.prod(shape)))
        ones = xp.ones((rows.shape[0],), dtype=g.dtype)
        return xp.reshape(xp.matmul(ones, rows), shape)
    if extra > 0:
        g = xp.sum(g, axis=tuple(range(extra)))
    axes = tuple(i for i, d in enumerate(shape) if d == 1 and g.shape[i] != 1)
    if axes:
        g = xp.sum(g, axis=axes, keepdims=True)
    return g
