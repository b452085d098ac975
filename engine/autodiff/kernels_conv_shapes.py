"""Shape arithmetic and small array helpers shared by the convolution and pooling kernels.

Padding is ``"valid"`` (none), ``"same"`` or explicit ``((top, bottom), (left, right))``.
``"same"`` follows TensorFlow/Keras exactly: the output has ``ceil(size / stride)`` elements
and the total padding ``max((out - 1) * stride + span - size, 0)`` (``span`` being the
dilated kernel extent) is split with the odd element at the bottom/right. That is ONNX's
``auto_pad="SAME_UPPER"``; :func:`resolve_padding` gives the explicit pads for the exporter.
Everything here is re-exported by :mod:`engine.autodiff.kernels_conv`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy

from engine import backend
from engine.autodiff.tensor import Tensor

__all__ = ["Pads", "same_padding", "output_length", "resolve_padding"]

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


def _contiguous(view):
    """A fresh array with ``view``'s values in the namespace's default (C) order."""
    out = backend.xp.empty(tuple(view.shape), dtype=view.dtype)
    out[...] = view
    return out
