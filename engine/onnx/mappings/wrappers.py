"""ONNX for ``Bidirectional`` and ``TimeDistributed``.

``Bidirectional`` is ONE ``RNN`` / ``LSTM`` / ``GRU`` operator with
``direction="bidirectional"`` (``W``, ``R``, ``B`` stack the forward then the backward
layer's weights, converted as in :mod:`engine.onnx.mappings.recurrent`), on the
time-major input. ``Y`` is ``(T, 2, N, H)``: ``Transpose(perm=[2, 0, 1, 3])`` makes it
``(N, T, 2, H)`` and, for ``merge_mode="concat"``, ``Reshape`` to ``(N, T, 2H)`` puts the
forward features first, as Keras does; ``Y_h`` ``(2, N, H)`` likewise through
``Transpose(perm=[1, 0, 2])`` + ``Reshape``. Other merge modes ``Gather`` the two
directions and ``Add`` / ``Mul`` them (``ave`` = half the sum).

``TimeDistributed`` folds time into the batch with ``Reshape`` to ``(-1, *step_shape)``,
writes the wrapped layer through its own exporter, and unfolds with ``Reshape`` to
``(-1, T, *step_output_shape)`` (the batch stays dynamic).
"""

from __future__ import annotations

import numpy as np

from engine.onnx.context import ExportError
from engine.onnx.mappings.recurrent import OP_TYPE, _activation_attrs, onnx_weights
from engine.onnx.registry import exporter_for, exports


def _bidirectional_attrs(layer) -> dict:
    """The wrapped layer's activation attributes, listed once per direction."""
    attrs = _activation_attrs(layer.forward_layer)
    return {key: list(values) * 2 for key, values in attrs.items()}


def _stacked_weights(layer):
    forward = onnx_weights(layer.forward_layer)
    backward = onnx_weights(layer.backward_layer)
    w, r = (np.concatenate([f, b]) for f, b in zip(forward[:2], backward[:2], strict=True))
    bias = None if forward[2] is None else np.concatenate([forward[2], backward[2]])
    return w, r, bias


def _merge(ctx, layer, both: str, axis: int, output: str) -> None:
    """Combine the two directions held on ``axis`` of ``both`` into ``output``."""
    name = layer.name
    halves = []
    for index in (0, 1):
        half = ctx.fresh(f"{name}.direction{index}")
        position = ctx.add_initializer(f"{name}.index{index}", np.array(index), dtype=np.int64)
        ctx.add_node(
            "Gather", [both, position], [half], name=ctx.fresh(f"{name}_gather"), axis=axis
        )
        halves.append(half)
    if layer.merge_mode == "mul":
        ctx.add_node("Mul", halves, [output], name=ctx.fresh(f"{name}_mul"))
    elif layer.merge_mode == "sum":
        ctx.add_node("Add", halves, [output], name=ctx.fresh(f"{name}_sum"))
    else:
        total = ctx.fresh(f"{name}.sum")
        ctx.add_node("Add", halves, [total], name=ctx.fresh(f"{name}_sum"))
        half = ctx.add_scalar(f"{name}.half", 0.5)
        ctx.add_node("Mul", [total, half], [output], name=ctx.fresh(f"{name}_ave"))


@exports("Bidirectional")
def export_bidirectional(ctx, layer, inputs, output):
    inner = layer.forward_layer
    kind, name = inner.type_name, layer.name
    w, r, b = _stacked_weights(layer)
    args = [
        ctx.fresh(f"{name}.time_major"),
        ctx.add_initializer(f"{name}.W", w),
        ctx.add_initializer(f"{name}.R", r),
    ]
    if b is not None:
        args.append(ctx.add_initializer(f"{name}.B", b))
    ctx.add_node("Transpose", inputs[:1], [args[0]], name=ctx.fresh(f"{name}_in"), perm=[1, 0, 2])
    attrs = {"hidden_size": int(inner.units), "direction": "bidirectional"}
    attrs.update(_bidirectional_attrs(layer))
    if kind == "GRU":
        attrs["linear_before_reset"] = int(bool(inner.reset_after))
    batch_first = ctx.fresh(f"{name}.batch_first")
    if inner.return_sequences:
        y = ctx.fresh(f"{name}.Y")
        ctx.add_node(OP_TYPE[kind], args, [y], name=name, **attrs)
        ctx.add_node(  # (T, 2, N, H) -> (N, T, 2, H)
            "Transpose", [y], [batch_first], name=ctx.fresh(f"{name}_out"), perm=[2, 0, 1, 3]
        )
        flat_shape, direction_axis = [0, 0, -1], 2
    else:
        y_h = ctx.fresh(f"{name}.Y_h")
        ctx.add_node(OP_TYPE[kind], args, ["", y_h], name=name, **attrs)
        ctx.add_node(  # (2, N, H) -> (N, 2, H)
            "Transpose", [y_h], [batch_first], name=ctx.fresh(f"{name}_out"), perm=[1, 0, 2]
        )
        flat_shape, direction_axis = [0, -1], 1
    if layer.merge_mode == "concat":
        shape = ctx.add_ints(f"{name}.shape", flat_shape)
        ctx.add_node("Reshape", [batch_first, shape], [output], name=ctx.fresh(f"{name}_concat"))
    else:
        _merge(ctx, layer, batch_first, direction_axis, output)


@exports("TimeDistributed")
def export_time_distributed(ctx, layer, inputs, output):
    inner = layer.inner_layer
    exporter = exporter_for(inner.type_name)
    if exporter is None:
        raise ExportError(f"TimeDistributed {layer.name!r}: {inner.type_name} has no ONNX mapping")
    name = layer.name
    steps, step_shape = layer.input_shape[0], tuple(layer.input_shape[1:])
    out_shape = tuple(inner.compute_output_shape(step_shape))
    folded, inner_out = ctx.fresh(f"{name}.folded"), ctx.fresh(f"{name}.per_step")
    fold = ctx.add_ints(f"{name}.fold_shape", [-1, *step_shape])
    ctx.add_node("Reshape", [inputs[0], fold], [folded], name=ctx.fresh(f"{name}_fold"))
    exporter(ctx, inner, [folded], inner_out)
    unfold = ctx.add_ints(f"{name}.unfold_shape", [-1, steps, *out_shape])
    ctx.add_node("Reshape", [inner_out, unfold], [output], name=ctx.fresh(f"{name}_unfold"))
