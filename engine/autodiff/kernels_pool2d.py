"""Window and global pooling primitives (channels-first ``(N, C, H, W)``), each forward
beside its VJP. Re-exported by :mod:`engine.autodiff.kernels_conv`.

- Pooling is separable: a window maximum (or sum) is the maximum over the window's rows of
  the maximum over its columns. We reduce over rows first (slices whose inner axis is
  contiguous, the fast case for SIMD) and then over columns, with ``kh + kw - 2``
  elementwise operations instead of ``kh*kw - 1``. Reducing a reshaped
  ``(N, C, H/p, p, W/p, p)`` view with ``max(axis=(3, 5))`` was 30x slower in numpy. The
  VJPs route gradients with arithmetic masks, not ``where`` (``where`` with a
  data-dependent mask is branchy and ~15x slower in numpy than a multiply by the mask).
  Windows that tile the input (stride = window, no padding: ``MaxPooling2D(2)``) take a
  shorter backward: each window offset is one strided view, compared once with the result,
  and its share of the gradient is written straight into place (about 3x faster).
- Max-pooling ties: the whole gradient of a window goes to ONE maximal element - the
  leftmost column that holds the maximum, and the topmost maximal element of that column
  (column-major first maximum). Global max pooling gives it to the first maximum in
  row-major order. Either way the gradient is a true subgradient (it sums to the upstream
  gradient), unlike a mask that credits every tied element.
- "same" average pooling divides by the number of real (non-padding) elements in each
  window, as Keras/TensorFlow do (ONNX ``count_include_pad=0``).
"""

from __future__ import annotations

import math

import numpy

from engine import backend
from engine.autodiff.kernels_conv_shapes import (
    _add_into,
    _check_image,
    _crop,
    _pad_spatial,
    _pair,
    _window,
    output_length,
    resolve_padding,
)
from engine.autodiff.ops import as_tensor
from engine.autodiff.tensor import Tensor

__all__ = ["max_pool2d", "avg_pool2d", "global_avg_pool2d", "global_max_pool2d"]


# -- window pooling --------------------------------------------------------------------------


def _pool_geometry(x: Tensor, pool_size, strides, padding):
    kh, kw = _pair(pool_size)
    sh, sw = _pair(pool_size if strides is None else strides)
    h, w = x.shape[2], x.shape[3]
    pads = resolve_padding(padding, (h, w), (kh, kw), (sh, sw))
    ho = output_length(h, kh, sh, *pads[0])
    wo = output_length(w, kw, sw, *pads[1])
    if ho < 1 or wo < 1:
        raise ValueError(f"pooling: window {kh}x{kw} does not fit in the {h}x{w} input")
    return (kh, kw), (sh, sw), pads, (ho, wo)


def _reduce_windows(a, axis: int, k: int, stride: int, count: int, combine):
    """``combine`` the ``k`` window slices of ``a`` along ``axis`` (2 or 3)."""
    index = [slice(None)] * 4
    index[axis] = _window(0, count, stride)
    acc = a[tuple(index)]
    for off in range(1, k):
        index[axis] = _window(off, count, stride)
        acc = combine(acc, a[tuple(index)])
    return acc


def _spread(shape, dtype, axis: int, k: int, stride: int, count: int, parts):
    """Inverse of a window reduction: send ``parts(off)`` to window slice ``off`` along
    ``axis`` of a new array of ``shape``, summing where windows overlap."""
    xp = backend.xp
    size = shape[axis]
    disjoint = stride >= k
    covers = stride == k and count * k == size
    out = xp.empty(shape, dtype=dtype) if covers else xp.zeros(shape, dtype=dtype)
    index = [slice(None)] * 4
    for off in range(k):
        index[axis] = _window(off, count, stride)
        if disjoint:
            out[tuple(index)] = parts(off)
        else:
            _add_into(out, tuple(index), parts(off))
    return out


def _route_max(g, source, reduced, axis: int, k: int, stride: int, count: int):
    """VJP of ``reduced = max over the k window slices of source``: each gradient goes to
    the first slice (lowest offset) that equals the maximum."""
    xp = backend.xp
    parts, remaining = [], g
    index = [slice(None)] * 4
    for off in range(k - 1):
        index[axis] = _window(off, count, stride)
        taken = remaining * xp.astype(source[tuple(index)] == reduced, g.dtype)
        remaining = remaining - taken  # exactly zero once a slice has taken the gradient
        parts.append(taken)
    parts.append(remaining)  # nothing earlier matched, so the last slice holds the maximum
    return _spread(tuple(source.shape), g.dtype, axis, k, stride, count, parts.__getitem__)


def _max_pool_tiled(x: Tensor, kh: int, kw: int, ho: int, wo: int) -> Tensor:
    """Max-pooling whose windows tile the input (stride = window, no padding; the usual
    ``MaxPooling2D(2)``): each window offset is one strided view, compared once with the
    result in the backward pass. Offsets go column-major, so the first match is the tie
    winner of the general path, and the gradient is written straight into its place."""
    xp = backend.xp
    data = x.data
    offsets = [(a, b) for b in range(kw) for a in range(kh)]  # column-major: the tie order

    def view(a, b):
        return (slice(None), slice(None), _window(a, ho, kh), _window(b, wo, kw))

    # Separable forward (rows, then columns): kh + kw - 2 passes instead of kh*kw - 1.
    rows_max = _reduce_windows(data, 2, kh, kh, ho, xp.maximum)
    out = _reduce_windows(rows_max, 3, kw, kw, wo, xp.maximum)
    if kh == kw == 1:
        out = xp.asarray(out, copy=True)

    def vjp(g):
        covers = x.shape[2] == kh * ho and x.shape[3] == kw * wo
        gx = xp.empty(x.shape, dtype=g.dtype) if covers else xp.zeros(x.shape, dtype=g.dtype)
        remaining = g
        for a, b in offsets[:-1]:
            index = view(a, b)
            hit = data[index] == out
            if xp is numpy:  # float * bool needs no float mask; write into place directly
                taken = gx[index]
                numpy.multiply(remaining, hit, out=taken)
            else:
                taken = remaining * xp.astype(hit, g.dtype)
                gx[index] = taken
            # Exactly zero once an offset took the gradient (in place after the first, as
            # ``remaining`` is then our own array, not the caller's ``g``).
            if xp is numpy and remaining is not g:
                numpy.subtract(remaining, taken, out=remaining)
            else:
                remaining = remaining - taken
        gx[view(*offsets[-1])] = remaining  # nothing earlier matched, so this is the maximum
        return (gx,)

    return Tensor.from_op(out, (x,), vjp)


def _max_pool_2x2(x: Tensor, ho: int, wo: int) -> Tensor:
    """numpy's ``MaxPooling2D(2)`` (2x2 windows, stride 2, no padding): the forward pass
    keeps its two comparisons as compact masks so that the backward pass is four
    arithmetic passes with no comparison and no strided read of the input.

    Forward: the row pairs ``xe = x[2i]`` and ``xo = x[2i+1]`` (contiguous inner axis) give
    ``r = max(xe, xo)`` and ``top = xe >= xo`` (bool, ``(N, C, Ho, 2*Wo)``); the column pairs
    of ``r`` give ``out`` and ``left = r[2j] >= r[2j+1]`` (bool, ``(N, C, Ho, Wo)``). The
    masks are an eighth and a sixteenth of the input's float32 bytes. Backward: the
    gradient goes to the left column where ``left``, else the right (``g * left`` and
    ``g - that``), then to the top row of that column where ``top``, else the bottom. That
    is the column-major first maximum of the general path, ties included. Measured on one
    core (forward + backward): CIFAR's first pool (128, 32, 32, 32) 27 -> 11 ms, the MNIST
    CNN's (64, 32, 28, 28) 4.0 -> 2.8 ms; the previous per-offset compare-and-subtract
    backward did three strided comparisons with the input and six strided passes.
    """
    data = x.data
    n, c = x.shape[0], x.shape[1]
    cols = slice(0, 2 * wo)
    shape = tuple(data.shape)
    even = (slice(None), slice(None), slice(0, 2 * ho, 2), cols)
    odd = (slice(None), slice(None), slice(1, 2 * ho, 2), cols)
    xe, xo = data[even], data[odd]
    r = numpy.maximum(xe, xo)
    top = numpy.greater_equal(xe, xo)
    re, ro = r[..., 0::2], r[..., 1::2]
    out = numpy.maximum(re, ro)
    left = numpy.greater_equal(re, ro)
    del r, re, ro, xe, xo

    def vjp(g):
        covers = shape[2] == 2 * ho and shape[3] == 2 * wo
        gx = numpy.empty(shape, g.dtype) if covers else numpy.zeros(shape, g.dtype)
        g_rows = numpy.empty((n, c, ho, wo, 2), g.dtype)  # each window's row gradient
        numpy.multiply(g, left, out=g_rows[..., 0])  # float * bool: no float mask
        numpy.subtract(g, g_rows[..., 0], out=g_rows[..., 1])
        g_rows = numpy.reshape(g_rows, (n, c, ho, 2 * wo))
        upper = gx[even]
        numpy.multiply(g_rows, top, out=upper)
        numpy.subtract(g_rows, upper, out=gx[odd])
        return (gx,)

    return Tensor.from_op(out, (x,), vjp)


def max_pool2d(x, pool_size=(2, 2), strides=None, padding="valid") -> Tensor:
    """Maximum over ``pool_size`` windows of ``x (N, C, H, W)``; ``strides`` defaults to
    ``pool_size``. Padding never wins (it is -inf)."""
    x = as_tensor(x)
    _check_image("max_pool2d", x)
    xp = backend.xp
    (kh, kw), (sh, sw), pads, (ho, wo) = _pool_geometry(x, pool_size, strides, padding)
    h, w = x.shape[2], x.shape[3]
    if (kh, kw) == (sh, sw) and pads == ((0, 0), (0, 0)):
        if (kh, kw) == (2, 2) and xp is numpy:
            return _max_pool_2x2(x, ho, wo)
        return _max_pool_tiled(x, kh, kw, ho, wo)
    xpad = _pad_spatial(x.data, pads, -math.inf)
    rows_max = _reduce_windows(xpad, 2, kh, sh, ho, xp.maximum)  # (N, C, Ho, Wp)
    out = _reduce_windows(rows_max, 3, kw, sw, wo, xp.maximum)  # (N, C, Ho, Wo)
    if kh == kw == 1:
        out = xp.asarray(out, copy=True)

    def vjp(g):
        g_rows = _route_max(g, rows_max, out, 3, kw, sw, wo)
        g_pad = _route_max(g_rows, xpad, rows_max, 2, kh, sh, ho)
        return (_crop(g_pad, pads, h, w),)

    return Tensor.from_op(out, (x,), vjp)


def _valid_counts(size: int, k: int, stride: int, pad_before: int, count: int):
    """How many real (non-padding) elements each window along one axis covers (host)."""
    starts = numpy.arange(count) * stride - pad_before
    return numpy.minimum(starts + k, size) - numpy.maximum(starts, 0)


def avg_pool2d(x, pool_size=(2, 2), strides=None, padding="valid") -> Tensor:
    """Mean over ``pool_size`` windows of ``x (N, C, H, W)``; padding is excluded from each
    window's count (Keras ``padding="same"``, ONNX ``count_include_pad=0``)."""
    x = as_tensor(x)
    _check_image("avg_pool2d", x)
    xp = backend.xp
    (kh, kw), (sh, sw), pads, (ho, wo) = _pool_geometry(x, pool_size, strides, padding)
    h, w = x.shape[2], x.shape[3]
    dtype = x.dtype
    # The real part of a window is a rectangle, so its size factors into rows x columns.
    if pads[0] == (0, 0):
        inv_rows = 1.0 / kh
    else:
        counts = _valid_counts(h, kh, sh, pads[0][0], ho).reshape(ho, 1)
        inv_rows = backend.asarray(1.0 / counts, dtype=dtype)
    if pads[1] == (0, 0):
        inv_cols = 1.0 / kw
    else:
        inv_cols = backend.asarray(1.0 / _valid_counts(w, kw, sw, pads[1][0], wo), dtype=dtype)
    xpad = _pad_spatial(x.data, pads, 0.0)
    rows_mean = _reduce_windows(xpad, 2, kh, sh, ho, xp.add) * inv_rows
    out = _reduce_windows(rows_mean, 3, kw, sw, wo, xp.add) * inv_cols
    rows_shape = tuple(rows_mean.shape)
    pad_shape = tuple(xpad.shape)

    def vjp(g):
        g_cols = g * inv_cols
        g_rows = _spread(rows_shape, g.dtype, 3, kw, sw, wo, lambda _: g_cols) * inv_rows
        g_pad = _spread(pad_shape, g.dtype, 2, kh, sh, ho, lambda _: g_rows)
        return (_crop(g_pad, pads, h, w),)

    return Tensor.from_op(out, (x,), vjp)


# -- global pooling --------------------------------------------------------------------------


def global_avg_pool2d(x, keepdims: bool = False) -> Tensor:
    """Mean over height and width: ``(N, C, H, W) -> (N, C)`` (``(N, C, 1, 1)`` if keepdims)."""
    x = as_tensor(x)
    _check_image("global_avg_pool2d", x)
    xp = backend.xp
    n, c, h, w = x.shape
    scale = 1.0 / (h * w)
    out = xp.sum(xp.reshape(x.data, (n, c, h * w)), axis=2) * scale
    if keepdims:
        out = xp.reshape(out, (n, c, 1, 1))

    def vjp(g):
        gx = xp.empty(x.shape, dtype=g.dtype)
        gx[...] = xp.reshape(g * scale, (n, c, 1, 1))
        return (gx,)

    return Tensor.from_op(out, (x,), vjp)


def global_max_pool2d(x, keepdims: bool = False) -> Tensor:
    """Maximum over height and width; the gradient goes to the first maximum (row-major)."""
    x = as_tensor(x)
    _check_image("global_max_pool2d", x)
    xp = backend.xp
    n, c, h, w = x.shape
    flat = xp.reshape(x.data, (n, c, h * w))
    out = xp.max(flat, axis=2)
    if keepdims:
        out = xp.reshape(out, (n, c, 1, 1))

    def vjp(g):
        first = xp.argmax(flat, axis=2)
        one_hot = xp.arange(h * w, dtype=first.dtype) == xp.reshape(first, (n, c, 1))
        gx = xp.astype(one_hot, g.dtype) * xp.reshape(g, (n, c, 1))
        return (xp.reshape(gx, x.shape),)

    return Tensor.from_op(out, (x,), vjp)
