"""ONNX for ``Embedding``: ``Gather`` rows of the table by int64 token ids."""

from __future__ import annotations

from engine.onnx.context import INT64
from engine.onnx.registry import exports


@exports("Embedding")
def export_embedding(ctx, layer, inputs, output):
    (table,) = layer.get_weights()
    table_name = ctx.add_initializer(f"{layer.name}.embeddings", table)
    ids = inputs[0]
    if ids not in getattr(ctx, "int64_names", ()):
        # Ids that arrive as floats (a canvas model may feed them through a float Input) are
        # whole numbers; Cast truncates like the engine's astype does.
        cast = ctx.fresh(f"{layer.name}.ids")
        ctx.add_node("Cast", [ids], [cast], name=ctx.fresh(f"{layer.name}_cast"), to=INT64)
        ids = cast
    ctx.add_node("Gather", [table_name, ids], [output], name=layer.name, axis=0)
