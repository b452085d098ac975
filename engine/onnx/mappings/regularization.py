"""ONNX for ``Dropout`` and the other regularization and noise layers: an exported model is
for inference, where each of them is the identity."""

from __future__ import annotations

from engine.onnx.registry import exports


@exports("Dropout")
def export_dropout(ctx, layer, inputs, output):
    ctx.add_node("Identity", inputs[:1], [output], name=layer.name)


@exports(
    "SpatialDropout1D",
    "SpatialDropout2D",
    "GaussianNoise",
    "GaussianDropout",
    "ActivityRegularization",
)
def export_identity(ctx, layer, inputs, output):
    """Noise and channel dropout act only while training; the activity penalty only adds
    to the loss: at inference, all are the identity."""
    ctx.add_node("Identity", inputs[:1], [output], name=layer.name)
