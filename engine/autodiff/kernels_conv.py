"""Fused convolution and pooling primitives (channels-first), each forward beside its VJP.

Layout: images are ``(N, C, H, W)``; a convolution kernel is ``(filters, in_channels, kh,
kw)`` as in ONNX and PyTorch; the operation is a cross-correlation (no kernel flip).

Padding is ``"valid"`` (none), ``"same"`` or explicit ``((top, bottom), (left, right))``.
``"same"`` follows TensorFlow/Keras exactly: the output has ``ceil(size / stride)`` elements
and the total padding ``max((out - 1) * stride + span - size, 0)`` (``span`` being the
dilated kernel extent) is split with the odd element at the bottom/right. That is ONNX's
``auto_pad="SAME_UPPER"``; :func:`resolve_padding` gives the explicit pads for the exporter.

How the work is arranged (measured on the 2-core CPU this project targets; see
``benchmarks/bench_conv_kernels.py``):

- Convolution is im2col + one GEMM. The column matrix is laid out ``(C*kh*kw, N*Ho*Wo)``
  and filled by ``kh*kw`` slice copies, so the forward product, the kernel gradient and the
  column gradient are each a single large ``matmul`` on contiguous memory (about 1.5x
  faster here than a per-sample batched GEMM; OpenBLAS reaches ~175 GFLOP/s on them).
  col2im accumulates the ``kh*kw`` slices back. For "same" padding at stride 1 each tap is
  one long flattened run (see :class:`_Im2col`), which halves the im2col/col2im time.
  The column matrix, the output grid and the VJP's scratch come from the workspace of
  :mod:`engine.autodiff.kernels_rnn` (freshly allocated, their page faults cost about as
  much as the GEMM); only the returned arrays are new.
  ``relu=True`` fuses Conv2D's ReLU: ``where`` with a data-dependent mask is branchy and
  ~15x slower in numpy than ``maximum`` and a multiply by the mask.
- Pooling is separable: a window maximum (or sum) is the maximum over the window's rows of
  the maximum over its columns. We reduce over rows first (slices whose inner axis is
  contiguous, the fast case for SIMD) and then over columns, with ``kh + kw - 2``
  elementwise operations instead of ``kh*kw - 1``. Reducing a reshaped
  ``(N, C, H/p, p, W/p, p)`` view with ``max(axis=(3, 5))`` was 30x slower in numpy. The
  VJPs route gradients with arithmetic masks, not ``where`` (see the ReLU note above).
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

Everything goes through ``backend.xp`` with array-API spellings. The one numpy-specific
bit (adding in place into a view) is guarded by ``backend.xp is numpy``; the tests run
every kernel under ``array_api_strict`` too, which takes the generic path and must give the
same numbers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy

from engine import backend
from engine.autodiff import kernels_conv_blocked
from engine.autodiff.gemm import matmul_nt
from engine.autodiff.kernels_rnn import _Scratch
from engine.autodiff.ops import as_tensor
from engine.autodiff.tensor import Tensor

__all__ = [
    "same_padding",
    "output_length",
    "resolve_padding",
    "conv2d",
    "max_pool2d",
    "avg_pool2d",
    "global_avg_pool2d",
    "global_max_pool2d",
]

Pads = tuple[tuple[int, int], tuple[int, int]]


# -- shape arithmetic (shared with the layers and the ONNX exporter) ---------------------------


def same_padding(size: int, kernel: int, stride: int, dilation: int = 1) -> tuple[int, int]:
    """TensorFlow's "SAME" padding ``(before, after)`` of one spatial axis; the odd element
    goes after (ONNX ``SAME_UPPER``)."""
    span = (kernel - 1) * dilation + 1
    out = -(-size // stride)
    total = max((out - 1) * stride + span - size, 0)
    return total // 2, total - total // 2


def output_length(
    size: int, kernel: int, stride: int, pad_before: int = 0, pad_after: int = 0, dilation: int = 1
) -> int:
    """Output length of one axis; zero or less means the kernel does not fit."""
    span = (kernel - 1) * dilation + 1
    return (size + pad_before + pad_after - span) // stride + 1


def resolve_padding(
    padding,
    spatial: Sequence[int],
    kernel: Sequence[int],
    strides: Sequence[int],
    dilation: Sequence[int] = (1, 1),
) -> Pads:
    """``"valid"``, ``"same"`` or explicit pads -> ``((top, bottom), (left, right))``."""
    if padding == "valid":
        return (0, 0), (0, 0)
    if padding == "same":
        return (
            same_padding(spatial[0], kernel[0], strides[0], dilation[0]),
            same_padding(spatial[1], kernel[1], strides[1], dilation[1]),
        )
    (top, bottom), (left, right) = padding
    return (int(top), int(bottom)), (int(left), int(right))


def _pair(value) -> tuple[int, int]:
    if isinstance(value, int):
        return value, value
    a, b = value
    return int(a), int(b)


def _window(start: int, count: int, stride: int) -> slice:
    """The ``count`` positions ``start, start + stride, ...`` as a basic slice."""
    return slice(start, start + stride * (count - 1) + 1, stride)


def _pad_spatial(a, pads: Pads, fill: float):
    """``a`` with its last two axes padded by ``fill`` (one copy; none when no padding)."""
    (top, bottom), (left, right) = pads
    if top == bottom == left == right == 0:
        return a
    xp = backend.xp
    *lead, h, w = a.shape
    shape = (*lead, h + top + bottom, w + left + right)
    out = xp.zeros(shape, dtype=a.dtype) if fill == 0 else xp.full(shape, fill, dtype=a.dtype)
    out[..., top : top + h, left : left + w] = a
    return out


def _crop(a, pads: Pads, h: int, w: int):
    (top, _), (left, _) = pads
    if a.shape[-2] == h and a.shape[-1] == w:
        return a
    return a[..., top : top + h, left : left + w]


def _add_into(target, index, values) -> None:
    """``target[index] += values`` without the redundant write-back Python does for views."""
    if backend.xp is numpy or backend.device == "gpu":
        view = target[index]  # basic slicing returns a view in numpy and CuPy
        view += values
    else:
        target[index] = target[index] + values


def _check_image(name: str, x: Tensor) -> None:
    if x.ndim != 4:
        raise ValueError(f"{name} expects a batch of images (N, C, H, W), got shape {x.shape}")


# -- convolution -----------------------------------------------------------------------------


def _contiguous(view):
    """A fresh array with ``view``'s values in the namespace's default (C) order."""
    out = backend.xp.empty(tuple(view.shape), dtype=view.dtype)
    out[...] = view
    return out


class _Im2col:
    """The column matrix of one convolution and the inverse scatter its VJP needs.

    ``columns`` is ``(C*kh*kw, N*Ho*Wo)``: row ``(c, i, j)`` holds input channel ``c`` seen
    through kernel tap ``(i, j)`` at every output position.

    Two ways to move the data, same result:

    - *shift* (unit strides and an output as wide as the input, i.e. "same" padding at
      stride 1 - most CNN layers): with rows flattened, tap ``(i, j)`` reads the input
      shifted by ``(i*dh - top)*W + (j*dw - left)``, so each tap is ONE long run per
      (channel, sample), and padding is never materialised. The few positions where the
      shift wraps around a row edge (or runs off the top or bottom) are zeroed. About 2x
      faster than window slices here, whose inner rows are only ``Wo`` long.
    - *window*: strided 2-D slices of the zero-padded input, for every other case.
    """

    def __init__(self, x, kh, kw, strides, dilation, pads, ho, wo, empty, channels_first=False):
        xp = backend.xp
        if channels_first:  # x is already (C, N, H, W), e.g. a gradient in the grid layout
            self.c, self.n, self.h, self.w = x.shape
        else:
            self.n, self.c, self.h, self.w = x.shape
        self.kh, self.kw, self.ho, self.wo = kh, kw, ho, wo
        self.strides, self.dilation, self.pads = strides, dilation, pads
        self.shifted = strides == (1, 1) and wo == self.w
        n, c = self.n, self.c
        # Channels lead so that each tap's slice is one (N, Ho, Wo) block of the columns.
        xt = x if channels_first else backend.permute_dims(x, (1, 0, 2, 3))
        if self.shifted:
            flat = xp.reshape(xt, (c, n, self.h * self.w))
            cols = empty((c, kh, kw, n, ho * wo), x.dtype)
            for i, j, shift, lo, hi, wrapped in self._shifted_taps():
                tap = (slice(None), i, j, slice(None))
                cols[(*tap, slice(lo, hi))] = flat[:, :, lo + shift : hi + shift]
                for part in (slice(0, lo), slice(hi, None), *wrapped):
                    cols[(*tap, part)] = 0.0
        else:
            xt = _pad_spatial(xt, pads, 0.0)
            cols = empty((c, kh, kw, n, ho, wo), x.dtype)
            for i, j, index in self._window_taps():
                cols[:, i, j, ...] = xt[index]
        self.columns = xp.reshape(cols, (c * kh * kw, n * ho * wo))

    def _shifted_taps(self):
        """Per tap: (i, j, flat shift, first and end output position that reads inside the
        input, slices of output columns whose read wraps around a row edge)."""
        (dh, dw), ((top, _), (left, _)) = self.dilation, self.pads
        h, w, size = self.h, self.w, self.ho * self.wo
        for i in range(self.kh):
            for j in range(self.kw):
                col_shift = j * dw - left
                shift = (i * dh - top) * w + col_shift
                lo, hi = max(0, -shift), max(min(size, h * w - shift), max(0, -shift))
                if col_shift < 0:
                    wrapped = [slice(col, None, w) for col in range(min(-col_shift, w))]
                else:
                    wrapped = [slice(col, None, w) for col in range(max(w - col_shift, 0), w)]
                yield i, j, shift, lo, hi, wrapped

    def _window_taps(self):
        """(i, j, the padded input's window slice) for every kernel tap."""
        (sh, sw), (dh, dw) = self.strides, self.dilation
        for i in range(self.kh):
            rows = _window(i * dh, self.ho, sh)
            for j in range(self.kw):
                yield i, j, (slice(None), slice(None), rows, _window(j * dw, self.wo, sw))

    def to_grid(self, g, empty):
        """``g (N, F, Ho, Wo)`` -> ``(F, N*Ho*Wo)``, the columns' order."""
        n, f = g.shape[0], g.shape[1]
        grid = empty((f, n, self.ho, self.wo), g.dtype)
        grid[...] = backend.permute_dims(g, (1, 0, 2, 3))
        return backend.xp.reshape(grid, (f, n * self.ho * self.wo))

    def from_grid(self, out):
        """``(F, N*Ho*Wo)`` -> ``(N, F, Ho, Wo)``."""
        grid = backend.xp.reshape(out, (out.shape[0], self.n, self.ho, self.wo))
        return _contiguous(backend.permute_dims(grid, (1, 0, 2, 3)))

    def col2im(self, dcols, empty):
        """Scatter-add column gradients ``(C*kh*kw, N*Ho*Wo)`` back onto ``(N, C, H, W)``;
        ``dcols`` is scratch (the shifted path zeroes its wrapped entries in place), and so
        is the accumulator ``empty`` gives."""
        xp = backend.xp
        n, c, kh, kw = self.n, self.c, self.kh, self.kw
        if self.shifted:
            d = xp.reshape(dcols, (c, kh, kw, n, self.ho * self.wo))
            acc = empty((c, n, self.h * self.w), dcols.dtype)
            acc[...] = 0.0
            for i, j, shift, lo, hi, wrapped in self._shifted_taps():
                for part in wrapped:
                    d[:, i, j, :, part] = 0.0
                _add_into(
                    acc,
                    (slice(None), slice(None), slice(lo + shift, hi + shift)),
                    d[:, i, j, :, lo:hi],
                )
            acc = xp.reshape(acc, (c, n, self.h, self.w))
        else:
            (top, _), (left, _) = self.pads
            d = xp.reshape(dcols, (c, kh, kw, n, self.ho, self.wo))
            hp = self.h + sum(self.pads[0])
            wp = self.w + sum(self.pads[1])
            acc = empty((c, n, hp, wp), dcols.dtype)
            acc[...] = 0.0
            for i, j, index in self._window_taps():
                _add_into(acc, index, d[:, i, j, ...])
            acc = acc[:, :, top : top + self.h, left : left + self.w]
        return _contiguous(backend.permute_dims(acc, (1, 0, 2, 3)))


def conv2d(
    x,
    kernel,
    bias=None,
    strides=(1, 1),
    padding="valid",
    dilation=(1, 1),
    relu: bool = False,
) -> Tensor:
    """2-D cross-correlation of ``x (N, C, H, W)`` with ``kernel (F, C, kh, kw)`` plus
    ``bias (F,)``; returns ``(N, F, Ho, Wo)``. Differentiable in all three.

    ``relu=True`` applies ``max(0, .)`` inside the kernel (Conv2D's ``activation="relu"``):
    the same values and gradients as ``ops.relu`` on the result (derivative 0 at 0), without
    another pass over the output and its gradient.
    """
    x, w = as_tensor(x), as_tensor(kernel)
    b = None if bias is None else as_tensor(bias)
    _check_image("conv2d", x)
    xp = backend.xp
    strides, dilation = _pair(strides), _pair(dilation)
    _, c, h, wd = x.shape
    f, cw, kh, kw = w.shape
    if cw != c:
        raise ValueError(f"conv2d: the input has {c} channels but the kernel expects {cw}")
    pads = resolve_padding(padding, (h, wd), (kh, kw), strides, dilation)
    ho = output_length(h, kh, strides[0], *pads[0], dilation[0])
    wo = output_length(wd, kw, strides[1], *pads[1], dilation[1])
    if ho < 1 or wo < 1:
        raise ValueError(f"conv2d: kernel {kh}x{kw} does not fit in the {h}x{wd} input")

    geometry = (kh, kw, strides, dilation, pads, ho, wo)
    if xp is numpy:
        return _conv2d_blocked(x, w, b, relu, geometry)

    # The column matrix and the output grid are workspace memory (see kernels_rnn): freshly
    # allocated, their page faults cost about as much as the GEMM. Both go back as soon as
    # the output exists; the VJP rebuilds the columns (see _conv_vjp).
    scratch = _Scratch()
    im2col = _Im2col(x.data, kh, kw, strides, dilation, pads, ho, wo, scratch.empty)
    w2 = xp.reshape(w.data, (f, c * kh * kw))
    numpy_path = xp is numpy
    if numpy_path:
        out = numpy.matmul(
            w2, im2col.columns, out=scratch.empty((f, ho * wo * x.shape[0]), x.dtype)
        )
    else:
        out = xp.matmul(w2, im2col.columns)  # one GEMM for the whole batch
    im2col.columns = None
    if b is not None:
        out += xp.reshape(b.data, (f, 1))
    if relu:
        out = numpy.maximum(out, 0.0, out=out) if numpy_path else xp.maximum(out, 0.0)
    y = im2col.from_grid(out)
    scratch.give_back()  # y is a fresh array; the next layer of this shape reuses the buffers
    vjp = _conv_vjp(x, w, b, w2, y if relu else None, im2col, geometry)
    parents = (x, w) if b is None else (x, w, b)
    return Tensor.from_op(y, parents, vjp)


def _flipped_pads(geometry):
    """Padding of the flipped-kernel correlation that gives a stride-1 convolution's input
    gradient, or None where that does not apply (strides, narrower output, pads wider than
    the kernel's span)."""
    kh, kw, strides, (dh, dw), ((top, bottom), (left, right)), _, _ = geometry
    pads = (
        ((kh - 1) * dh - top, (kh - 1) * dh - bottom),
        ((kw - 1) * dw - left, (kw - 1) * dw - right),
    )
    return pads if strides == (1, 1) and min(min(p) for p in pads) >= 0 else None


def _conv2d_blocked(x: Tensor, w: Tensor, b, relu: bool, geometry) -> Tensor:
    """numpy: the cache-blocked forward and VJP of :mod:`kernels_conv_blocked`."""
    kh, kw, strides, dilation, pads, ho, wo = geometry
    n, c, h, wd = x.shape
    f = w.shape[0]
    w2 = numpy.reshape(w.data, (f, c * kh * kw))

    def make_im2col(chunk, empty):
        return _Im2col(chunk, kh, kw, strides, dilation, pads, ho, wo, empty)

    flipped = _flipped_pads(geometry) if wo == wd else None
    make_gcols = None
    if flipped is not None:

        def make_gcols(chunk, empty):
            return _Im2col(chunk, kh, kw, (1, 1), dilation, flipped, h, wd, empty, True)

    bias = None if b is None else b.data
    y = kernels_conv_blocked.conv2d_forward(x.data, w2, bias, relu, geometry, make_im2col)
    relu_out = y if relu else None

    def vjp(g):
        needs = (x.requires_grad, w.requires_grad, b is not None and b.requires_grad)
        gx, gw, gb = kernels_conv_blocked.conv2d_backward(
            g, x.data, w, relu_out, geometry, needs, make_im2col, make_gcols
        )
        return (gx, gw) if b is None else (gx, gw, gb)

    parents = (x, w) if b is None else (x, w, b)
    return Tensor.from_op(y, parents, vjp)


def _conv_vjp(x: Tensor, w: Tensor, b, w2, relu_out, im2col: _Im2col, geometry):
    """The VJP of :func:`conv2d`.

    The forward pass keeps no column matrix: it was ~60% of a ResNet's training memory
    (one ``C*kh*kw x N*Ho*Wo`` matrix per convolution, alive until the backward pass) and
    rebuilding it here from ``x`` costs one im2col, less than its page faults and cache
    misses cost when kept. The rebuilt columns serve the kernel gradient, and their buffer
    is then reused for the input gradient's.

    For stride 1 with an output as wide as the input (the shifted im2col; "same" 3x3
    layers), the input gradient is itself a stride-1 correlation: of ``g`` with the kernel
    flipped in space and its channel axes swapped, padded by ``span - 1 - pad``. That is an
    im2col of the gradient (which already sits in the columns' channel-major order) and one
    GEMM, instead of a GEMM and a col2im scatter-add (about 1.5x cheaper).
    """
    xp = backend.xp
    numpy_path = xp is numpy
    kh, kw, strides, dilation, pads, ho, wo = geometry
    (dh, dw), ((top, bottom), (left, right)) = dilation, pads
    flipped_pads = (
        ((kh - 1) * dh - top, (kh - 1) * dh - bottom),
        ((kw - 1) * dw - left, (kw - 1) * dw - right),
    )
    as_correlation = im2col.shifted and min(min(p) for p in flipped_pads) >= 0

    def vjp(g):
        work = _Scratch()
        gt = im2col.to_grid(g, work.empty)
        if relu_out is not None:  # Conv2D's fused ReLU: its mask comes from the output
            mask = backend.permute_dims(relu_out, (1, 0, 2, 3)) > 0
            if numpy_path:  # float * bool needs no float copy of the mask
                numpy.multiply(gt, xp.reshape(mask, gt.shape), out=gt)
            else:
                gt = gt * xp.astype(xp.reshape(mask, gt.shape), gt.dtype)
            del mask
        gx = gw = gb = None
        if b is not None and b.requires_grad:
            gb = xp.sum(gt, axis=1)
        if x.requires_grad and as_correlation:
            gx, gw = _grads_from_gradient_columns(gt, x, w, im2col, flipped_pads, work)
        elif w.requires_grad:
            cols_work = _Scratch()
            cols = _Im2col(x.data, kh, kw, strides, dilation, pads, ho, wo, cols_work.empty)
            gw = xp.reshape(matmul_nt(gt, cols.columns), w.shape)  # see autodiff.gemm
            cols = None
            cols_work.give_back()  # the input gradient's columns reuse this buffer
        if x.requires_grad and not as_correlation:
            w2t = backend.permute_dims(w2, (1, 0))
            shape = (w2t.shape[0], gt.shape[1])
            if numpy_path:
                dcols = numpy.matmul(w2t, gt, out=work.empty(shape, gt.dtype))
            else:
                dcols = xp.matmul(w2t, gt)
            gx = im2col.col2im(dcols, work.empty)
        work.give_back()  # gx, gw and gb are fresh arrays, none of them a view of the scratch
        return (gx, gw) if b is None else (gx, gw, gb)

    return vjp


def _grads_from_gradient_columns(gt, x: Tensor, w: Tensor, im2col: _Im2col, flipped_pads, work):
    """Both gradients of a stride-1 convolution from ONE im2col, of the gradient grid ``gt``
    ``(F, N*Ho*Wo)`` (already in the columns' channel-major order):

    - ``dL/dx`` is the correlation of ``g`` with the kernel flipped in space and its channel
      axes swapped, ``w'[c, f, i, j] = w[f, c, kh-1-i, kw-1-j]``: ``w' (C, F*kh*kw) @ gcols``;
    - ``dL/dw'`` is ``x (C, N*H*W) @ gcols^T``: tap ``(i, j)`` of ``gcols`` reads ``g``
      shifted by minus the offset of tap ``(kh-1-i, kw-1-j)``, with the same zeros at the
      borders, so it is ``dL/dw`` flipped and channel-swapped back.

    Returns ``(gx (N, C, H, W), gw (F, C, kh, kw))``; ``gw`` is None if ``w`` needs none.
    """
    xp = backend.xp
    f, c, kh, kw = w.shape
    n, h, wd = im2col.n, im2col.h, im2col.w
    flipped = xp.flip(w.data, axis=(2, 3))
    w2f = xp.reshape(_contiguous(backend.permute_dims(flipped, (1, 0, 2, 3))), (c, f * kh * kw))
    grid = xp.reshape(gt, (f, n, im2col.ho, im2col.wo))
    dilation = im2col.dilation
    gcols = _Im2col(
        grid, kh, kw, (1, 1), dilation, flipped_pads, h, wd, work.empty, channels_first=True
    )
    gw = None
    if w.requires_grad:
        x_grid = work.empty((c, n, h, wd), x.dtype)  # x in the same channel-major order
        x_grid[...] = backend.permute_dims(x.data, (1, 0, 2, 3))
        gw_flipped = matmul_nt(xp.reshape(x_grid, (c, n * h * wd)), gcols.columns)
        gw_flipped = backend.permute_dims(xp.reshape(gw_flipped, (c, f, kh, kw)), (1, 0, 2, 3))
        gw = _contiguous(xp.flip(gw_flipped, axis=(2, 3)))
    if xp is numpy:
        out = numpy.matmul(w2f, gcols.columns, out=work.empty((c, n * h * wd), gt.dtype))
    else:
        out = xp.matmul(w2f, gcols.columns)
    return gcols.from_grid(out), gw


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


def max_pool2d(x, pool_size=(2, 2), strides=None, padding="valid") -> Tensor:
    """Maximum over ``pool_size`` windows of ``x (N, C, H, W)``; ``strides`` defaults to
    ``pool_size``. Padding never wins (it is -inf)."""
    x = as_tensor(x)
    _check_image("max_pool2d", x)
    xp = backend.xp
    (kh, kw), (sh, sw), pads, (ho, wo) = _pool_geometry(x, pool_size, strides, padding)
    h, w = x.shape[2], x.shape[3]
    if (kh, kw) == (sh, sw) and pads == ((0, 0), (0, 0)):
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
