"""Gradient clipping as Keras does it (``clipnorm``: each gradient's norm, ``global_clipnorm``:
their joint norm, ``clipvalue``: each element), and the in-place subtraction every update
rule ends with."""

from __future__ import annotations

from engine import backend


def clip_gradients(grads: list, clipnorm=None, clipvalue=None, global_clipnorm=None) -> list:
    """The gradients clipped by whichever of the three options is set (at most one is)."""
    xp = backend.xp
    if clipnorm is not None:
        c = clipnorm
        return [g * (c / xp.clip(xp.sqrt(xp.sum(g * g)), c, None)) for g in grads]
    if global_clipnorm is not None and grads:
        c = global_clipnorm
        total = None
        for g in grads:
            s = xp.astype(xp.sum(g * g), xp.float64)
            total = s if total is None else total + s
        scale = c / xp.clip(xp.sqrt(total), c, None)
        return [g * xp.astype(scale, g.dtype) for g in grads]
    if clipvalue is not None:
        v = clipvalue
        return [xp.clip(g, -v, v) for g in grads]
    return grads


def subtract_in_place(var, delta) -> None:
    """``var.data -= delta`` without a new array where the array allows it."""
    data = var.data
    flags = getattr(data, "flags", None)
    if flags is not None and not getattr(flags, "writeable", True):  # CuPy has no such flag
        var.data = data - delta
        return
    data -= delta
    var.data = data  # namespaces whose in-place operators return a new array
