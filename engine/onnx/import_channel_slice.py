"""``Slice`` of data along the channels (or any non-batch axis) as existing layers.

ShuffleNetV2's blocks split their input in two halves of channels (``x.chunk(2, dim=1)``,
two ``Slice`` nodes in the exported file). No Keras layer slices channels, but
``Cropping2D`` crops the height of a channels-first image, so the slice becomes three
layers without weights: a ``Reshape`` that makes the sliced axis the height of a
``(before, axis, after)`` image, the ``Cropping2D`` that keeps ``[start, stop)`` of it, and a
``Reshape`` back to the slice's shape. Height/width slices of images keep their single
``Cropping2D`` (:func:`engine.onnx.import_resample.crop_from_slice`, tried first).
A ``Gather`` of one index of such an axis (``out[:, -1]`` after a bidirectional LSTM, whose
last step is not the backward direction's final state) is the same slice, its axis dropped.
"""

from __future__ import annotations

import math

import numpy as np

from engine.layers.conv_params import MAX_PAD
from engine.onnx.import_errors import Unsupported
from engine.onnx.import_values import Sym


def slice_axis(ctx, node, starts, ends, axes, steps) -> bool:
    """Import ``node`` (a Slice of one non-batch axis of data, step 1) as Reshape ->
    Cropping2D -> Reshape; False when it is not such a slice."""
    if len(starts) != 1 or (steps and steps[0] != 1):
        return False
    source = ctx.plain(node.input[0])
    shape = source.onnx_shape
    axis = int(axes[0]) if axes else 0
    if not -len(shape) <= axis < len(shape):
        raise Unsupported(f"Slice axis {axis} is outside the input's rank {len(shape)}")
    axis %= len(shape)
    if axis == 0:
        raise Unsupported("slicing the batch axis has no layer equivalent")
    size = shape[axis]
    start, stop, _ = slice(int(starts[0]), int(ends[0])).indices(size)
    if stop <= start:
        raise Unsupported(f"Slice leaves nothing of axis {axis} (size {size})")
    if start == 0 and stop == size:
        ctx.set(node.output[0], source)
        return True
    if max(start, size - stop) > MAX_PAD:
        return False
    ctx.set(node.output[0], _crop(ctx, ctx.node_label(node), source, axis, start, stop))
    return True


def gather_index(ctx, node, axis: int, index) -> bool:
    """Import ``node`` (a Gather of one index along a non-batch axis of data, e.g.
    ``out[:, -1]`` after a bidirectional LSTM) as the slice ``[i, i + 1)`` whose last
    Reshape drops the axis; False when it is not such a Gather."""
    if np.ndim(index) != 0:
        return False
    source = ctx.plain(node.input[0])
    shape = source.onnx_shape
    axis %= len(shape)
    if axis == 0:
        return False
    size = shape[axis]
    i = int(index)
    if not -size <= i < size:
        raise Unsupported(f"Gather index {i} is outside axis {axis} of size {size}")
    i %= size
    if max(i, size - i - 1) > MAX_PAD:
        return False
    label = ctx.node_label(node)
    ctx.set(node.output[0], _crop(ctx, label, source, axis, i, i + 1, drop_axis=True))
    return True


def _crop(ctx, label: str, source: Sym, axis: int, start: int, stop: int, drop_axis=False):
    """``source[..., start:stop, ...]`` on ``axis`` as Reshape -> Cropping2D -> Reshape."""
    shape = source.onnx_shape
    size = shape[axis]
    before = math.prod(shape[1:axis])
    after = math.prod(shape[axis + 1 :])
    image = ctx.call_layer(
        "Reshape", f"{label}_as_image", source, target_shape=(before, size, after)
    )
    cropped = ctx.call_layer(
        "Cropping2D", label, Sym(image), cropping=((start, size - stop), (0, 0))
    )
    kept = () if drop_axis else (stop - start,)
    out_shape = (*shape[1:axis], *kept, *shape[axis + 1 :])
    out = ctx.call_layer("Reshape", f"{label}_back", Sym(cropped), target_shape=out_shape)
    return Sym(out, None, source.dtype)
