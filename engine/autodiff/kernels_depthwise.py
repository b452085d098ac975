"""Depthwise 2-D convolution computed directly: one multiply-add per kernel tap.

``x (N, C, H, W)`` with ``kernel (C, M, kh, kw)`` gives ``(N, C * M, Ho, Wo)``; output
channel ``c * M + m`` comes from input channel ``c`` and filter ``m`` (Keras's and ONNX's
order; ``M`` is Keras's ``depth_multiplier``).

Why not im2col: a depthwise convolution does ``kh * kw`` multiply-adds per output value and
no more, so im2col's column matrix (``kh * kw`` copies of the input, then a GEMM with an
inner dimension of ``kh * kw`` per channel) moves ~9x the data for the same arithmetic, and
col2im does it again in the backward pass (``benchmarks/bench_depthwise.py`` has the
profile). Here the loop runs over the ``kh * kw`` taps only, each tap one vectorised
multiply-add over the whole batch, every channel and every position.

The layout that makes every tap one long contiguous run: the zero-padded input is split
into its ``sh * sw`` stride *phases* (phase ``(a, b)`` holds padded rows ``a, a + sh, ...``
and columns ``b, b + sw, ...``; at unit strides the one phase is the padded input), and each
phase's rows are flattened. Tap ``(i, j)`` then reads phase ``(i*dh % sh, j*dw % sw)``
shifted by ``(i*dh // sh) * Wph + j*dw // sw``: ONE slice per (sample, channel), with no
stride. The output is computed on the phase width ``Wph`` and the ``Wph - Wo`` columns that
read across a row edge are dropped at the end (for a 3x3 "same" layer on 28x28, 2 of 30).

The products are added block by block over the batch, so that a block of each operand stays
in the L2 cache between the multiply and the add (over the whole batch each of those passes
went to memory, twice as slow).

The VJP, per tap: the kernel gradient is a batched dot product of the output gradient (laid
on the same ``(Ho, Wph)`` grid, zeros in the dropped columns) with the tap's slice,
``(N, C, M, P) @ (N, C, P, 1)``; the input gradient is the transpose of the forward, each
tap's product with the output gradient added onto the tap's slice of the phases, which are
then put back in place.

Everything goes through ``backend.xp``; ``out=`` and in-place operators are used on numpy
and CuPy only, any other namespace (the tests' ``array_api_strict``) takes the plain
expressions and must give the same numbers.
"""

from __future__ import annotations

import math

import numpy

from engine import backend
from engine.autodiff.kernels_conv import (
    _add_into,
    _check_image,
    _pair,
    output_length,
    resolve_padding,
)
from engine.autodiff.kernels_rnn import _record, _Scratch
from engine.autodiff.ops import as_tensor
from engine.autodiff.tensor import Tensor

__all__ = ["depthwise_conv2d_direct", "depthwise_geometry"]

# Values per operand block in the blocked multiply-adds (128 KiB of float32); blocks of
# 16K to 256K values measured alike on the benchmark shapes, whole-batch passes 2x slower.
BLOCK_VALUES = 32 * 1024


def _inplace() -> bool:
    """Whether the namespace takes ``out=`` and in-place operators on views."""
    return backend.xp is numpy or backend.device == "gpu"


def depthwise_geometry(x_shape, kernel_shape, strides, padding, dilation):
    """``(pads, ho, wo)`` of a depthwise convolution, or a ``ValueError`` naming the misfit."""
    _, c, h, w = x_shape
    ck, _, kh, kw = kernel_shape
    if ck != c:
        raise ValueError(
            f"depthwise_conv2d: the input has {c} channels but the kernel is for {ck} "
            f"(kernel shape {tuple(kernel_shape)} is (channels, depth_multiplier, kh, kw))"
        )
    pads = resolve_padding(padding, (h, w), (kh, kw), strides, dilation)
    if min(pads[0] + pads[1]) < 0:
        raise ValueError(f"depthwise_conv2d: padding {pads} has a negative entry")
    ho = output_length(h, kh, strides[0], *pads[0], dilation[0])
    wo = output_length(w, kw, strides[1], *pads[1], dilation[1])
    if ho < 1 or wo < 1:
        raise ValueError(f"depthwise_conv2d: kernel {kh}x{kw} does not fit in the {h}x{w} input")
    return pads, ho, wo


class _Phases:
    """Where each input pixel and each kernel tap lies in the flattened stride phases."""

    def __init__(self, size, kernel_size, strides, dilation, pads, out_size):
        (self.h, self.w), (kh, kw) = size, kernel_size
        (self.sh, self.sw), (dh, dw) = strides, dilation
        (self.top, _), (self.left, _) = pads
        self.ho, self.wo = out_size
        # Phase rows a tap reaches past the output's, plus one zero row: the last row's
        # shifted reads run that far past its end.
        self.rows = self.ho + (kh - 1) * dh // self.sh + 1
        self.cols = self.wo + (kw - 1) * dw // self.sw
        self.length = self.rows * self.cols
        self.count = self.sh * self.sw
        self.size = self.ho * self.cols  # output positions on the phase-width grid
        self.taps = []  # (i, j, phase, shift)
        for i in range(kh):
            qi, ai = divmod(i * dh, self.sh)
            for j in range(kw):
                qj, bj = divmod(j * dw, self.sw)
                self.taps.append((i, j, ai * self.sw + bj, qi * self.cols + qj))

    def pieces(self):
        """Per phase: (phase, slice of phase rows, of phase columns, of input rows, of input
        columns) - the input pixels the phase holds (the rest of it is padding)."""
        for a in range(self.sh):
            r0 = max(0, -(-(self.top - a) // self.sh))  # first phase row on an input row
            y0 = r0 * self.sh + a - self.top
            nr = min(self.rows - r0, -(-(self.h - y0) // self.sh)) if y0 < self.h else 0
            for b in range(self.sw):
                t0 = max(0, -(-(self.left - b) // self.sw))
                x0 = t0 * self.sw + b - self.left
                nc = min(self.cols - t0, -(-(self.w - x0) // self.sw)) if x0 < self.w else 0
                if nr > 0 and nc > 0:
                    yield (
                        a * self.sw + b,
                        slice(r0, r0 + nr),
                        slice(t0, t0 + nc),
                        slice(y0, y0 + self.sh * (nr - 1) + 1, self.sh),
                        slice(x0, x0 + self.sw * (nc - 1) + 1, self.sw),
                    )

    def split(self, x, empty):
        """``x (N, C, H, W)`` -> the zero-padded phases, ``(N, C, phases, rows * cols)``."""
        xp = backend.xp
        n, c = x.shape[:2]
        shape = (n, c, self.count, self.rows, self.cols)
        if _inplace():
            grid = empty(shape, x.dtype)
            grid[...] = 0.0
        else:
            grid = xp.zeros(shape, dtype=x.dtype)
        for p, rows, cols, ys, xs in self.pieces():
            grid[:, :, p, rows, cols] = x[:, :, ys, xs]
        return xp.reshape(grid, (n, c, self.count, self.length))

    def merge(self, phases):
        """The inverse gather: ``(N, C, phases, rows * cols)`` -> a new ``(N, C, H, W)``
        (input pixels no tap reads get zero)."""
        xp = backend.xp
        n, c = phases.shape[:2]
        grid = xp.reshape(phases, (n, c, self.count, self.rows, self.cols))
        pieces = list(self.pieces())
        covered = sum((r.stop - r.start) * (q.stop - q.start) for _, r, q, _, _ in pieces)
        if covered == self.h * self.w:  # every pixel is written below (unit strides always)
            out = xp.empty((n, c, self.h, self.w), dtype=phases.dtype)
        else:
            out = xp.zeros((n, c, self.h, self.w), dtype=phases.dtype)
        for p, rows, cols, ys, xs in pieces:
            out[:, :, ys, xs] = grid[:, :, p, rows, cols]
        return out

    def wide(self, g, empty):
        """``g (N, F, Ho, Wo)`` on the ``(Ho, cols)`` grid, zeros in the extra columns."""
        xp = backend.xp
        n, f = g.shape[:2]
        if _inplace():
            out = empty((n, f, self.ho, self.cols), g.dtype)
            out[..., self.wo :] = 0.0
        else:
            out = xp.zeros((n, f, self.ho, self.cols), dtype=g.dtype)
        out[..., : self.wo] = g
        return out


def _multiply_add(terms, target, fresh: bool, empty) -> None:
    """``target[:, *dst] (+)= source[:, *src] * weight`` for each ``(source, src, weight,
    dst)`` in ``terms``; with ``fresh`` the first term sets ``target`` instead (its ``dst``
    is then the whole of it). In place on numpy and CuPy, block by block over the batch (the
    first axis); on other namespaces ``target`` must be the full tensor and the result is
    returned."""
    xp = backend.xp
    everything = (slice(None),)
    if not _inplace():
        for k, (source, src, weight, dst) in enumerate(terms):
            term = source[everything + src] * weight
            if fresh and k == 0:
                target = term
            else:
                index = (*everything, *dst, ...)  # the array API wants every axis spelled
                target[index] = target[index] + term
        return target
    n = target.shape[0]
    _, src0, w0 = terms[0][:3]
    part_shape = numpy.broadcast_shapes(
        tuple(terms[0][0][everything + src0].shape), tuple(w0.shape)
    )
    step = (
        n if backend.device == "gpu" else max(1, BLOCK_VALUES // max(math.prod(part_shape[1:]), 1))
    )
    tmp = empty((min(step, n), *part_shape[1:]), target.dtype)
    for start in range(0, n, step):
        block = slice(start, min(start + step, n))
        out = target[block]
        part = tmp[: out.shape[0]]
        for k, (source, src, weight, dst) in enumerate(terms):
            read = source[(block, *src)]
            if fresh and k == 0:
                xp.multiply(read, weight, out=out)
            else:
                xp.multiply(read, weight, out=part)
                _add_into(out, everything + dst, part)
    return target


def depthwise_conv2d_direct(
    x, kernel, bias=None, strides=(1, 1), padding="valid", dilation=(1, 1), relu: bool = False
) -> Tensor:
    """Depthwise cross-correlation of ``x (N, C, H, W)`` with ``kernel (C, M, kh, kw)`` plus
    ``bias (C * M,)``; returns ``(N, C * M, Ho, Wo)``, differentiable in all three.
    ``relu=True`` applies ``max(0, .)`` inside the kernel (derivative 0 at 0)."""
    x, k = as_tensor(x), as_tensor(kernel)
    b = None if bias is None else as_tensor(bias)
    _check_image("depthwise_conv2d", x)
    if k.ndim != 4:
        raise ValueError(f"depthwise_conv2d: kernel must be (C, M, kh, kw), got {k.shape}")
    xp = backend.xp
    strides, dilation = _pair(strides), _pair(dilation)
    n, c, h, wd = x.shape
    _, m, kh, kw = k.shape
    pads, ho, wo = depthwise_geometry(x.shape, k.shape, strides, padding, dilation)
    geo = _Phases((h, wd), (kh, kw), strides, dilation, pads, (ho, wo))
    wdata = k.data

    scratch = _Scratch()
    phases = geo.split(x.data, scratch.empty)  # (N, C, phases, length), kept for the VJP
    size = geo.size
    terms = [
        (phases, (slice(None), slice(p, p + 1), slice(s, s + size)), _weight(wdata, i, j), ())
        for i, j, p, s in geo.taps
    ]
    acc = scratch.empty((n, c, m, size), x.dtype) if _inplace() else None
    acc = _multiply_add(terms, acc, True, scratch.empty)
    grid = xp.reshape(acc, (n, c * m, ho, geo.cols))[..., :wo]
    if b is not None and _inplace():
        out = xp.empty((n, c * m, ho, wo), dtype=x.dtype)
        xp.add(grid, xp.reshape(b.data, (1, c * m, 1, 1)), out=out)  # crop and bias: one pass
    elif b is not None:
        out = grid + xp.reshape(b.data, (1, c * m, 1, 1))
    else:
        out = xp.empty((n, c * m, ho, wo), dtype=x.dtype)
        out[...] = grid
    if relu:
        out = xp.maximum(out, 0.0, out=out) if _inplace() else xp.maximum(out, 0.0)

    def vjp(g):
        work = _Scratch()
        if relu:
            if _inplace():  # float * bool needs no float copy of the mask
                g = xp.multiply(g, out > 0, out=work.empty(tuple(g.shape), g.dtype))
            else:
                g = g * xp.astype(out > 0, g.dtype)
        gx = gw = gb = None
        if b is not None and b.requires_grad:
            gb = xp.sum(g, axis=(0, 2, 3))
        g_rows = xp.reshape(geo.wide(g, work.empty), (n, c, m, size))
        if k.requires_grad:
            gw = xp.zeros((c, m, kh, kw), dtype=g.dtype)
            for i, j, p, s in geo.taps:
                column = xp.reshape(phases[:, :, p, s : s + size], (n, c, size, 1))
                dots = xp.matmul(g_rows, column)  # (N, C, M, 1): batched dot products
                gw[:, :, i, j] = xp.sum(xp.reshape(dots, (n, c, m)), axis=0)
        if x.requires_grad:
            terms = [
                (
                    g_rows,
                    (slice(None), slice(mm, mm + 1), slice(None)),
                    _weight(wdata, i, j, mm),
                    (slice(None), slice(p, p + 1), slice(s, s + size)),
                )
                for i, j, p, s in geo.taps
                for mm in range(m)
            ]
            if _inplace():
                target = work.empty((n, c, geo.count, geo.length), g.dtype)
                target[...] = 0.0
            else:
                target = xp.zeros((n, c, geo.count, geo.length), dtype=g.dtype)
            gx = geo.merge(_multiply_add(terms, target, False, work.empty))
        work.give_back()  # gx, gw and gb are fresh arrays, none of them a view of the scratch
        return (gx, gw) if b is None else (gx, gw, gb)

    parents = (x, k) if b is None else (x, k, b)
    return _record(out, parents, vjp, scratch)


def _weight(kernel, i: int, j: int, m: int | None = None):
    """Kernel tap ``(i, j)`` (of filter ``m`` only, if given) shaped to broadcast over
    ``(N, C, M, positions)``."""
    c, mm = kernel.shape[:2]
    xp = backend.xp
    if m is None:
        return xp.reshape(kernel[:, :, i, j], (1, c, mm, 1))
    return xp.reshape(kernel[:, m, i, j], (1, c, 1, 1))
