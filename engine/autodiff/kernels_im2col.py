"""The column matrix of a convolution (im2col) and its inverse scatter (col2im).

Used by :mod:`engine.autodiff.kernels_conv` (whole batch on CuPy and the strict namespace,
a few samples at a time on numpy, see :mod:`kernels_conv_blocked`), the grouped and the
transposed convolutions. Re-exported by ``kernels_conv`` as ``_Im2col``.
"""

from __future__ import annotations

import functools

from engine import backend
from engine.autodiff.kernels_conv_shapes import _add_into, _contiguous, _pad_spatial, _window

__all__ = ["_Im2col"]


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
        return _shifted_taps(
            self.h, self.w, self.kh, self.kw, self.ho * self.wo, self.dilation, self.pads
        )

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


@functools.lru_cache(maxsize=256)
def _shifted_taps(h: int, w: int, kh: int, kw: int, size: int, dilation, pads) -> tuple:
    """:meth:`_Im2col._shifted_taps`, computed once per geometry (the blocked convolution
    builds columns per chunk of samples, so the same taps are asked for many times)."""
    (dh, dw), ((top, _), (left, _)) = dilation, pads
    taps = []
    for i in range(kh):
        for j in range(kw):
            col_shift = j * dw - left
            shift = (i * dh - top) * w + col_shift
            lo, hi = max(0, -shift), max(min(size, h * w - shift), max(0, -shift))
            if col_shift < 0:
                wrapped = tuple(slice(col, None, w) for col in range(min(-col_shift, w)))
            else:
                wrapped = tuple(slice(col, None, w) for col in range(max(w - col_shift, 0), w))
            taps.append((i, j, shift, lo, hi, wrapped))
    return tuple(taps)
