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
and columns ``b, b + sw, ...``; at unit strides the one phase is the padded input), laid
out channels first, ``(C, phases, N * rows * Wph)``, each sample's phase rows flattened
one after the other. Tap ``(i, j)`` then reads phase ``(i*dh % sh, j*dw % sw)`` shifted by
``(i*dh // sh) * Wph + j*dw // sw``: ONE slice per channel over the whole batch, with no
stride. The output is computed on that ``(rows, Wph)`` grid per sample and the positions
that read across a row edge or into the next sample are dropped at the end (for a 3x3
"same" layer on 28x28, 2 columns of 30 and 2 rows of 30).

The products are added block by block, one channel's run of ~32K positions at a time, so
that a block of each operand stays in the L2 cache between the multiply and the add. Over
the whole batch each of those passes went to memory (twice as slow); blocks of many
channels' short runs, rows a plane apart, were 1.6x slower than one channel's long run. On
numpy, runs of 4K values or more go to BLAS ``axpy`` instead (``y += a * x`` in one
vectorised pass; see :func:`_axpy_terms`), 2.5-3x faster than the two numpy passes.

The VJP, per tap: the kernel gradient is one long dot product per channel of the output
gradient (laid on the same grid, zeros at the dropped positions) with the tap's slice,
``(C, M, P) @ (C, P, 1)``; the input gradient is the transpose of the forward, each tap's
product with the output gradient (summed over the depth multiplier by one batched GEMV,
``(C, 1, M) @ (C, M, P)``) added onto the tap's slice of the phases, which are then put
back in place.

Everything goes through ``backend.xp``; ``out=`` and in-place operators are used on numpy
and CuPy only, any other namespace (the tests' ``array_api_strict``) takes the plain
expressions and must give the same numbers.
"""

from __future__ import annotations

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
# Shortest run of positions per block: numpy's per-row overhead dominates shorter ones.
MIN_RUN = 1024
# Shortest run per channel for which the multiply-adds go to BLAS axpy (see _axpy_terms):
# from 4K values on axpy measured faster than the numpy blocks (a tie at 4K).
AXPY_MIN_RUN = 4 * 1024
_AXPY_TYPES = (numpy.dtype(numpy.float32), numpy.dtype(numpy.float64))


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
    """Where each input pixel and each kernel tap lies in the flattened stride phases.

    Layout ``(C, phases, (N + 1) * rows * cols)``: channels lead, and each channel's samples
    follow one another, so that a tap's shifted slice is ONE run over the whole batch (a
    run that crosses into the next sample only feeds dropped output positions). The extra
    zero sample at the end takes the last sample's overrun.
    """

    def __init__(self, batch, size, kernel_size, strides, dilation, pads, out_size):
        self.n, (self.h, self.w), (kh, kw) = batch, size, kernel_size
        (self.sh, self.sw), (dh, dw) = strides, dilation
        (self.top, _), (self.left, _) = pads
        self.ho, self.wo = out_size
        self.rows = self.ho + (kh - 1) * dh // self.sh  # the phase rows the taps reach
        self.cols = self.wo + (kw - 1) * dw // self.sw
        self.plane = self.rows * self.cols
        self.count = self.sh * self.sw
        self.span = self.n * self.plane  # output positions computed (the kept ones among them)
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

    def _grid(self, c, dtype, empty):
        shape = (c, self.count, self.n + 1, self.rows, self.cols)
        if not _inplace():
            return backend.xp.zeros(shape, dtype=dtype)
        grid = empty(shape, dtype)
        grid[...] = 0.0
        return grid

    def split(self, x, empty):
        """``x (N, C, H, W)`` -> the zero-padded phases, ``(C, phases, (N + 1) * plane)``."""
        xp = backend.xp
        c = x.shape[1]
        grid = self._grid(c, x.dtype, empty)
        xt = backend.permute_dims(x, (1, 0, 2, 3))
        for p, rows, cols, ys, xs in self.pieces():
            grid[:, p, : self.n, rows, cols] = xt[:, :, ys, xs]
        return xp.reshape(grid, (c, self.count, (self.n + 1) * self.plane))

    def zeros(self, c, dtype, empty):
        """A zero array of :meth:`split`'s layout (the input gradient's accumulator)."""
        grid = self._grid(c, dtype, empty)
        return backend.xp.reshape(grid, (c, self.count, (self.n + 1) * self.plane))

    def merge(self, phases):
        """The inverse gather: ``(C, phases, (N + 1) * plane)`` -> a new ``(N, C, H, W)``
        (input pixels no tap reads get zero)."""
        xp = backend.xp
        c = phases.shape[0]
        grid = xp.reshape(phases, (c, self.count, self.n + 1, self.rows, self.cols))
        pieces = list(self.pieces())
        covered = sum((r.stop - r.start) * (q.stop - q.start) for _, r, q, _, _ in pieces)
        if covered == self.h * self.w:  # every pixel is written below (unit strides always)
            out = xp.empty((self.n, c, self.h, self.w), dtype=phases.dtype)
        else:
            out = xp.zeros((self.n, c, self.h, self.w), dtype=phases.dtype)
        for p, rows, cols, ys, xs in pieces:
            block = grid[:, p, : self.n, rows, cols]
            out[:, :, ys, xs] = backend.permute_dims(block, (1, 0, 2, 3))
        return out

    def output(self, acc):
        """``(C, M, span)`` -> the kept positions as a ``(N, C, M, Ho, Wo)`` view."""
        c, m = acc.shape[:2]
        grid = backend.xp.reshape(acc, (c, m, self.n, self.rows, self.cols))
        return backend.permute_dims(grid[:, :, :, : self.ho, : self.wo], (2, 0, 1, 3, 4))

    def wide(self, g5, empty):
        """``g5 (N, C, M, Ho, Wo)`` in the output's layout ``(C, M, span)``, zeros at the
        dropped positions."""
        xp = backend.xp
        n, c, m = g5.shape[:3]
        shape = (c, m, n, self.rows, self.cols)
        if _inplace():
            out = empty(shape, g5.dtype)
            out[:, :, :, self.ho :, :] = 0.0
            out[:, :, :, : self.ho, self.wo :] = 0.0
        else:
            out = xp.zeros(shape, dtype=g5.dtype)
        out[:, :, :, : self.ho, : self.wo] = backend.permute_dims(g5, (1, 2, 0, 3, 4))
        return xp.reshape(out, (c, m, self.span))


def _multiply_add(terms, target, length: int, fresh: bool, empty):
    """For each ``(source, k_src, shift_src, weight, k_dst, shift_dst)`` of ``terms``:
    ``target[:, k_dst, shift_dst + t] (+)= source[:, k_src, shift_src + t] * weight`` for
    ``t`` in ``range(length)``; with ``fresh`` the first term sets ``target`` (all of it).

    Operands are ``(C, K, positions)`` and ``weight`` is ``(C, K', 1)``, or ``(C, 1, K)``
    to contract over ``k_src``'s ``K`` rows (a batched GEMV: the input gradient's sum over
    the depth multiplier, one product per tap instead of ``M``). On numpy and CuPy
    this runs in place, block by block over channels and positions, so that a block of
    each operand stays in the L2 cache between the multiply and the add (over the whole
    batch both passes went to memory: twice as slow) and every inner run stays long. On
    other namespaces the plain expressions run (``target`` then is returned new unless
    given).
    """
    xp = backend.xp

    def product(read, weight, out=None):
        if weight.shape[2] > 1:  # contract over the source rows
            return xp.matmul(weight, read) if out is None else xp.matmul(weight, read, out=out)
        return xp.multiply(read, weight) if out is None else xp.multiply(read, weight, out=out)

    if not _inplace():
        for k, (source, ks, ss, weight, kd, sd) in enumerate(terms):
            term = product(source[:, ks, ss : ss + length], weight)
            if fresh and k == 0:
                target = term
            else:
                target[:, kd, sd : sd + length] = target[:, kd, sd : sd + length] + term
        return target
    if _axpy_terms(terms, target, length, fresh):
        return target
    c = target.shape[0]
    source, ks, _, weight = terms[0][:4]
    rows = len(range(*ks.indices(source.shape[1])))
    depth = weight.shape[1] if weight.shape[2] > 1 else max(rows, weight.shape[1])
    widest = max(depth, rows)
    if backend.device == "gpu":
        run, channels = length, c
    else:
        # One channel's long contiguous run per block where the batch is big enough:
        # blocks of many channels' short runs (rows far apart) measured 1.6x slower.
        run = min(length, max(MIN_RUN, BLOCK_VALUES // widest))
        channels = max(1, min(c, BLOCK_VALUES // (widest * run)))
    tmp = empty((channels, depth, run), target.dtype)
    for c0 in range(0, c, channels):
        cs = slice(c0, min(c0 + channels, c))
        for t0 in range(0, length, run):
            t1 = min(t0 + run, length)
            part = tmp[: cs.stop - c0, :, : t1 - t0]
            for k, (source, ks, ss, weight, kd, sd) in enumerate(terms):
                read = source[cs, ks, t0 + ss : t1 + ss]
                if fresh and k == 0:
                    product(read, weight[cs], out=target[cs, :, t0:t1])
                else:
                    product(read, weight[cs], out=part)
                    _add_into(target, (cs, kd, slice(t0 + sd, t1 + sd)), part)
    return target


def _axpy_terms(terms, target, length: int, fresh: bool) -> bool:
    """numpy, long runs: :func:`_multiply_add` as BLAS ``axpy`` calls (``y += a * x`` in
    ONE pass, vectorised), one per (channel, tap, row); False when it does not apply.

    Two numpy passes per tap (product, then sum) ran at ~7.5 G values/s here; ``axpy``
    does both in one, 2.5-3x faster for the forward and the input gradient at the
    benchmark shape (1.5 against 4.2 and 4.9 ms), and a whole step 8-25 % faster on
    every benchmark shape from 7x7 to 112x112. Its scalar is one channel's weight, so the
    calls go by (channel, tap): used only when each call covers at least ``AXPY_MIN_RUN``
    values (one channel's run over the whole batch), so the Python loop is one over
    blocks of >= 4K multiply-adds, like the numpy path's blocks, never over small
    operands.
    """
    if backend.xp is not numpy or length < AXPY_MIN_RUN or target.dtype not in _AXPY_TYPES:
        return False
    operands = [target] + [term[0] for term in terms]
    if any(a.dtype != target.dtype or not a.flags.c_contiguous for a in operands):
        return False
    from scipy.linalg import blas  # noqa: PLC0415 - numpy path only; scipy is a dependency

    axpy = blas.get_blas_funcs("axpy", dtype=target.dtype)
    c, depth, span = target.shape
    y = target.reshape(-1)  # a view (contiguous): axpy writes into ``target``
    if fresh:
        target[...] = 0.0
    for source, ks, ss, weight, kd, sd in terms:
        x = source.reshape(-1)
        rows, width = source.shape[1], source.shape[2]
        src_rows = range(*ks.indices(rows))
        dst_rows = range(*kd.indices(depth))
        w = numpy.asarray(weight)
        if w.shape[2] > 1:  # contract over the source rows into one destination row
            pairs = [(r, dst_rows[0], (0, k)) for k, r in enumerate(src_rows)]
        else:
            count = max(len(src_rows), w.shape[1])
            pairs = [
                (
                    src_rows[k if len(src_rows) > 1 else 0],
                    dst_rows[k],
                    (k if w.shape[1] > 1 else 0, 0),
                )
                for k in range(count)
            ]
        for ch in range(c):
            for r, d, (wi, wj) in pairs:
                a = float(w[ch, wi, wj])
                y = axpy(
                    x,
                    y,
                    length,
                    a,
                    (ch * rows + r) * width + ss,
                    1,
                    (ch * depth + d) * span + sd,
                    1,
                )
    return True


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
    geo = _Phases(n, (h, wd), (kh, kw), strides, dilation, pads, (ho, wo))
    wdata = k.data
    all_m = slice(None)

    scratch = _Scratch()
    phases = geo.split(x.data, scratch.empty)  # (C, phases, (N + 1) * plane), kept for the VJP
    terms = [
        (phases, slice(p, p + 1), s, xp.reshape(wdata[:, :, i, j], (c, m, 1)), all_m, 0)
        for i, j, p, s in geo.taps
    ]
    temporary = _Scratch()  # the accumulator: back to the workspace once ``out`` is made
    acc = temporary.empty((c, m, geo.span), x.dtype) if _inplace() else None
    acc = _multiply_add(terms, acc, geo.span, True, temporary.empty)
    kept = geo.output(acc)  # (N, C, M, Ho, Wo) view
    if b is not None:
        b5 = xp.reshape(b.data, (1, c, m, 1, 1))
    if _inplace():
        out = xp.empty((n, c, m, ho, wo), dtype=x.dtype)
        if b is not None:
            xp.add(kept, b5, out=out)  # layout, crop and bias: one pass
        else:
            out[...] = kept
    else:
        out = kept + b5 if b is not None else kept
    out = xp.reshape(out, (n, c * m, ho, wo))
    temporary.give_back()  # ``out`` is a fresh array, no view of the accumulator
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
        g_wide = geo.wide(xp.reshape(g, (n, c, m, ho, wo)), work.empty)  # (C, M, span)
        if k.requires_grad:
            gw = xp.zeros((c, m, kh, kw), dtype=g.dtype)
            for i, j, p, s in geo.taps:
                column = xp.reshape(phases[:, p, s : s + geo.span], (c, geo.span, 1))
                dots = xp.matmul(g_wide, column)  # (C, M, 1): one long dot product each
                gw[:, :, i, j] = xp.reshape(dots, (c, m))
        if x.requires_grad:
            # (C, 1, M) per tap: the sum over the depth multiplier is one batched GEMV.
            terms = [
                (
                    g_wide,
                    slice(None),
                    0,
                    xp.reshape(wdata[:, :, i, j], (c, 1, m)),
                    slice(p, p + 1),
                    s,
                )
                for i, j, p, s in geo.taps
            ]
            target = geo.zeros(c, g.dtype, work.empty)
            gx = geo.merge(_multiply_add(terms, target, geo.span, False, work.empty))
        work.give_back()  # gx, gw and gb are fresh arrays, none of them a view of the scratch
        return (gx, gw) if b is None else (gx, gw, gb)

    parents = (x, k) if b is None else (x, k, b)
    return _record(out, parents, vjp, scratch)
