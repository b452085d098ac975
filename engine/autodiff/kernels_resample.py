"""Resampling primitives on channels-first images and on vectors, each forward beside its VJP:
zero padding and cropping of the two spatial axes, nearest and bilinear upsampling, and
repeating a vector along a new time axis.

- ``upsample_nearest`` repeats every row ``sh`` times and every column ``sw`` times (Keras
  ``UpSampling2D``): ``sh * sw`` strided copies forward, the same strided slices summed in
  the VJP (about 5x faster than a 6-D broadcast and a reduction over the small axes).
- ``upsample_bilinear`` is Keras's ``interpolation="bilinear"`` (TensorFlow's resize with
  half-pixel centres; PyTorch ``F.interpolate(mode="bilinear", align_corners=False)``; ONNX
  ``Resize`` linear / ``half_pixel``). Source coordinate ``(i + 0.5) / s - 0.5`` clamped
  to the image, so the border rows repeat. Bilinear resizing is separable, so it is two
  small interpolation matrices applied by ``matmul``: ``A_h @ x @ A_w^T`` forward and
  ``A_h^T @ g @ A_w`` back - no Python loop over samples, channels or pixels.

Everything goes through ``backend.xp``; the interpolation matrices are built once per call on
the host (their size is the image side squared) and moved to the device.
"""

from __future__ import annotations

import numpy

from engine import backend
from engine.autodiff.ops import as_tensor
from engine.autodiff.tensor import Tensor

__all__ = [
    "zero_pad2d",
    "crop2d",
    "upsample_nearest",
    "upsample_bilinear",
    "bilinear_matrix",
    "repeat_vector",
]

Pads = tuple[tuple[int, int], tuple[int, int]]


def _check_image(name: str, x: Tensor) -> None:
    if x.ndim != 4:
        raise ValueError(f"{name} expects a batch of images (N, C, H, W), got shape {x.shape}")


def zero_pad2d(x, pads: Pads) -> Tensor:
    """``x (N, C, H, W)`` with ``((top, bottom), (left, right))`` rows/columns of zeros."""
    x = as_tensor(x)
    _check_image("zero_pad2d", x)
    xp = backend.xp
    (top, bottom), (left, right) = pads
    n, c, h, w = x.shape
    out = xp.zeros((n, c, h + top + bottom, w + left + right), dtype=x.dtype)
    inner = (slice(None), slice(None), slice(top, top + h), slice(left, left + w))
    out[inner] = x.data

    def vjp(g):
        return (xp.asarray(g[inner], copy=True),)

    return Tensor.from_op(out, (x,), vjp)


def crop2d(x, crops: Pads) -> Tensor:
    """``x (N, C, H, W)`` without ``((top, bottom), (left, right))`` rows/columns."""
    x = as_tensor(x)
    _check_image("crop2d", x)
    xp = backend.xp
    (top, bottom), (left, right) = crops
    n, c, h, w = x.shape
    inner = (slice(None), slice(None), slice(top, h - bottom), slice(left, w - right))
    out = xp.asarray(x.data[inner], copy=True)

    def vjp(g):
        gx = xp.zeros(x.shape, dtype=g.dtype)
        gx[inner] = g
        return (gx,)

    return Tensor.from_op(out, (x,), vjp)


def upsample_nearest(x, size: tuple[int, int]) -> Tensor:
    """Each pixel of ``x (N, C, H, W)`` repeated ``size = (sh, sw)`` times."""
    x = as_tensor(x)
    _check_image("upsample_nearest", x)
    xp = backend.xp
    sh, sw = size
    n, c, h, w = x.shape
    out = xp.empty((n, c, h * sh, w * sw), dtype=x.dtype)
    phases = [(i, j) for i in range(sh) for j in range(sw)]
    for i, j in phases:  # one strided copy per phase (5x faster than a 6-D broadcast)
        out[:, :, i::sh, j::sw] = x.data

    def vjp(g):
        gx = xp.asarray(g[:, :, 0::sh, 0::sw], copy=True)
        for i, j in phases[1:]:
            gx += g[:, :, i::sh, j::sw]
        return (gx,)

    return Tensor.from_op(out, (x,), vjp)


def bilinear_matrix(size: int, scale: int) -> numpy.ndarray:
    """``(size * scale, size)`` host matrix of half-pixel bilinear upsampling weights."""
    out = numpy.arange(size * scale, dtype=numpy.float64)
    source = numpy.maximum((out + 0.5) / scale - 0.5, 0.0)
    low = numpy.minimum(numpy.floor(source).astype(numpy.int64), size - 1)
    high = numpy.minimum(low + 1, size - 1)
    frac = source - low
    matrix = numpy.zeros((size * scale, size))
    rows = numpy.arange(size * scale)
    numpy.add.at(matrix, (rows, low), 1.0 - frac)
    numpy.add.at(matrix, (rows, high), frac)
    return matrix


def upsample_bilinear(x, size: tuple[int, int]) -> Tensor:
    """``x (N, C, H, W)`` resized to ``(H * sh, W * sw)`` by half-pixel bilinear
    interpolation (Keras ``UpSampling2D(interpolation="bilinear")``)."""
    x = as_tensor(x)
    _check_image("upsample_bilinear", x)
    xp = backend.xp
    sh, sw = size
    _, _, h, w = x.shape
    a_h = backend.asarray(bilinear_matrix(h, sh), dtype=x.dtype)  # (Ho, H)
    a_wt = backend.asarray(bilinear_matrix(w, sw).T.copy(), dtype=x.dtype)  # (W, Wo)
    out = xp.matmul(a_h, xp.matmul(x.data, a_wt))

    def vjp(g):
        a_ht = backend.permute_dims(a_h, (1, 0))
        a_w = backend.permute_dims(a_wt, (1, 0))
        return (xp.matmul(xp.matmul(a_ht, g), a_w),)

    return Tensor.from_op(out, (x,), vjp)


def repeat_vector(x, n: int) -> Tensor:
    """``x (N, F)`` repeated along a new axis: ``(N, n, F)`` (Keras ``RepeatVector``)."""
    x = as_tensor(x)
    if x.ndim != 2:
        raise ValueError(f"repeat_vector expects a batch of vectors (N, F), got {x.shape}")
    xp = backend.xp
    batch, features = x.shape
    out = xp.empty((batch, n, features), dtype=x.dtype)
    out[...] = xp.reshape(x.data, (batch, 1, features))

    def vjp(g):
        return (xp.sum(g, axis=1),)

    return Tensor.from_op(out, (x,), vjp)
