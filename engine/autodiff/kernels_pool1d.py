"""Average pooling along the steps of sequences ``(N, T, F)``, forward beside its VJP.

Each window's sum is ``pool_size`` strided slices of the steps axis added together (the
features stay the contiguous inner axis), divided by the number of real - not padding -
steps the window covers, as Keras does; the VJP spreads the scaled gradient back over the
same slices. Windows that tile the steps (``AveragePooling1D(2)``) take a reshape to ``(N,
To, k, F)`` and one reduction instead. Faster than running the 2-D kernel on a ``(N, 1, T,
F)`` view, whose second (width) pass is a full extra pass with a window of one.
"""

from __future__ import annotations

import numpy

from engine import backend
from engine.autodiff.kernels_conv import _add_into, output_length
from engine.autodiff.ops import as_tensor
from engine.autodiff.tensor import Tensor

__all__ = ["avg_pool1d"]


def _steps(start: int, count: int, stride: int) -> tuple:
    return (slice(None), slice(start, start + stride * (count - 1) + 1, stride), slice(None))


def avg_pool1d(x, pool_size: int, stride: int, pads: tuple[int, int] = (0, 0)) -> Tensor:
    """Mean over windows of ``pool_size`` steps of ``x (N, T, F)``, ``stride`` apart, with
    ``pads = (before, after)`` padding steps that never count."""
    x = as_tensor(x)
    if x.ndim != 3:
        raise ValueError(f"avg_pool1d expects a batch of sequences (N, T, F), got {x.shape}")
    xp = backend.xp
    n, t, f = x.shape
    before, after = pads
    out_steps = output_length(t, pool_size, stride, before, after)
    if out_steps < 1:
        raise ValueError(f"avg_pool1d: window {pool_size} does not fit in {t} steps")
    if stride == pool_size and not (before or after):
        return _avg_pool1d_tiled(x, pool_size, out_steps)
    data = x.data
    if before or after:
        data = xp.zeros((n, t + before + after, f), dtype=x.dtype)
        data[:, before : before + t, :] = x.data
        starts = numpy.arange(out_steps) * stride - before
        counts = numpy.minimum(starts + pool_size, t) - numpy.maximum(starts, 0)
        scale = backend.asarray((1.0 / counts).reshape(1, out_steps, 1), dtype=x.dtype)
    else:
        scale = 1.0 / pool_size
    out = xp.asarray(data[_steps(0, out_steps, stride)], copy=True)
    for i in range(1, pool_size):
        out += data[_steps(i, out_steps, stride)]
    out *= scale

    def vjp(g):
        scaled = g * scale
        padded = xp.zeros(tuple(data.shape), dtype=g.dtype)
        for i in range(pool_size):
            _add_into(padded, _steps(i, out_steps, stride), scaled)
        return (padded[:, before : before + t, :] if before or after else padded,)

    return Tensor.from_op(out, (x,), vjp)


def _avg_pool1d_tiled(x: Tensor, k: int, out_steps: int) -> Tensor:
    """Windows that tile the steps (stride = pool_size, no padding): a reshape to
    ``(N, To, k, F)`` and one reduction forward, one broadcast copy back."""
    xp = backend.xp
    n, t, f = x.shape
    used = out_steps * k
    windows = xp.reshape(x.data[:, :used, :], (n, out_steps, k, f))
    out = xp.sum(windows, axis=2)
    out *= 1.0 / k

    def vjp(g):
        part = xp.empty((n, out_steps, k, f), dtype=g.dtype)
        part[...] = xp.expand_dims(g * (1.0 / k), axis=2)
        if used == t:
            return (xp.reshape(part, (n, t, f)),)
        gx = xp.zeros(x.shape, dtype=g.dtype)  # a tail of steps no window covers
        gx[:, :used, :] = xp.reshape(part, (n, used, f))
        return (gx,)

    return Tensor.from_op(out, (x,), vjp)
