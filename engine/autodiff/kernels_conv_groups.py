"""Grouped and depthwise 2-D convolution (channels-first), forward beside its VJP.

``x (N, C, H, W)`` convolved with ``kernel (F, C / groups, kh, kw)`` (the ONNX/PyTorch
layout): the channels split into ``groups`` consecutive blocks, each block convolved with its
own ``F / groups`` filters. ``groups == C`` is a depthwise convolution (``DepthwiseConv2D``,
ONNX ``Conv`` with ``group = C``).

The work is the same im2col as :func:`engine.autodiff.kernels_conv.conv2d` (its column
matrix has the channels leading, so each group's rows are one contiguous block), followed by
ONE batched ``matmul`` over the groups: ``(G, F/G, Cg*kh*kw) @ (G, Cg*kh*kw, N*Ho*Wo)``. On
numpy this runs a few samples at a time (:func:`_grouped_blocked`, ~3 MB of
columns per chunk, as ``kernels_conv_blocked`` does for ``groups=1``): each chunk's columns
are built and consumed in cache and rebuilt in the backward pass rather than kept, which
made a step at ``bench_layers_a``'s groups=4 shape 2x faster at one thread. No Python loop
runs over channels or single samples; the loops that remain are over chunks of samples and
the ``kh*kw`` kernel taps inside im2col/col2im. The VJP is two batched products and a
col2im; with few filters per group (a depthwise convolution's ``depth_multiplier``) the
input gradient's product is summed as broadcast multiplies instead, since a batched GEMM
with an inner dimension of 1 ran ~20x slower than that here.

A depthwise convolution (one input channel per group) goes through
:func:`depthwise_conv2d`, which picks per shape (:func:`depthwise_formulation`) between
that im2col and the direct kernel of :mod:`engine.autodiff.kernels_depthwise` (one
multiply-add per kernel tap, no column matrix): ``DepthwiseConv2D``, ``SeparableConv2D`` and
a ``Conv2D`` or imported ONNX ``Conv`` with ``groups == channels`` all land there.
"""

from __future__ import annotations

import numpy

from engine import backend
from engine.autodiff import jit_depthwise, kernels_conv, kernels_depthwise, ops
from engine.autodiff.gemm import matmul_nt
from engine.autodiff.kernels_conv import _check_image, _Im2col, _pair
from engine.autodiff.kernels_conv_blocked import one_blas_thread
from engine.autodiff.kernels_rnn import _record, _Scratch
from engine.autodiff.ops import as_tensor
from engine.autodiff.tensor import Tensor

__all__ = ["conv2d_grouped", "depthwise_conv2d", "depthwise_formulation"]

# Filters per group up to which the input gradient is summed as broadcast products.
SMALL_PRODUCT = 4
# Column bytes per chunk of samples on numpy (kernels_conv_blocked measured 1-5 MB best).
CHUNK_BYTES = 3 * 2**20


def conv2d_grouped(
    x,
    kernel,
    bias=None,
    strides=(1, 1),
    padding="valid",
    dilation=(1, 1),
    groups: int = 1,
    relu: bool = False,
) -> Tensor:
    """Grouped 2-D cross-correlation; returns ``(N, F, Ho, Wo)``. Differentiable in ``x``,
    ``kernel`` and ``bias``. ``groups=1`` is :func:`kernels_conv.conv2d` itself."""
    if groups == 1:
        return kernels_conv.conv2d(x, kernel, bias, strides, padding, dilation, relu)
    x, w = as_tensor(x), as_tensor(kernel)
    if x.ndim == 4 and w.ndim == 4 and w.shape[1] == 1 and groups == x.shape[1]:
        # Depthwise (one input channel per group): ``(C * M, 1, kh, kw)`` is ``(C, M, kh,
        # kw)`` in the same memory order.
        c, f, kh, kw = groups, w.shape[0], w.shape[2], w.shape[3]
        if f % c == 0:
            depthwise = ops.reshape(w, (c, f // c, kh, kw))
            return depthwise_conv2d(x, depthwise, bias, strides, padding, dilation, relu)
    return _grouped_im2col(x, w, bias, strides, padding, dilation, groups, relu)


def _grouped_im2col(x, w, bias, strides, padding, dilation, groups, relu) -> Tensor:
    """:func:`conv2d_grouped` as im2col and one batched GEMM over the groups."""
    b = None if bias is None else as_tensor(bias)
    _check_image("conv2d", x)
    xp = backend.xp
    strides, dilation = _pair(strides), _pair(dilation)
    n, c, h, wd = x.shape
    f, cg, kh, kw = w.shape
    if c % groups or f % groups or cg * groups != c:
        raise ValueError(
            f"conv2d: {c} input channels and {f} filters in {groups} groups need a kernel of "
            f"(filters, {c // groups if c % groups == 0 else '?'}, kh, kw), got {w.shape}"
        )
    pads = kernels_conv.resolve_padding(padding, (h, wd), (kh, kw), strides, dilation)
    ho = kernels_conv.output_length(h, kh, strides[0], *pads[0], dilation[0])
    wo = kernels_conv.output_length(wd, kw, strides[1], *pads[1], dilation[1])
    if ho < 1 or wo < 1:
        raise ValueError(f"conv2d: kernel {kh}x{kw} does not fit in the {h}x{wd} input")

    if xp is numpy:
        # Chunked at every stride: at stride 2 the whole-batch GEMMs were 10-20 % faster on
        # one quiet BLAS thread, but with two threads under load their medians went to
        # 3-4x the chunked path's (OpenBLAS threads spin-waiting; see kernels_conv_blocked).
        geometry = (strides, dilation, pads, ho, wo)
        return _grouped_blocked(x, w, b, geometry, groups, relu)
    scratch = _Scratch()
    im2col = _Im2col(x.data, kh, kw, strides, dilation, pads, ho, wo, scratch.empty)
    taps = cg * kh * kw
    positions = n * ho * wo
    cols = xp.reshape(im2col.columns, (groups, taps, positions))
    w3 = xp.reshape(w.data, (groups, f // groups, taps))
    out = xp.reshape(xp.matmul(w3, cols), (f, positions))  # one batched GEMM over groups
    if b is not None:
        out = out + xp.reshape(b.data, (f, 1))
    if relu:
        out = xp.maximum(out, 0.0)

    def vjp(g):
        work = _Scratch()
        gt = im2col.to_grid(g, work.empty)
        if relu:
            gt = gt * xp.astype(out > 0, gt.dtype)
        gx = gw = gb = None
        if b is not None and b.requires_grad:
            gb = xp.sum(gt, axis=1)
        g3 = xp.reshape(gt, (groups, f // groups, positions))
        if w.requires_grad:
            gw = xp.reshape(matmul_nt(g3, cols), w.shape)  # see engine.autodiff.gemm
        if x.requires_grad:
            w3t = backend.permute_dims(w3, (0, 2, 1))  # (G, Cg*kh*kw, F/G)
            dcols = _column_gradient(w3t, g3)  # a fresh array
            gx = im2col.col2im(xp.reshape(dcols, (c * kh * kw, positions)), work.empty)
        work.give_back()
        return (gx, gw) if b is None else (gx, gw, gb)

    parents = (x, w) if b is None else (x, w, b)
    return _record(im2col.from_grid(out), parents, vjp, scratch)


def _column_gradient(w3t, g3, out=None):
    """``w3t @ g3`` (``(G, Cg*kh*kw, F/G) @ (G, F/G, P)``): the columns' gradient."""
    xp = backend.xp
    if w3t.shape[2] <= SMALL_PRODUCT:
        # Depthwise (F/G = depth_multiplier, usually 1): a product with an inner dimension
        # this small is far faster as broadcast multiply-adds than as a batched GEMM (an
        # outer product runs ~20x slower through matmul).
        dcols = w3t[:, :, 0:1] * g3[:, 0:1, :]
        for m in range(1, w3t.shape[2]):
            dcols = dcols + w3t[:, :, m : m + 1] * g3[:, m : m + 1, :]
        return dcols
    return xp.matmul(w3t, g3) if out is None else numpy.matmul(w3t, g3, out=out)


def _grouped_blocked(x: Tensor, w: Tensor, b, geometry, groups: int, relu: bool) -> Tensor:
    """numpy: :func:`_grouped_im2col` a few samples at a time, so that each chunk's column
    matrix is built and consumed while still in cache (the whole batch's, 58 MB at
    ``bench_layers_a``'s shape, went to main memory and back), and the backward pass
    rebuilds the columns instead of keeping them (less memory than the forward's)."""
    strides, dilation, pads, ho, wo = geometry
    n, c, h, wd = x.shape
    f, cg, kh, kw = w.shape
    taps, fg, positions = cg * kh * kw, f // groups, ho * wo
    dtype = x.dtype
    step = max(1, min(n, CHUNK_BYTES // (c * kh * kw * positions * dtype.itemsize)))
    chunks = [slice(s, min(s + step, n)) for s in range(0, n, step)]
    w3 = numpy.reshape(w.data, (groups, fg, taps))

    def columns(chunk, work):
        im2col = _Im2col(x.data[chunk], kh, kw, strides, dilation, pads, ho, wo, work.empty)
        size = (chunk.stop - chunk.start) * positions
        return im2col, numpy.reshape(im2col.columns, (groups, taps, size)), size

    out = numpy.empty((n, f, ho, wo), dtype=dtype)
    bias4 = None if b is None else numpy.reshape(b.data, (1, f, 1, 1))
    with one_blas_thread():  # small GEMMs: two OpenBLAS threads spin-wait under load
        _forward_chunks(chunks, columns, w3, out, bias4, (f, ho, wo))
    if relu:
        numpy.clip(out, 0.0, numpy.inf, out=out)  # vectorised; maximum is not

    def vjp(g):
        with one_blas_thread():
            return _backward_chunks(g)

    def _backward_chunks(g):
        if relu:
            g = g * (out > 0)  # float * bool: no float copy of the mask
        gx = gw = gb = None
        if b is not None and b.requires_grad:
            gb = numpy.sum(g, axis=(0, 2, 3))
        if w.requires_grad:
            gw = numpy.zeros((groups, fg, taps), dtype=g.dtype)
        if x.requires_grad:
            gx = numpy.empty(x.shape, dtype=g.dtype)
            w3t = w3.transpose(0, 2, 1)  # (G, Cg*kh*kw, F/G)
        for chunk in chunks:
            work = _Scratch()
            im2col, cols, size = columns(chunk, work)
            g3 = numpy.reshape(im2col.to_grid(g[chunk], work.empty), (groups, fg, size))
            if gw is not None:
                gw += matmul_nt(g3, cols)  # see engine.autodiff.gemm
            if gx is not None:
                dcols = _column_gradient(w3t, g3, work.empty((groups, taps, size), g.dtype))
                gx[chunk] = im2col.col2im(numpy.reshape(dcols, (c * kh * kw, size)), work.empty)
            work.give_back()
        if gw is not None:
            gw = numpy.reshape(gw, w.shape)
        return (gx, gw) if b is None else (gx, gw, gb)

    parents = (x, w) if b is None else (x, w, b)
    return Tensor.from_op(out, parents, vjp)


def _forward_chunks(chunks, columns, w3, out, bias4, grid_shape) -> None:
    """``out[chunk] = w3 @ columns(chunk) (+ bias)`` chunk by chunk, in place."""
    f, ho, wo = grid_shape
    for chunk in chunks:
        work = _Scratch()
        _, cols, size = columns(chunk, work)
        res = numpy.matmul(w3, cols, out=work.empty((w3.shape[0], w3.shape[1], size), out.dtype))
        grid = numpy.reshape(res, (f, chunk.stop - chunk.start, ho, wo)).transpose(1, 0, 2, 3)
        if bias4 is None:
            out[chunk] = grid
        else:
            numpy.add(grid, bias4, out=out[chunk])
        work.give_back()


def depthwise_formulation(x_shape, kernel_shape, strides=(1, 1)) -> str:
    """``"direct"`` or ``"im2col"``: the cheaper depthwise formulation for these shapes
    (``kernel_shape`` is ``(C, M, kh, kw)``). A pure function of the shapes, so a layer
    takes the same path on every call.

    From ``benchmarks/bench_depthwise.py`` (1 thread, minima of 7-15, alternated in one
    process): the direct kernel wins for depth multipliers 1 and 2 at every size and
    stride measured (28x28 3x3: 13.5 ms against 24 for the chunked im2col; stride 2: 11
    against 24; 8x8: 6.4 against 9.7; 5x5 kernels 29 against 71; multiplier 2 a tie).
    From a multiplier of 4 at unit strides im2col's GEMM wins (20.6 against 23.5 ms at
    28x28, 47 against 116 with multiplier 8): the direct kernel then makes M passes per
    tap, the GEMM one.
    """
    _, m = kernel_shape[:2]
    strides = _pair(strides)
    if backend.device == "gpu":
        return "direct"  # one kernel launch per tap either way, and no column matrix
    if m >= 4 and strides == (1, 1) and backend.xp is numpy:
        return "im2col"
    return "direct"


def depthwise_conv2d(
    x,
    kernel,
    bias=None,
    strides=(1, 1),
    padding="valid",
    dilation=(1, 1),
    relu: bool = False,
    formulation: str | None = None,
) -> Tensor:
    """Depthwise convolution of ``x (N, C, H, W)`` with ``kernel (C, M, kh, kw)``; returns
    ``(N, C * M, Ho, Wo)``. ``formulation`` forces ``"direct"`` or ``"im2col"``; by default
    :func:`depthwise_formulation` picks it from the shapes (the same choice for every call
    with the same shapes)."""
    x, k = as_tensor(x), as_tensor(kernel)
    if k.ndim != 4 or x.ndim != 4:
        _check_image("depthwise_conv2d", x)
        raise ValueError(f"depthwise_conv2d: kernel must be (C, M, kh, kw), got {k.shape}")
    compiled = jit_depthwise.runs_here(x.data, k.data)
    if formulation is None:
        # The compiled loops keep each plane in L1 and beat im2col's GEMM at every depth
        # multiplier measured (benchmarks/bench_depthwise.py).
        formulation = "direct" if compiled else depthwise_formulation(x.shape, k.shape, strides)
    if formulation == "direct" and compiled:
        return jit_depthwise.depthwise_conv2d_compiled(
            x, k, bias, _pair(strides), padding, _pair(dilation), relu
        )
    if formulation == "direct":
        return kernels_depthwise.depthwise_conv2d_direct(
            x, k, bias, strides, padding, dilation, relu
        )
    if formulation != "im2col":
        raise ValueError(
            f"depthwise_conv2d: formulation must be 'direct' or 'im2col', not {formulation!r}"
        )
    c, m, kh, kw = k.shape
    # The same checks and messages as the direct kernel's.
    kernels_depthwise.depthwise_geometry(x.shape, k.shape, _pair(strides), padding, _pair(dilation))
    flat = ops.reshape(k, (c * m, 1, kh, kw))
    return _grouped_im2col(x, flat, bias, strides, padding, dilation, c, relu)
