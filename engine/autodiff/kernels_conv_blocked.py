"""Cache-blocked convolution for the numpy backend: im2col and GEMM a few samples at a time.

:func:`engine.autodiff.kernels_conv.conv2d` builds one column matrix for the whole batch;
at a ResNet's first stage (16 channels, 32x32, batch 128) that is a 75 MB matrix written
once and read once by a GEMM whose other side is only 16 rows, so both passes run at the
speed of main memory (about 11 ms each on the 2-core machine this project targets, while
PyTorch does the layer's whole forward and backward in ~50 ms). Here the batch is cut into
chunks of ``m`` samples whose columns fit in about :data:`CHUNK_BYTES`; each chunk's
columns are built and consumed while still in cache. The GEMMs are numpy's batched form
(one ``(F, C*kh*kw) @ (C*kh*kw, Ho*Wo)`` per sample), writing straight into the
``(N, F, Ho, Wo)`` result, so there is no layout copy of the output either.
Measured (one BLAS thread, forward only): 16->16 @ 32x32 72 -> 14 ms, 32->32 @ 16x16
21 -> 10 ms, 64->64 @ 8x8 12 -> 8.5 ms.

The backward pass never keeps a column matrix from the forward pass (it was ~60% of a
ResNet's training memory). At stride 1 with an output as wide as the input (the usual
"same" 3x3 layer) both gradients come from the columns of the *gradient*:

- ``dL/dx`` is the correlation of ``g`` with the kernel flipped in space and its channel
  axes swapped, ``w'[c, f, i, j] = w[f, c, kh-1-i, kw-1-j]``, padded by
  ``span - 1 - pad``: ``w' (C, F*kh*kw) @ gcols``;
- ``dL/dw'`` is ``x (C, m*H*W) @ gcols^T``: tap ``(i, j)`` of ``gcols`` reads ``g`` shifted
  by minus the offset of tap ``(kh-1-i, kw-1-j)``, with the same zeros at the borders, so
  flipping and swapping it back gives ``dL/dw``.

Any other geometry (strides, narrower outputs) rebuilds the input's columns per chunk for
``dL/dw`` and scatters ``w^T @ g`` back with col2im for ``dL/dx``.

The chunks' GEMMs are small (one sample's ``(F, C*kh*kw) @ (C*kh*kw, Ho*Wo)``), so they run
on ONE BLAS thread whatever the step's count (:func:`one_blas_thread`): with OpenBLAS's two
threads on the 2-core target under load, a CIFAR-CNN training step took 1.4-2.4 s instead
of 0.2 s (the threads spin-wait on each other for every small GEMM), and the step-level
chooser of ``engine.models.blas_threads`` re-probes two threads now and then.

CuPy and the strict array-API namespace keep the one-GEMM path of ``kernels_conv``: a GPU
wants the largest GEMM it can get, and batched ``matmul(..., out=)`` is numpy's.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import os
import threading

import numpy

from engine.autodiff import jit, jit_activations
from engine.autodiff.blas_libraries import blas_libraries
from engine.autodiff.gemm import matmul_nt
from engine.autodiff.kernels_rnn import _Scratch

__all__ = ["CHUNK_BYTES", "conv2d_forward", "conv2d_backward", "one_blas_thread"]

# Column bytes per chunk: measured best between 1 and 5 MB on the target machine (the L2 is
# 1 MB per core; most of the win is not writing the columns out to main memory and back).
CHUNK_BYTES = 3 * 2**20


@contextlib.contextmanager
def one_blas_thread():
    """Run the block on one BLAS thread and put the previous count back (~2 us a call;
    nothing without threadpoolctl). Yields the previous count: how many chunks may run at
    once (see :func:`_run_chunks`)."""
    libraries = blas_libraries()
    counts = [lib.num_threads for lib in libraries]
    for lib, n in zip(libraries, counts, strict=True):
        if n != 1:
            lib.set_num_threads(1)
    try:
        yield max(counts, default=1)
    finally:
        for lib, n in zip(libraries, counts, strict=True):
            if n != 1:
                lib.set_num_threads(n)


_POOLS: dict[int, concurrent.futures.ThreadPoolExecutor] = {}
_POOLS_LOCK = threading.Lock()


def _run_chunks(starts: list[int], work, workers: int) -> list:
    """``work(some_starts)`` over all chunk starts, on up to ``workers`` threads (each
    running BLAS single-threaded); the results of each call, in a list. numpy gives up the
    GIL in its copies and GEMMs, so chunks really do run side by side. ``workers`` is the
    BLAS thread count the step runs with (``engine.models.blas_threads`` measures whether
    more than one pays), so under load this is the plain serial loop."""
    workers = max(1, min(workers, len(starts), os.cpu_count() or 1))
    if workers == 1:
        return [work(starts)]
    with _POOLS_LOCK:
        pool = _POOLS.get(workers)
        if pool is None:
            pool = _POOLS[workers] = concurrent.futures.ThreadPoolExecutor(
                workers, thread_name_prefix="conv-chunks"
            )
    # Interleaved, so the short last chunk does not land on one thread with a full share.
    return list(pool.map(work, [starts[k::workers] for k in range(workers)]))


def _ordered_sum(arrays):
    """``arrays[0] + arrays[1] + ...``, left to right, into the first one."""
    total = arrays[0]
    for array in arrays[1:]:
        total += array
    return total


# Below this many output positions per sample (16x16), one GEMM per chunk into a scratch
# grid and a copy into place beat one GEMM per sample (at 8x8, 64 -> 64 channels: 6.4 ms
# against 7.4 per layer); at 32x32 they tie.
SMALL_POSITIONS = 256


def _gemm_into(a, cols, out, scratch: _Scratch) -> None:
    """``out (m, R, P) = a (R, K) @ cols (K, m*P)`` for each of the chunk's ``m`` samples."""
    m, rows, positions = out.shape
    if positions >= SMALL_POSITIONS:
        per_sample = numpy.reshape(cols, (cols.shape[0], m, positions)).transpose(1, 0, 2)
        numpy.matmul(a, per_sample, out=out)
    else:
        grid = numpy.matmul(a, cols, out=scratch.empty((rows, m * positions), cols.dtype))
        out[...] = numpy.reshape(grid, (rows, m, positions)).transpose(1, 0, 2)


def chunk_samples(bytes_per_sample: int, n: int) -> int:
    """How many samples go into one chunk."""
    return max(1, min(n, CHUNK_BYTES // max(bytes_per_sample, 1)))


def conv2d_forward(x, w2, bias, relu: bool, geometry, make_im2col):
    """``(N, F, Ho, Wo)`` = conv of ``x (N, C, H, W)`` with ``w2 (F, C*kh*kw)``, plus
    ``bias (F,)`` or None, then ReLU if asked. ``make_im2col(x_chunk, empty)`` builds one
    chunk's ``_Im2col``."""
    with one_blas_thread() as workers:
        return _forward(x, w2, bias, relu, geometry, make_im2col, workers)


def _forward(x, w2, bias, relu: bool, geometry, make_im2col, workers: int):
    n = x.shape[0]
    f, taps = w2.shape
    _, _, _, _, _, ho, wo = geometry
    positions = ho * wo
    y = numpy.empty((n, f, positions), dtype=x.dtype)
    step = chunk_samples(taps * positions * x.dtype.itemsize, n)
    b = None if bias is None else numpy.reshape(bias, (f, 1))

    def work(starts):
        scratch = _Scratch()
        for start in starts:
            part = y[start : start + step]
            m = part.shape[0]
            cols = make_im2col(x[start : start + m], scratch.empty).columns
            _gemm_into(w2, cols, part, scratch)
            scratch.give_back()  # the next chunk takes the same buffer back
            if b is not None:
                part += b
            if relu:
                numpy.clip(part, 0.0, numpy.inf, out=part)  # vectorised; maximum is not

    _run_chunks(list(range(0, n, step)), work, workers)
    return numpy.reshape(y, (n, f, ho, wo))


def conv2d_backward(g, x, w, relu_out, geometry, needs, make_im2col, make_gcols=None):
    """Gradients ``(gx, gw, gb)`` of :func:`conv2d_forward`; see :func:`_backward`."""
    with one_blas_thread() as workers:
        return _backward(g, x, w, relu_out, geometry, needs, make_im2col, make_gcols, workers)


def _backward(g, x, w, relu_out, geometry, needs, make_im2col, make_gcols, workers: int):
    """Gradients ``(gx, gw, gb)`` of :func:`conv2d_forward` (None where ``needs`` - a
    ``(x, w, b)`` triple of bools - says no). ``make_gcols(g_chunk_cnhw, empty)`` builds
    the flipped-kernel correlation's columns of a gradient chunk; it is given only for
    stride 1 with an output as wide as the input. ``relu_out`` is the forward output when
    the ReLU was fused, else None. Without an input gradient to take, the kernel's comes
    from the input's columns (fewer rows than the gradient's in a first layer)."""
    need_x, need_w, need_b = needs
    n, c, h, wd = x.shape
    f, _, kh, kw = w.shape
    _, _, _, _, _, ho, wo = geometry
    dtype = g.dtype
    if not need_x:  # a first layer: the input's columns (C*kh*kw rows) beat the gradient's
        make_gcols = None
    gx = numpy.empty((n, c, h, wd), dtype=dtype) if need_x else None
    if make_gcols:
        flipped = numpy.flip(w.data, axis=(2, 3)).transpose(1, 0, 2, 3)
        wx = numpy.reshape(numpy.ascontiguousarray(flipped), (c, f * kh * kw))
        bytes_per_sample = f * kh * kw * h * wd * dtype.itemsize
    else:
        wx = numpy.reshape(w.data, (f, c * kh * kw)).T
        bytes_per_sample = c * kh * kw * ho * wo * dtype.itemsize
    step = chunk_samples(bytes_per_sample, n)
    compiled = jit.enabled() and dtype in (numpy.float32, numpy.float64) and g.dtype == x.dtype

    def work(starts):
        """This thread's chunks: gx written in place, each chunk's share of gw and gb returned
        by its start (summed in chunk order below, whichever thread made it)."""
        parts = []
        scratch = _Scratch()
        for start in starts:
            gw_part = gb_part = None
            gs = g[start : start + step]
            m = gs.shape[0]
            if relu_out is not None and compiled:  # the fused ReLU's backward, one pass
                gs = jit_activations.relu_grad(
                    relu_out[start : start + m], gs, out=scratch.empty(gs.shape, dtype)
                )
            elif relu_out is not None:  # the fused ReLU's mask (float * bool: no float mask)
                mask = relu_out[start : start + m] > 0
                gs = numpy.multiply(gs, mask, out=scratch.empty(gs.shape, dtype))
            if need_b:
                gb_part = numpy.sum(gs, axis=(0, 2, 3))
            xs = x[start : start + m]
            if make_gcols:
                gcols = make_gcols(gs.transpose(1, 0, 2, 3), scratch.empty).columns
                if need_x:
                    out = numpy.reshape(gx[start : start + m], (m, c, h * wd))
                    _gemm_into(wx, gcols, out, scratch)
                if need_w:
                    xg = scratch.empty((c, m, h, wd), dtype)
                    xg[...] = xs.transpose(1, 0, 2, 3)
                    gw_part = matmul_nt(numpy.reshape(xg, (c, m * h * wd)), gcols)
            else:
                im2col = make_im2col(xs, scratch.empty)
                gt = im2col.to_grid(gs, scratch.empty)
                if need_w:
                    gw_part = matmul_nt(gt, im2col.columns)
                if need_x:
                    shape = (wx.shape[0], gt.shape[1])
                    dcols = numpy.matmul(wx, gt, out=scratch.empty(shape, dtype))
                    gx[start : start + m] = im2col.col2im(dcols, scratch.empty)
            scratch.give_back()
            parts.append((start, gw_part, gb_part))
        return parts

    # The chunks' shares are summed in chunk order, not per thread: the thread count is
    # chosen by timing (it changes with the machine's load), and the sum's rounding must not
    # (training twice with the same seeds gives the same weights, bit for bit).
    parts = sorted(
        (part for share in _run_chunks(list(range(0, n, step)), work, workers) for part in share),
        key=lambda part: part[0],
    )
    gw_acc = _ordered_sum([part[1] for part in parts]) if need_w else None
    gb = _ordered_sum([part[2] for part in parts]) if need_b else None
    gw = None
    if need_w and make_gcols:
        gw_flipped = numpy.reshape(gw_acc, (c, f, kh, kw)).transpose(1, 0, 2, 3)
        gw = numpy.ascontiguousarray(numpy.flip(gw_flipped, axis=(2, 3)))
    elif need_w:
        gw = numpy.reshape(gw_acc, w.shape)
    return gx, gw, gb
