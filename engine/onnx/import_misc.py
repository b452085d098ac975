"""Importers for ``Dropout`` (a ``Dropout`` layer, identity at inference) and ``Gather`` of a
constant table by token ids (an ``Embedding``); other ``Gather`` uses fold constants or
pick a recurrent layer's last state."""

from __future__ import annotations

import numpy as np

from engine.onnx.import_channel_slice import gather_index
from engine.onnx.import_errors import Unsupported
from engine.onnx.import_registry import attr, imports
from engine.onnx.import_rnn import last_step
from engine.onnx.import_shape import fold_gather
from engine.onnx.import_values import Const, Pending, Sym


@imports("Dropout")
def import_dropout(ctx, node):
    if ctx.outputs_used(node, 1):
        raise Unsupported("the mask output of Dropout is used")
    if ctx.opset >= 12:
        rate = (
            float(ctx.const(node.input[1], "ratio").reshape(-1)[0])
            if ctx.has_input(node, 1)
            else 0.5
        )
        if ctx.has_input(node, 2) and bool(ctx.const(node.input[2], "training_mode").any()):
            raise Unsupported("Dropout in training mode is random at inference")
    else:
        rate = float(attr(node, "ratio", 0.5))
    if not 0.0 <= rate < 1.0:
        raise Unsupported(f"Dropout ratio {rate} outside [0, 1)")
    sym = ctx.sym(node.input[0])
    out = ctx.call_layer("Dropout", ctx.node_label(node), sym, rate=rate)
    ctx.set(node.output[0], sym.like(out))


@imports("Gather")
def import_gather(ctx, node):
    if fold_gather(ctx, node):
        return
    data = ctx.value(node.input[0])
    if isinstance(data, Sym | Pending) and isinstance(ctx.value(node.input[1]), Const):
        data = ctx.sym(node.input[0])
        index = ctx.value(node.input[1]).value
        axis = int(attr(node, "axis", 0)) % data.rank
        if index.ndim == 0 and int(index) in (0, -1) and data.engine_axis(axis) is None:
            ctx.set(node.output[0], data.squeezed([axis]))  # picking the only entry of a unit axis
            return
        result = last_step(ctx, data, axis, index)
        if result is not None:
            ctx.set(node.output[0], result)
            return
        if gather_index(ctx, node, axis, index):
            return
    table = ctx.const(node.input[0], "the Gather table (embedding weights)")
    if int(attr(node, "axis", 0)) != 0:
        raise Unsupported("Gather along an axis other than 0 (only row lookups, as Embedding)")
    if table.ndim != 2:
        raise Unsupported(f"Gather from a {table.ndim}-D table; Embedding needs a 2-D table")
    if not np.issubdtype(table.dtype, np.floating):
        raise Unsupported("Gather from an integer table")
    ids = ctx.plain(node.input[1], "the token ids")
    if ids.dtype != "int64":
        raise Unsupported("Gather indices that are not integers")
    vocabulary, width = table.shape
    out = ctx.call_layer(
        "Embedding",
        ctx.node_label(node),
        ids,
        weights=[table],
        input_dim=int(vocabulary),
        output_dim=int(width),
    )
    ctx.set(node.output[0], Sym(out))
