"""ONNX for ``SimpleRNN`` / ``LSTM`` / ``GRU``: the ONNX ``RNN`` / ``LSTM`` / ``GRU`` operators.

onnxruntime's CPU kernels read time-major data (``layout=1`` is not supported), so the
batch-first ``(N, T, F)`` input is transposed to ``(T, N, F)`` first, and the result is
brought back: every step's state ``Y (T, 1, N, H)`` through Squeeze + Transpose to
``(N, T, H)`` (``return_sequences=True``), or the last state ``Y_h (1, N, H)`` through
Squeeze to ``(N, H)``. The importer recognises exactly this pattern (and PyTorch's). A
padding mask (``Embedding(mask_zero=True)`` upstream) is exported exactly through
``sequence_lens`` on the compacted sequence (:mod:`engine.onnx.masks`).

Weights: ONNX's ``W [1, k*H, F]`` is the Keras kernel transposed, ``R [1, k*H, H]`` the
recurrent kernel transposed, ``B [1, 2*k*H]`` the input bias then the recurrent bias. Gate
blocks are reordered: Keras LSTM ``i, f, c, o`` is ONNX ``i, o, f, c``; GRU ``z, r, h`` is
the same in both. A GRU with ``reset_after=True`` is ONNX's ``linear_before_reset=1``.
"""

from __future__ import annotations

import numpy as np

from engine.onnx.context import ExportError
from engine.onnx.masks import Compacted, masks_of
from engine.onnx.registry import exports

OP_TYPE = {"SimpleRNN": "RNN", "LSTM": "LSTM", "GRU": "GRU"}
GATES = {"SimpleRNN": 1, "LSTM": 4, "GRU": 3}
# Position in the Keras weights of each ONNX gate block.
KERAS_BLOCK_OF_ONNX = {"SimpleRNN": [0], "LSTM": [0, 3, 1, 2], "GRU": [0, 1, 2]}

# Engine activation -> (ONNX RNN activation name, alpha, beta); alpha/beta None if unused.
ONNX_ACTIVATION = {
    "tanh": ("Tanh", None, None),
    "sigmoid": ("Sigmoid", None, None),
    "relu": ("Relu", None, None),
    "softplus": ("Softplus", None, None),
    "linear": ("Affine", 1.0, 0.0),
    "elu": ("Elu", 1.0, None),
    "leaky_relu": ("LeakyRelu", 0.2, None),
}
DEFAULT_ACTIVATIONS = {
    "SimpleRNN": ["Tanh"],
    "LSTM": ["Sigmoid", "Tanh", "Tanh"],
    "GRU": ["Sigmoid", "Tanh"],
}


def reorder_blocks(matrix: np.ndarray, order: list[int], units: int) -> np.ndarray:
    """Columns regrouped in gate blocks of ``units``: block ``j`` of the result is block
    ``order[j]`` of ``matrix`` (the last axis)."""
    return np.concatenate([matrix[..., k * units : (k + 1) * units] for k in order], axis=-1)


def _activation_attrs(layer) -> dict:
    names = (
        [layer.activation]
        if layer.type_name == "SimpleRNN"
        else [layer.recurrent_activation, layer.activation]
        + ([layer.activation] if layer.type_name == "LSTM" else [])
    )
    try:
        entries = [ONNX_ACTIVATION[n] for n in names]
    except KeyError as err:
        raise ExportError(
            f"{layer.type_name} {layer.name!r}: activation {err.args[0]!r} has no ONNX "
            "recurrent equivalent"
        ) from None
    onnx_names = [e[0] for e in entries]
    if onnx_names == DEFAULT_ACTIVATIONS[layer.type_name]:
        return {}
    attrs = {"activations": onnx_names}
    # ONNX consumes alphas (and betas) in order, one per activation that takes one.
    alphas = [e[1] for e in entries if e[1] is not None]
    betas = [e[2] for e in entries if e[2] is not None]
    if alphas:
        attrs["activation_alpha"] = alphas
    if betas:
        attrs["activation_beta"] = betas
    return attrs


def onnx_weights(layer) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """``(W, R, B)`` in ONNX's layout from the layer's Keras weights (B None without bias)."""
    units, kind = layer.units, layer.type_name
    order = KERAS_BLOCK_OF_ONNX[kind]
    kernel, recurrent, *rest = layer.get_weights()
    w = reorder_blocks(kernel, order, units).T[None]
    r = reorder_blocks(recurrent, order, units).T[None]
    if not rest:
        return w, r, None
    bias = rest[0]
    if kind == "GRU" and layer.reset_after:
        wb, rb = bias[0], bias[1]
    else:
        wb, rb = bias, np.zeros_like(bias)
    b = np.concatenate([reorder_blocks(wb, order, units), reorder_blocks(rb, order, units)])
    return w, r, b[None]


@exports("SimpleRNN", "LSTM", "GRU")
def export_recurrent(ctx, layer, inputs, output):
    kind = layer.type_name
    w, r, b = onnx_weights(layer)
    attrs = {"hidden_size": int(layer.units), "direction": "forward", **_activation_attrs(layer)}
    if kind == "GRU":
        attrs["linear_before_reset"] = int(bool(layer.reset_after))
    emit_recurrent(ctx, layer, inputs[0], (w, r, b), attrs, output)


def emit_recurrent(ctx, layer, source: str, weights, attrs: dict, output: str) -> None:
    """The ONNX recurrent operator on the batch-first ``source`` (``attrs`` give its kind
    and direction), its result brought back batch first into ``output``; a padding mask
    on ``source`` goes through :class:`~engine.onnx.masks.Compacted`."""
    name, w, (_, r, b) = layer.name, weights[0], weights
    directions = 2 if attrs["direction"] == "bidirectional" else 1
    tracker = masks_of(ctx)
    mask = tracker.of(source) if tracker is not None else None
    compact = None
    if mask is not None:
        compact = Compacted(ctx, name, source, mask, layer.input_shape[0])
        source = compact.x
    args = [
        ctx.fresh(f"{name}.time_major"),
        ctx.add_initializer(f"{name}.W", w),
        ctx.add_initializer(f"{name}.R", r),
        ctx.add_initializer(f"{name}.B", b) if b is not None else "",
    ]
    if compact is not None:
        args.append(compact.lens)
    while args[-1] == "":
        args.pop()
    ctx.add_node("Transpose", [source], [args[0]], name=ctx.fresh(f"{name}_in"), perm=[1, 0, 2])
    kind = OP_TYPE[layer.type_name if directions == 1 else layer.forward_layer.type_name]
    merged = directions == 1 or layer.merge_mode == "concat"
    if layer.return_sequences:
        # Y (T, D, N, H) -> batch first (N, T, D*H) or, for a merge, (N, T, D, H).
        y = ctx.fresh(f"{name}.Y")
        ctx.add_node(kind, args, [y], name=name, **attrs)
        batch_first = ctx.fresh(f"{name}.Y_batch_first")
        ctx.add_node(
            "Transpose", [y], [batch_first], name=ctx.fresh(f"{name}_out"), perm=[2, 0, 1, 3]
        )
        result = output if merged and compact is None else ctx.fresh(f"{name}.Y_steps")
        rank = 3 if merged else 4
        if merged:
            shape = ctx.add_ints(f"{name}.shape", [0, 0, -1])
            ctx.add_node("Reshape", [batch_first, shape], [result], name=ctx.fresh(f"{name}_flat"))
        else:
            result = batch_first
        if compact is not None:
            spread = output if merged else ctx.fresh(f"{name}.Y_spread")
            compact.spread(result, rank, spread, zero_masked=directions == 2)
            result = spread
        if not merged:
            merge_directions(ctx, layer, result, 2, output)
        return
    # Y_h (D, N, H) -> (N, D*H) or, for a merge, (N, D, H).
    y_h = ctx.fresh(f"{name}.Y_h")
    ctx.add_node(kind, args, ["", y_h], name=name, **attrs)
    if directions == 1:
        axes = ctx.add_ints(f"{name}.axes", [0])
        ctx.add_node("Squeeze", [y_h, axes], [output], name=ctx.fresh(f"{name}_squeeze"))
        return
    batch_first = ctx.fresh(f"{name}.Y_h_batch_first")
    ctx.add_node("Transpose", [y_h], [batch_first], name=ctx.fresh(f"{name}_out"), perm=[1, 0, 2])
    if merged:
        shape = ctx.add_ints(f"{name}.shape", [0, -1])
        ctx.add_node("Reshape", [batch_first, shape], [output], name=ctx.fresh(f"{name}_concat"))
    else:
        merge_directions(ctx, layer, batch_first, 1, output)


def merge_directions(ctx, layer, both: str, axis: int, output: str) -> None:
    """Combine the two directions held on ``axis`` of ``both`` (``Bidirectional``'s
    ``merge_mode`` sum / mul / ave) into ``output``."""
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
