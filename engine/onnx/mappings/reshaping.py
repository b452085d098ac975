"""ONNX for ``Flatten`` and ``Reshape``: both keep the batch axis and reshape the rest."""

from __future__ import annotations

from engine.onnx.registry import exports


@exports("Flatten")
def export_flatten(ctx, layer, inputs, output):
    ctx.add_node("Flatten", inputs[:1], [output], name=layer.name, axis=1)


@exports("Reshape")
def export_reshape(ctx, layer, inputs, output):
    # 0 copies the (dynamic) batch size; the per-sample part is written fully resolved so the
    # file does not depend on ONNX's -1 inference agreeing with ours.
    target = layer.compute_output_shape(layer.input_shape)
    shape = ctx.add_ints(f"{layer.name}.shape", [0, *target])
    ctx.add_node("Reshape", [inputs[0], shape], [output], name=layer.name)
