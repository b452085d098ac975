"""Importers for the image resizers and RepeatVector: ``Pad`` (``ZeroPadding2D``, or
``Cropping2D`` for negative pads), ``Resize`` (``UpSampling2D``), ``Slice`` of an image's
height/width (``Cropping2D``, called from the ``Slice`` importer; consecutive slices make one
layer) and ``Tile`` or ``Expand`` of a vector given a unit time axis (``RepeatVector``,
PyTorch's ``x.unsqueeze(1).repeat(1, n, 1)`` or ``.expand(-1, n, -1)``).

``Resize`` is accepted when what it computes is exactly a layer: integer scales on height
and width (1 on batch and channels), and an index mapping (nearest) or an interpolation
taps (linear) equal to ``UpSampling2D``'s for that size. The check runs ONNX's own
coordinate formulas for the node's ``coordinate_transformation_mode`` and ``nearest_mode``
on the host, so every equivalent spelling (PyTorch's ``asymmetric`` + ``floor`` or
``pytorch_half_pixel``, TensorFlow's ``half_pixel``) is accepted and nothing else is.
"""

from __future__ import annotations

import numpy as np

from engine.layers.conv_params import MAX_PAD
from engine.onnx.import_errors import Unsupported
from engine.onnx.import_registry import attr, imports
from engine.onnx.import_values import Pending, ShapeVec, Sym

EDGE_PIXELS = 64  # input pixels at each edge whose sampling is compared
MAX_SCALE = 1024  # UpSampling2D's largest size

COORDINATE_MODES = (
    "half_pixel",
    "pytorch_half_pixel",
    "asymmetric",
    "tf_half_pixel_for_nn",
    "align_corners",
)


def _image(ctx, node) -> Sym:
    sym = ctx.plain(node.input[0])
    if sym.rank != 4:
        raise Unsupported(
            f"{node.op_type} on data of rank {sym.rank}: only images (N, C, H, W) have a layer"
        )
    return sym


@imports("Pad")
def import_pad(ctx, node):
    sym = _image(ctx, node)
    mode = attr(node, "mode", "constant")
    if mode != "constant":
        raise Unsupported(f"Pad mode {mode!r}: only zero padding has a layer (ZeroPadding2D)")
    if ctx.opset < 11:
        pads = [int(p) for p in attr(node, "pads", [])]
        value = float(attr(node, "value", 0.0))
    else:
        pads = ctx.ints(node.input[1], "pads")
        value = 0.0
        if ctx.has_input(node, 2):
            value = float(np.asarray(ctx.const(node.input[2], "the constant value")).reshape(-1)[0])
    axes = ctx.ints(node.input[3], "axes") if ctx.has_input(node, 3) else None
    if axes is not None:  # opset 18: pads only for the listed axes
        full = [0] * 8
        half = len(pads) // 2
        for k, axis in enumerate(axes):
            full[axis % 4], full[axis % 4 + 4] = pads[k], pads[k + half]
        pads = full
    if len(pads) != 8:
        raise Unsupported(f"Pad with pads {pads} for an image (8 values expected)")
    if value != 0.0:
        raise Unsupported(f"Pad with the value {value}: only zero padding has a layer")
    if any(pads[i] for i in (0, 1, 4, 5)):
        raise Unsupported(f"Pad of the batch or channel axis (pads {pads})")
    sides = ((pads[2], pads[6]), (pads[3], pads[7]))
    flat = [p for side in sides for p in side]
    if max(abs(p) for p in flat) > MAX_PAD:
        raise Unsupported(f"Pad of more than {MAX_PAD} rows or columns")
    label = ctx.node_label(node)
    if all(p >= 0 for p in flat):
        out = ctx.call_layer("ZeroPadding2D", label, sym, padding=sides)
    elif all(p <= 0 for p in flat):
        crop = tuple(tuple(-p for p in side) for side in sides)
        out = ctx.call_layer("Cropping2D", label, sym, cropping=crop)
    else:
        raise Unsupported(f"Pad that both pads and crops (pads {pads})")
    ctx.set(node.output[0], Sym(out))


def _checked_outputs(in_size: int, scale: int) -> np.ndarray:
    """The output indices whose source pixels are compared: all of them for a small image,
    else the first and last ``EDGE_PIXELS`` input pixels' worth (the formulas are affine in
    the index, so a mismatch shows at the edges, where clamping differs, or everywhere);
    a file's declared size never sizes an array here."""
    out_size = in_size * scale
    if in_size <= 2 * EDGE_PIXELS:
        return np.arange(out_size, dtype=np.float64)
    span = EDGE_PIXELS * scale
    return np.concatenate([np.arange(span), np.arange(out_size - span, out_size)]).astype(float)


def _source_coordinates(mode: str, i: np.ndarray, in_size: int, scale: float) -> np.ndarray:
    """ONNX Resize's ``x_original`` at output indices ``i`` (the operator's formulas)."""
    out_size = in_size * scale
    if mode == "half_pixel":
        return (i + 0.5) / scale - 0.5
    if mode == "pytorch_half_pixel":
        return (i + 0.5) / scale - 0.5 if out_size > 1 else np.zeros(len(i))
    if mode == "asymmetric":
        return i / scale
    if mode == "tf_half_pixel_for_nn":
        return (i + 0.5) / scale
    if out_size == 1:  # align_corners
        return np.zeros(len(i))
    return i * (in_size - 1) / (out_size - 1)


def _nearest_index(x: np.ndarray, nearest_mode: str, in_size: int) -> np.ndarray:
    rounding = {
        "round_prefer_floor": lambda v: np.ceil(v - 0.5),
        "round_prefer_ceil": lambda v: np.floor(v + 0.5),
        "floor": np.floor,
        "ceil": np.ceil,
    }
    if nearest_mode not in rounding:
        raise Unsupported(f"Resize nearest_mode {nearest_mode!r}")
    return np.clip(rounding[nearest_mode](x), 0, in_size - 1).astype(np.int64)


def _linear_taps(x: np.ndarray, in_size: int):
    """``(low, high, weight of high)`` of linear interpolation at ``x`` with the edges
    repeated (ONNX's rule); one entry per output pixel, no dense matrix."""
    x = np.clip(x, 0.0, in_size - 1)
    low = np.floor(x).astype(np.int64)
    high = np.minimum(low + 1, in_size - 1)
    frac = np.where(high == low, 0.0, x - low)  # at the edge both taps are the same pixel
    return low, high, frac


def _resize_scales(ctx, node, sym: Sym) -> list[float]:
    shape = sym.onnx_shape
    if ctx.has_input(node, 3):
        value = ctx.value(node.input[3])
        sizes = (
            list(value.values) if isinstance(value, ShapeVec) else ctx.ints(node.input[3], "sizes")
        )
        if len(sizes) != 4 or None in sizes[1:]:
            raise Unsupported(f"Resize to sizes {sizes}")
        # The batch entry is the batch size (fixed or from Shape); the others set the scales.
        return [1.0, sizes[1] / shape[1], sizes[2] / shape[2], sizes[3] / shape[3]]
    scales_name = node.input[2] if len(node.input) > 2 else node.input[1]
    if not scales_name:
        raise Unsupported("Resize without scales or sizes")
    scales = np.asarray(ctx.const(scales_name, "the scales"), dtype=np.float64).reshape(-1)
    if scales.size != 4:
        raise Unsupported(f"Resize scales {scales.tolist()} for an image (4 values expected)")
    return [float(s) for s in scales]


@imports("Resize")
def import_resize(ctx, node):
    if ctx.opset < 11:
        raise Unsupported("Resize before opset 11")
    sym = _image(ctx, node)
    if attr(node, "axes") is not None:
        raise Unsupported("Resize with axes")
    scales = _resize_scales(ctx, node, sym)
    if scales[0] != 1 or scales[1] != 1:
        raise Unsupported(f"Resize of the batch or channel axis (scales {scales})")
    size = []
    for s in scales[2:]:
        if not 1 <= s <= MAX_SCALE or not float(s).is_integer():
            raise Unsupported(
                f"Resize by {s}: only whole enlargement factors up to {MAX_SCALE} have a "
                "layer (UpSampling2D)"
            )
        size.append(int(s))
    mode = attr(node, "mode", "nearest")
    coordinates = attr(node, "coordinate_transformation_mode", "half_pixel")
    if coordinates not in COORDINATE_MODES:
        raise Unsupported(f"Resize coordinate_transformation_mode {coordinates!r}")
    if mode not in ("nearest", "linear"):
        raise Unsupported(f"Resize mode {mode!r}: UpSampling2D is nearest or bilinear")
    for in_size, s in zip(sym.onnx_shape[2:], size, strict=True):
        i = _checked_outputs(in_size, s)
        x = _source_coordinates(coordinates, i, in_size, float(s))
        if mode == "nearest":
            index = _nearest_index(x, attr(node, "nearest_mode", "round_prefer_floor"), in_size)
            same = np.array_equal(index, i.astype(np.int64) // s)
        else:  # Keras's half-pixel taps, compared without building any matrix
            keras = (i + 0.5) / s - 0.5
            mine, theirs = _linear_taps(x, in_size), _linear_taps(keras, in_size)
            same = all(np.allclose(a, b) for a, b in zip(mine, theirs, strict=True))
        if not same:
            raise Unsupported(
                f"Resize {mode} with {coordinates!r} coordinates samples other pixels than "
                "UpSampling2D (Keras: nearest repeats pixels, bilinear uses half-pixel "
                "centres)"
            )
    interpolation = "nearest" if mode == "nearest" else "bilinear"
    out = ctx.call_layer(
        "UpSampling2D", ctx.node_label(node), sym, size=tuple(size), interpolation=interpolation
    )
    ctx.set(node.output[0], Sym(out))


class PendingCrop(Pending):
    """A Cropping2D not created yet: a following Slice of the other spatial axis (PyTorch
    writes one Slice per axis) folds into it."""

    def __init__(self, node_name: str, source: Sym, crop):
        self.node_name = node_name
        self.source = source
        self.crop = crop
        self._result = None

    @property
    def onnx_shape(self) -> tuple:
        n, c, h, w = self.source.onnx_shape
        (top, bottom), (left, right) = self.crop
        return (n, c, h - top - bottom, w - left - right)

    def build(self, ctx) -> Sym:
        cropping = tuple(tuple(c) for c in self.crop)
        return Sym(ctx.call_layer("Cropping2D", self.node_name, self.source, cropping=cropping))


def crop_from_slice(ctx, node, starts, ends, axes, steps) -> bool:
    """``Slice`` of an image's height and/or width as a Cropping2D; False if it is not one."""
    value = ctx.value(node.input[0])
    if isinstance(value, PendingCrop) and ctx.private(node.input[0]):
        source, label, shape = value.source, value.node_name, value.onnx_shape
        crop = [list(side) for side in value.crop]
    else:
        if ctx.sym(node.input[0]).rank != 4:
            return False
        source = ctx.plain(node.input[0])
        label, shape, crop = ctx.node_label(node), source.onnx_shape, [[0, 0], [0, 0]]
    for k, axis in enumerate(axes if axes is not None else range(len(starts))):
        axis %= 4
        if axis < 2 or (steps and steps[k] != 1):
            return False
        size = shape[axis]
        start, stop, _ = slice(int(starts[k]), int(ends[k])).indices(size)
        if stop <= start:
            raise Unsupported(f"Slice leaves nothing of axis {axis} (size {size})")
        crop[axis - 2][0] += start
        crop[axis - 2][1] += size - stop
    if max(max(c) for c in crop) > MAX_PAD:
        return False
    ctx.set(node.output[0], PendingCrop(label, source, tuple(tuple(c) for c in crop)))
    return True


def _repeat_vector(ctx, node, sym: Sym, n: int) -> None:
    """``sym`` is ``(N, 1, F)``; the node's output is it repeated ``n`` times on axis 1."""
    vector = sym.squeezed([1]) if not sym.is_plain else None
    if vector is None or not vector.is_plain:
        plain = ctx.plain(node.input[0])
        target = (sym.onnx_shape[2],)
        out = ctx.call_layer(
            "Reshape", f"{ctx.node_label(node)}_vector", plain, target_shape=target
        )
        vector = Sym(out)
    out = ctx.call_layer("RepeatVector", ctx.node_label(node), vector, n=int(n))
    ctx.set(node.output[0], Sym(out))


@imports("Tile")
def import_tile(ctx, node):
    """A vector given a unit time axis (``Unsqueeze(x, 1)``) and tiled along it is
    ``RepeatVector``."""
    sym = ctx.sym(node.input[0])
    repeats = ctx.ints(node.input[1], "repeats")
    shape = sym.onnx_shape
    vector_pattern = len(shape) == 3 and shape[1] == 1 and len(repeats) == 3
    if vector_pattern and repeats[0] == 1 and repeats[2] == 1:
        _repeat_vector(ctx, node, sym, repeats[1])
        return
    if repeats and all(r == 1 for r in repeats):
        ctx.set(node.output[0], ctx.value(node.input[0]))
        return
    raise Unsupported(
        f"Tile of {shape} by {repeats}: only repeating a vector along a new time axis "
        "(RepeatVector) has a layer"
    )


def expand_data(ctx, node, target) -> bool:
    """``Expand`` of data: a broadcast that changes nothing passes the data through (PyTorch's
    ``repeat`` writes one before its Tile); broadcasting ``(N, 1, F)`` to ``(N, n, F)`` is a
    RepeatVector. False when it is neither."""
    sym = ctx.sym(node.input[0])
    shape = sym.onnx_shape
    if len(target) > len(shape):
        return False
    aligned = list(shape[len(shape) - len(target) :])
    if all(t in (1, None) or t == d for t, d in zip(target, aligned, strict=True)):
        ctx.set(node.output[0], ctx.value(node.input[0]))
        return True
    repeats_a_vector = (
        len(shape) == 3
        and len(target) == 3
        and shape[1] == 1
        and target[0] in (1, None)
        and isinstance(target[1], int)
        and target[1] > 1
        and target[2] in (1, shape[2])
    )
    if repeats_a_vector:
        _repeat_vector(ctx, node, sym, target[1])
    return repeats_a_vector
