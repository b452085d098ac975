"""ONNX for the image resizers: ``ZeroPadding2D`` is ``Pad`` (constant zeros on the two
spatial axes), ``Cropping2D`` is ``Slice`` on them, ``UpSampling2D`` is ``Resize`` with
scales ``[1, 1, sh, sw]``: ``nearest`` with ``asymmetric`` coordinates and ``floor`` (pixel
``i`` reads ``i // s``, a repeat), ``bilinear`` as ``linear`` with ``half_pixel``."""

from __future__ import annotations

import numpy as np

from engine.onnx.registry import exports


@exports("ZeroPadding2D")
def export_zero_padding(ctx, layer, inputs, output):
    (top, bottom), (left, right) = layer.padding
    pads = ctx.add_ints(f"{layer.name}.pads", [0, 0, top, left, 0, 0, bottom, right])
    ctx.add_node("Pad", [inputs[0], pads], [output], name=layer.name, mode="constant")


@exports("Cropping2D")
def export_cropping(ctx, layer, inputs, output):
    (top, bottom), (left, right) = layer.cropping
    _, h, w = layer.input_shape
    starts = ctx.add_ints(f"{layer.name}.starts", [top, left])
    ends = ctx.add_ints(f"{layer.name}.ends", [h - bottom, w - right])
    axes = ctx.add_ints(f"{layer.name}.axes", [2, 3])
    ctx.add_node("Slice", [inputs[0], starts, ends, axes], [output], name=layer.name)


@exports("UpSampling2D")
def export_upsampling(ctx, layer, inputs, output):
    sh, sw = layer.size
    scales = ctx.add_initializer(f"{layer.name}.scales", np.asarray([1, 1, sh, sw], np.float32))
    if layer.interpolation == "bilinear":
        attrs = {"mode": "linear", "coordinate_transformation_mode": "half_pixel"}
    else:
        attrs = {
            "mode": "nearest",
            "coordinate_transformation_mode": "asymmetric",
            "nearest_mode": "floor",
        }
    ctx.add_node("Resize", [inputs[0], "", scales], [output], name=layer.name, **attrs)
