"""Fused convolution primitive (channels-first), forward beside its VJP; the home of the
convolution and pooling API (the pooling kernels live in :mod:`kernels_pool2d`, the shape
arithmetic in :mod:`kernels_conv_shapes`, im2col in :mod:`kernels_im2col`, all re-exported
here).

Layout: images are ``(N, C, H, W)``; a convolution kernel is ``(filters, in_channels, kh,
kw)`` as in ONNX and PyTorch; the operation is a cross-correlation (no kernel flip).
Padding: see :mod:`kernels_conv_shapes` ("same" is TensorFlow's, ONNX ``SAME_UPPER``).

How the work is arranged (measured on the 2-core CPU this project targets; see
``benchmarks/bench_conv_kernels.py`` and the resnet/cifar rows of
``benchmarks/bench_training.py``):

- Convolution is im2col + GEMM. On numpy it runs a few samples at a time so that each
  chunk's column matrix is built and consumed in cache, and both gradients of a stride-1
  layer come from ONE im2col of the gradient (see :mod:`kernels_conv_blocked`: a ResNet
  layer's forward 5x faster than the one-matrix form below, and no column matrix kept for
  the backward pass).
- On CuPy and the strict array-API namespace the column matrix is one ``(C*kh*kw,
  N*Ho*Wo)`` matrix filled by ``kh*kw`` slice copies, so the forward product, the kernel
  gradient and the column gradient are each a single large ``matmul`` (what a GPU wants).
  It is not kept for the backward pass either: the VJP rebuilds it, and at stride 1 takes
  the input gradient as a correlation of the gradient with the flipped kernel.
- For "same" padding at stride 1 each tap of the column matrix is one long flattened run
  (see :class:`_Im2col`), which halves the im2col/col2im time. Column matrices, output
  grids and the VJP's scratch come from the workspace of :mod:`engine.autodiff.kernels_rnn`
  (freshly allocated, their page faults cost about as much as the GEMM); only the
  returned arrays are new.
- ``relu=True`` fuses Conv2D's ReLU: ``where`` with a data-dependent mask is branchy and
  ~15x slower in numpy than ``maximum`` and a multiply by the mask.

Everything outside :mod:`kernels_conv_blocked` goes through ``backend.xp`` with array-API
spellings. The one numpy-specific bit (adding in place into a view) is guarded by
``backend.xp is numpy``; the tests run every kernel under ``array_api_strict`` too, which
takes the generic path and must give the same numbers.
"""

from __future__ import annotations

import numpy

from engine import backend
from engine.autodiff import kernels_conv_blocked
from engine.autodiff.gemm import matmul_nt
from engine.autodiff.kernels_conv_shapes import (  # noqa: F401 - re-exported
    Pads,
    _add_into,
    _check_image,
    _contiguous,
    _crop,
    _pad_spatial,
    _pair,
    _window,
    output_length,
    resolve_padding,
    same_padding,
)
from engine.autodiff.kernels_im2col import _Im2col
from engine.autodiff.kernels_pool2d import (
    avg_pool2d,
    global_avg_pool2d,
    global_max_pool2d,
    max_pool2d,
)
from engine.autodiff.kernels_rnn import _Scratch
from engine.autodiff.ops import as_tensor
from engine.autodiff.tensor import Tensor

__all__ = [
    "Pads",
    "same_padding",
    "output_length",
    "resolve_padding",
    "conv2d",
    "max_pool2d",
    "avg_pool2d",
    "global_avg_pool2d",
    "global_max_pool2d",
]


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
        out = numpy.clip(out, 0.0, numpy.inf, out=out) if numpy_path else xp.maximum(out, 0.0)
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
    """The VJP of :func:`conv2d` on CuPy and the strict namespace (whole-batch GEMMs).

    The forward pass keeps no column matrix: it was ~60% of a ResNet's training memory
    (one ``C*kh*kw x N*Ho*Wo`` matrix per convolution, alive until the backward pass) and
    rebuilding it here from ``x`` costs one im2col, less than its page faults and cache
    misses cost when kept. The rebuilt columns serve the kernel gradient, and their buffer
    is then reused for the input gradient's.

    For stride 1 with an output as wide as the input (the shifted im2col; "same" 3x3
    layers), the input gradient is itself a stride-1 correlation: of ``g`` with the kernel
    flipped in space and its channel axes swapped, padded by ``span - 1 - pad``. That is an
    im2col of the gradient (which already sits in the columns' channel-major order) and one
    GEMM, instead of a GEMM and a col2im scatter-add (about 1.5x cheaper); the same columns
    then give the kernel gradient too (see :mod:`kernels_conv_blocked`), one im2col fewer.
    """
    xp = backend.xp
    numpy_path = xp is numpy
    kh, kw, strides, dilation, pads, ho, wo = geometry
    flipped_pads = _flipped_pads(geometry) if im2col.shifted else None
    as_correlation = flipped_pads is not None

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
