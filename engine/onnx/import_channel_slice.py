"""``Slice`` of data along the channels (or any non-batch axis) as existing layers.

ShuffleNetV2's blocks split their input in two halves of channels (``x.chunk(2, dim=1)``,
two ``Slice`` nodes in the exported file). No Keras layer slices channels, but
``Cropping2D`` crops the height of a channels-first image, so the slice becomes three
layers without weights: a ``Reshape`` that makes the sliced axis the height of a
``(before, axis, after)`` image, the ``Cropping2D`` that keeps ``[start, stop)`` of it, and a
``Reshape`` back to the slice's shape. Height/width slices of images keep their single
``Cropping2D`` (:func:`engine.onnx.import_resample.crop_from_slice`, tried first).
"""

from __future__ import annotations

import math

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
    before = math.prod(shape[1:axis])
    after = math.prod(shape[axis + 1 :])
    label = ctx.node_label(node)
    image = ctx.call_layer(
        "Reshape", f"{label}_as_image", source, target_shape=(before, size, after)
    )
    cropped = ctx.call_layer(
        "Cropping2D", label, Sym(image), cropping=((start, size - stop), (0, 0))
    )
    out_shape = (*shape[1:axis], stop - start, *shape[axis + 1 :])
    out = ctx.call_layer("Reshape", f"{label}_back", Sym(cropped), target_shape=out_shape)
    ctx.set(node.output[0], Sym(out, None, source.dtype))
    return True
