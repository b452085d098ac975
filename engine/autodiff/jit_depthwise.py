"""Compiled depthwise convolution (``native/depthwise.c``; see :mod:`engine.autodiff.jit`).

The numpy path (:mod:`kernels_depthwise`) makes every tap one long vectorised pass over the
whole batch in a stride-phase layout, which is as good as numpy gets: ~13 passes over
memory per tap each way. The C loops work one (sample, channel) plane at a time instead, in
a zero-padded copy small enough for L1 (a 28x28 plane is 3.6 KB), all taps of an output row
in one go: the arithmetic is the same, the memory traffic is a pass or two. Measured on one
core, a (64, 32, 28, 28) map with a 3x3 kernel: forward 3.2 -> 0.7 ms, backward 4.3 -> 2.6
ms against the numpy path; the whole DepthwiseConv2D step 8.3 -> 5.2-5.7 ms (PyTorch 5.4-5.8,
0.94-1.06x). Tiny planes (7x7, 8x8) stay 1.7-1.8x PyTorch: per-plane overhead.

Channels are independent in all three loops (output, input gradient, kernel gradient), so
the channel range is cut into one piece per elementwise-pool thread (ctypes releases the GIL
during a call). The forward pass keeps nothing but its input (the numpy path keeps the
padded phases too). Values agree with the numpy path to rounding (another summation order).
"""

from __future__ import annotations

import numpy

from engine.autodiff import elementwise, jit, jit_activations
from engine.autodiff.kernels_depthwise import depthwise_geometry
from engine.autodiff.ops import as_tensor
from engine.autodiff.tensor import Tensor

__all__ = ["depthwise_conv2d_compiled", "runs_here"]

MAX_TAPS = 225  # depthwise.c keeps per-tap offsets on the stack: kernels up to 15x15

# Below this many multiply-adds one thread is as fast as handing out channel ranges.
_SPLIT_WORK = 1 << 20


def runs_here(x, kernel) -> bool:
    """Whether the compiled loops take this call: the numpy backend with the library built,
    float32 or float64 input and kernel of the same dtype, at most 15x15 taps."""
    return (
        jit.enabled()
        and x.dtype in (numpy.float32, numpy.float64)
        and kernel.dtype == x.dtype
        and kernel.ndim == 4
        and kernel.shape[2] * kernel.shape[3] <= MAX_TAPS
    )


def _over_channels(name: str, dtype, channels: int, work: int, *args) -> None:
    """``name(*args, c0, c1, ...)`` for channel ranges that cover ``channels``, on the pool's
    threads when the call is big enough to pay for them. ``args`` ends before the range;
    the output array comes after it, last."""
    *inputs, out = args
    pool = elementwise._executor() if work >= _SPLIT_WORK and channels > 1 else None  # noqa: SLF001
    if pool is None:
        jit.call_checked(name, dtype, *inputs, 0, channels, out)
        return
    pieces = min(channels, pool._max_workers)  # noqa: SLF001 - the module's own pool
    bounds = [channels * p // pieces for p in range(pieces + 1)]
    list(
        pool.map(
            lambda p: jit.call_checked(name, dtype, *inputs, bounds[p], bounds[p + 1], out),
            range(pieces),
        )
    )


def depthwise_conv2d_compiled(
    x, kernel, bias=None, strides=(1, 1), padding="valid", dilation=(1, 1), relu: bool = False
) -> Tensor:
    """As :func:`engine.autodiff.kernels_depthwise.depthwise_conv2d_direct` (same arguments,
    checks and messages), computed by the C loops; call only where :func:`runs_here`."""
    x, k = as_tensor(x), as_tensor(kernel)
    b = None if bias is None else as_tensor(bias)
    n, c, h, w = x.shape
    _, m, kh, kw = k.shape
    pads, ho, wo = depthwise_geometry(x.shape, k.shape, strides, padding, dilation)
    dtype = x.dtype
    shape = numpy.array(
        [n, c, h, w, m, kh, kw, *strides, *dilation, pads[0][0], pads[1][0], ho, wo],
        dtype=numpy.int64,
    )
    xdata = numpy.ascontiguousarray(x.data)
    kdata = numpy.ascontiguousarray(k.data)
    bdata = numpy.zeros(c * m, dtype) if b is None else numpy.ascontiguousarray(b.data, dtype)
    work = n * c * m * ho * wo * kh * kw
    out = numpy.empty((n, c * m, ho, wo), dtype)
    _over_channels("dw_forward", dtype, c, work, xdata, kdata, bdata, shape, int(relu), out)

    def vjp(g):
        g = numpy.ascontiguousarray(g, dtype=dtype)
        if relu:
            g = jit_activations.relu_grad(out, g)  # g where the output is positive
        gx = gw = gb = None
        if x.requires_grad:
            gx = numpy.empty((n, c, h, w), dtype)
            _over_channels("dw_input_grad", dtype, c, work, g, kdata, shape, gx)
        if k.requires_grad:
            gw = numpy.empty((c, m, kh, kw), dtype)
            _over_channels("dw_kernel_grad", dtype, c, work, g, xdata, shape, gw)
        if b is not None and b.requires_grad:
            gb = g.sum(axis=(0, 2, 3))
        return (gx, gw) if b is None else (gx, gw, gb)

    parents = (x, k) if b is None else (x, k, b)
    return Tensor.from_op(out, parents, vjp)
