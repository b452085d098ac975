"""ONNX for ``Bidirectional`` and ``TimeDistributed``.

``Bidirectional`` is ONE ``RNN`` / ``LSTM`` / ``GRU`` operator with
``direction="bidirectional"`` (``W``, ``R``, ``B`` stack the forward then the backward
layer's weights, converted as in :mod:`engine.onnx.mappings.recurrent`), on the
time-major input. ``Y`` is ``(T, 2, N, H)``: ``Transpose(perm=[2, 0, 1, 3])`` makes it
``(N, T, 2, H)`` and, for ``merge_mode="concat"``, ``Reshape`` to ``(N, T, 2H)`` puts the
forward features first, as Keras does; ``Y_h`` ``(2, N, H)`` likewise through
``Transpose(perm=[1, 0, 2])`` + ``Reshape``. Other merge modes ``Gather`` the two
directions and ``Add`` / ``Mul`` them (``ave`` = half the sum). The shared code, masks
included, is :func:`engine.onnx.mappings.recurrent.emit_recurrent`.

``TimeDistributed`` folds time into the batch with ``Reshape`` to ``(-1, *step_shape)``,
writes the wrapped layer through its own exporter, and unfolds with ``Reshape`` to
``(-1, T, *step_output_shape)`` (the batch stays dynamic).
"""

from __future__ import annotations

import numpy as np

from engine.onnx.context import ExportError
from engine.onnx.mappings.recurrent import _activation_attrs, emit_recurrent, onnx_weights
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


@exports("Bidirectional")
def export_bidirectional(ctx, layer, inputs, output):
    inner = layer.forward_layer
    attrs = {"hidden_size": int(inner.units), "direction": "bidirectional"}
    attrs.update(_bidirectional_attrs(layer))
    if inner.type_name == "GRU":
        attrs["linear_before_reset"] = int(bool(inner.reset_after))
    emit_recurrent(ctx, layer, inputs[0], _stacked_weights(layer), attrs, output)


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
    ctx.add_node("Reshape", [inputs[0], fold], [folded], name=name)  # the layer's name
    exporter(ctx, inner, [folded], inner_out)
    unfold = ctx.add_ints(f"{name}.unfold_shape", [-1, steps, *out_shape])
    ctx.add_node("Reshape", [inner_out, unfold], [output], name=ctx.fresh(f"{name}_unfold"))
