"""ONNX for ``Flatten`` and ``Reshape`` (both keep the batch axis and reshape the rest),
``Permute`` (``Transpose`` with the batch axis first) and ``RepeatVector`` (``Unsqueeze`` then
``Tile``)."""

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


@exports("Permute")
def export_permute(ctx, layer, inputs, output):
    ctx.add_node("Transpose", inputs[:1], [output], name=layer.name, perm=[0, *layer.dims])


@exports("RepeatVector")
def export_repeat_vector(ctx, layer, inputs, output):
    # (N, F) -> (N, 1, F) -> tiled n times along the new axis.
    axes = ctx.add_ints(f"{layer.name}.axes", [1])
    column = ctx.fresh(f"{layer.name}.column")
    ctx.add_node(
        "Unsqueeze", [inputs[0], axes], [column], name=ctx.fresh(f"{layer.name}_unsqueeze")
    )
    repeats = ctx.add_ints(f"{layer.name}.repeats", [1, layer.n, 1])
    ctx.add_node("Tile", [column, repeats], [output], name=layer.name)
