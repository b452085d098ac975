"""ONNX for the parametrised activation layers: ``LeakyReLU``, ``ELU``, ``Softmax``."""

from __future__ import annotations

from engine.onnx.registry import exports


@exports("LeakyReLU")
def export_leaky_relu(ctx, layer, inputs, output):
    ctx.add_node(
        "LeakyRelu", inputs[:1], [output], name=layer.name, alpha=float(layer.negative_slope)
    )


@exports("ELU")
def export_elu(ctx, layer, inputs, output):
    ctx.add_node("Elu", inputs[:1], [output], name=layer.name, alpha=float(layer.alpha))


@exports("Softmax")
def export_softmax(ctx, layer, inputs, output):
    # Opset 13+ Softmax normalises one axis, like the layer; the axis counts the batch axis.
    ctx.add_node("Softmax", inputs[:1], [output], name=layer.name, axis=int(layer.axis))
