"""ONNX for ``SimpleRNN`` / ``LSTM`` / ``GRU``: the ONNX ``RNN`` / ``LSTM`` / ``GRU`` operators.

onnxruntime's CPU kernels read time-major data (``layout=1`` is not supported), so the
batch-first ``(N, T, F)`` input is transposed to ``(T, N, F)`` first, and the result is
brought back: every step's state ``Y (T, 1, N, H)`` through Squeeze + Transpose to
``(N, T, H)`` (``return_sequences=True``), or the last state ``Y_h (1, N, H)`` through
Squeeze to ``(N, H)``. The importer recognises exactly this pattern (and PyTorch's).

Weights: ONNX's ``W [1, k*H, F]`` is the Keras kernel transposed, ``R [1, k*H, H]`` the
recurrent kernel transposed, ``B [1, 2*k*H]`` the input bias then the recurrent bias. Gate
blocks are reordered: Keras LSTM ``i, f, c, o`` is ONNX ``i, o, f, c``; GRU ``z, r, h`` is
the same in both. A GRU with ``reset_after=True`` is ONNX's ``linear_before_reset=1``.
"""

from __future__ import annotations

import numpy as np

from engine.onnx.context import ExportError
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
    name = layer.name
    args = [
        ctx.fresh(f"{name}.time_major"),
        ctx.add_initializer(f"{name}.W", w),
        ctx.add_initializer(f"{name}.R", r),
    ]
    if b is not None:
        args.append(ctx.add_initializer(f"{name}.B", b))
    ctx.add_node("Transpose", inputs[:1], [args[0]], name=ctx.fresh(f"{name}_in"), perm=[1, 0, 2])
    attrs = {"hidden_size": int(layer.units), "direction": "forward", **_activation_attrs(layer)}
    if kind == "GRU":
        attrs["linear_before_reset"] = int(bool(layer.reset_after))
    if layer.return_sequences:
        y = ctx.fresh(f"{name}.Y")
        ctx.add_node(OP_TYPE[kind], args, [y], name=name, **attrs)
        squeezed = ctx.fresh(f"{name}.Y_squeezed")
        axes = ctx.add_ints(f"{name}.axes", [1])
        ctx.add_node("Squeeze", [y, axes], [squeezed], name=ctx.fresh(f"{name}_squeeze"))
        ctx.add_node(
            "Transpose", [squeezed], [output], name=ctx.fresh(f"{name}_out"), perm=[1, 0, 2]
        )
    else:
        y_h = ctx.fresh(f"{name}.Y_h")
        ctx.add_node(OP_TYPE[kind], args, ["", y_h], name=name, **attrs)
        axes = ctx.add_ints(f"{name}.axes", [0])
        ctx.add_node("Squeeze", [y_h, axes], [output], name=ctx.fresh(f"{name}_squeeze"))
