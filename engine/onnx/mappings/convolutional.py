"""ONNX for ``Conv2D``: ``Conv`` with explicit pads computed exactly as the engine's
``padding`` (never ``auto_pad``), strides, dilations, then the activation."""

from __future__ import annotations

from engine.onnx.mappings.activations import emit_with_activation
from engine.onnx.registry import exports


def onnx_pads(pads) -> list[int]:
    """``((top, bottom), (left, right))`` as ONNX's ``[top, left, bottom, right]``."""
    (top, bottom), (left, right) = pads
    return [top, left, bottom, right]


@exports("Conv2D")
def export_conv2d(ctx, layer, inputs, output):
    weights = dict(zip(["kernel", "bias"], layer.get_weights(), strict=False))
    args = [inputs[0], ctx.add_initializer(f"{layer.name}.kernel", weights["kernel"])]
    if layer.use_bias:
        args.append(ctx.add_initializer(f"{layer.name}.bias", weights["bias"]))
    pre = ctx.fresh(f"{layer.name}.pre") if layer.activation != "linear" else output
    _, h, w = layer.input_shape
    ctx.add_node(
        "Conv",
        args,
        [pre],
        name=layer.name,
        kernel_shape=list(layer.kernel_size),
        strides=list(layer.strides),
        dilations=list(layer.dilation_rate),
        pads=onnx_pads(layer.explicit_pads((h, w))),
        group=layer.groups,
    )
    if pre != output:
        emit_with_activation(ctx, layer.activation, pre, output, layer)
