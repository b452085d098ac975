"""ONNX for ``Dropout``: an exported model is for inference, where dropout is the identity."""

from __future__ import annotations

from engine.onnx.registry import exports


@exports("Dropout")
def export_dropout(ctx, layer, inputs, output):
    ctx.add_node("Identity", inputs[:1], [output], name=layer.name)
