"""ONNX for the pooling layers: ``MaxPool`` / ``AveragePool`` with explicit pads computed as
the engine's ``padding`` (``count_include_pad=0``: padding never counts, as in Keras), and
``GlobalAveragePool`` / ``GlobalMaxPool`` followed by ``Flatten`` to ``(N, C)`` unless the
layer keeps the pooled axes."""

from __future__ import annotations

from engine.onnx.mappings.convolutional import onnx_pads
from engine.onnx.registry import exports


@exports("MaxPooling2D", "AveragePooling2D")
def export_pooling(ctx, layer, inputs, output):
    _, h, w = layer.input_shape
    attrs = {
        "kernel_shape": list(layer.pool_size),
        "strides": list(layer.window_strides),
        "pads": onnx_pads(layer.explicit_pads((h, w))),
    }
    if layer.type_name == "MaxPooling2D":
        ctx.add_node("MaxPool", inputs[:1], [output], name=layer.name, **attrs)
    else:
        ctx.add_node(
            "AveragePool", inputs[:1], [output], name=layer.name, count_include_pad=0, **attrs
        )


@exports("GlobalAveragePooling2D", "GlobalMaxPooling2D")
def export_global_pooling(ctx, layer, inputs, output):
    op = "GlobalAveragePool" if layer.type_name == "GlobalAveragePooling2D" else "GlobalMaxPool"
    if layer.keepdims:
        ctx.add_node(op, inputs[:1], [output], name=layer.name)
        return
    pooled = ctx.fresh(f"{layer.name}.pooled")
    ctx.add_node(op, inputs[:1], [pooled], name=layer.name)
    ctx.add_node("Flatten", [pooled], [output], name=ctx.fresh(f"{layer.name}_flatten"), axis=1)
