"""Transposed 2-D convolution (channels-first), forward beside its VJP.

``x (N, Cin, H, W)`` and ``kernel (Cin, F, kh, kw)`` (the ONNX ``ConvTranspose`` / PyTorch
layout): every input pixel scatters ``x[c] * kernel[c]`` onto a ``kh x kw`` patch of the
output, patches ``strides`` apart - the gradient of a convolution with respect to its input.
The *full* result has ``(H - 1) * sh + (kh - 1) * dh + 1`` rows; each axis then keeps
``length`` rows starting at ``begin`` (rows past the full result are zeros: Keras's and
ONNX's ``output_padding``).

The work is the convolution's, roles swapped: one GEMM ``(F*kh*kw, Cin) @ (Cin, N*H*W)``
gives every patch, and ``kh*kw`` strided slice additions (col2im) place them. The VJP
gathers the output gradient back with the convolution's im2col (``kernels_conv._Im2col``)
and runs two GEMMs: ``kernel @ columns`` for the input, ``x @ columns^T`` for the kernel.
"""

from __future__ import annotations

from engine import backend
from engine.autodiff.gemm import matmul_nt
from engine.autodiff.kernels_conv import _add_into, _contiguous, _Im2col, _pair
from engine.autodiff.kernels_rnn import _Scratch
from engine.autodiff.ops import as_tensor
from engine.autodiff.tensor import Tensor

__all__ = ["conv2d_transpose", "full_length"]


def full_length(size: int, kernel: int, stride: int, dilation: int = 1) -> int:
    """Rows of the uncropped transposed convolution of ``size`` rows."""
    return (size - 1) * stride + (kernel - 1) * dilation + 1


def _window(start: int, count: int, stride: int) -> slice:
    return slice(start, start + stride * (count - 1) + 1, stride)


def _place(full, begin: int, length: int, axis: int):
    """Rows ``begin .. begin + length`` of ``full`` along ``axis`` (2 or 3), zeros past it."""
    xp = backend.xp
    size = full.shape[axis]
    if begin == 0 and length == size:
        return full
    shape = list(full.shape)
    shape[axis] = length
    out = xp.zeros(tuple(shape), dtype=full.dtype)
    take = max(min(length, size - begin), 0)
    src = [slice(None)] * 4
    dst = [slice(None)] * 4
    src[axis], dst[axis] = slice(begin, begin + take), slice(0, take)
    out[tuple(dst)] = full[tuple(src)]
    return out


def conv2d_transpose(
    x, kernel, bias=None, strides=(1, 1), dilation=(1, 1), crop=((0, None), (0, None))
) -> Tensor:
    """Transposed convolution of ``x (N, Cin, H, W)`` with ``kernel (Cin, F, kh, kw)``
    plus ``bias (F,)``. ``crop`` is ``((begin, length), (begin, length))`` per spatial axis
    (``length=None``: to the end of the full result). Returns ``(N, F, Ho, Wo)``."""
    x, w = as_tensor(x), as_tensor(kernel)
    b = None if bias is None else as_tensor(bias)
    if x.ndim != 4:
        raise ValueError(f"conv2d_transpose expects (N, C, H, W), got shape {x.shape}")
    xp = backend.xp
    strides, dilation = _pair(strides), _pair(dilation)
    n, c, h, wd = x.shape
    cw, f, kh, kw = w.shape
    if cw != c:
        raise ValueError(f"conv2d_transpose: the input has {c} channels, the kernel {cw}")
    hf = full_length(h, kh, strides[0], dilation[0])
    wf = full_length(wd, kw, strides[1], dilation[1])
    (top, ho), (left, wo) = crop
    ho = hf - top if ho is None else ho
    wo = wf - left if wo is None else wo
    if ho < 1 or wo < 1 or top < 0 or left < 0:
        raise ValueError(f"conv2d_transpose: crop {crop} leaves no output of {hf}x{wf}")

    x_grid = xp.reshape(_contiguous(backend.permute_dims(x.data, (1, 0, 2, 3))), (c, n * h * wd))
    w2 = xp.reshape(w.data, (c, f * kh * kw))
    patches = xp.matmul(backend.permute_dims(w2, (1, 0)), x_grid)  # (F*kh*kw, N*H*W)
    patches = xp.reshape(patches, (f, kh, kw, n, h, wd))
    acc = xp.zeros((f, n, hf, wf), dtype=x.dtype)
    for i in range(kh):
        rows = _window(i * dilation[0], h, strides[0])
        for j in range(kw):
            cols = _window(j * dilation[1], wd, strides[1])
            _add_into(acc, (slice(None), slice(None), rows, cols), patches[:, i, j, ...])
    if top + ho <= hf and left + wo <= wf:  # the kept rows lie inside the full result
        kept = acc[:, :, top : top + ho, left : left + wo]
    else:  # output_padding past the full result: zero rows at the end
        kept = _place(_place(acc, top, ho, 2), left, wo, 3)
    out = _contiguous(backend.permute_dims(kept, (1, 0, 2, 3)))  # crop and layout: one copy
    if b is not None:
        out += xp.reshape(b.data, (1, f, 1, 1))

    def vjp(g):
        work = _Scratch()
        # The output gradient, back on the full grid (rows outside the crop had no effect).
        g_full = xp.zeros((n, f, hf, wf), dtype=g.dtype)
        take_h, take_w = min(ho, hf - top), min(wo, wf - left)
        if take_h > 0 and take_w > 0:
            g_full[:, :, top : top + take_h, left : left + take_w] = g[:, :, :take_h, :take_w]
        im2col = _Im2col(g_full, kh, kw, strides, dilation, ((0, 0), (0, 0)), h, wd, work.empty)
        gx = gw = gb = None
        if x.requires_grad:
            gx_grid = xp.matmul(w2, im2col.columns)  # (Cin, N*H*W)
            gx = _contiguous(backend.permute_dims(xp.reshape(gx_grid, (c, n, h, wd)), (1, 0, 2, 3)))
        if w.requires_grad:
            gw = xp.reshape(matmul_nt(x_grid, im2col.columns), w.shape)
        if b is not None and b.requires_grad:
            gb = xp.sum(g, axis=(0, 2, 3))
        work.give_back()
        return (gx, gw) if b is None else (gx, gw, gb)

    parents = (x, w) if b is None else (x, w, b)
    return Tensor.from_op(out, parents, vjp)
