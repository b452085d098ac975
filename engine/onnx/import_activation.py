"""Importers for activation operators: fused into the preceding ``Dense`` / ``Conv2D`` when
that layer has no activation yet and nothing else reads its output, otherwise an
``Activation`` layer (or ``LeakyReLU`` / ``ELU`` / ``Softmax`` when a parameter differs from
the engine's fixed constants)."""

from __future__ import annotations

from engine.onnx.import_dense import PendingLayer
from engine.onnx.import_errors import Unsupported
from engine.onnx.import_registry import attr, imports
from engine.onnx.import_values import Sym
from engine.onnx.mappings.activations import ELU_ALPHA, LEAKY_RELU_SLOPE

SIMPLE = {"Relu": "relu", "Sigmoid": "sigmoid", "Tanh": "tanh", "Softplus": "softplus"}


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-6 * max(1.0, abs(b))


def _layer_for(ctx, node, sym_rank: int, sym: Sym | None) -> tuple[str, dict] | str:
    """The engine activation name, or ``(layer type, config)`` for a parametrised layer."""
    op = node.op_type
    if op in SIMPLE:
        return SIMPLE[op]
    if op == "LeakyRelu":
        alpha = float(attr(node, "alpha", 0.01))
        if _close(alpha, LEAKY_RELU_SLOPE):
            return "leaky_relu"
        return ("LeakyReLU", {"negative_slope": alpha})
    if op == "Elu":
        alpha = float(attr(node, "alpha", 1.0))
        return "elu" if _close(alpha, ELU_ALPHA) else ("ELU", {"alpha": alpha})
    if op == "Gelu":
        if attr(node, "approximate", "none") != "none":
            raise Unsupported("GELU with the tanh approximation (LayerCanvas uses exact GELU)")
        return "gelu"
    if op == "Softmax":
        default = -1 if ctx.opset >= 13 else 1
        axis = int(attr(node, "axis", default)) % sym_rank
        if ctx.opset < 13 and axis != sym_rank - 1:
            raise Unsupported(
                f"Softmax before opset 13 normalises every axis from {axis} on together"
            )
        engine_axis = sym.engine_axis(axis) if sym is not None else axis
        if engine_axis is None:
            raise Unsupported("Softmax over an axis of size 1 that Unsqueeze inserted")
        if engine_axis == 0:
            raise Unsupported("Softmax over the batch axis")
        rank = len(sym.tensor.shape) + 1 if sym is not None else sym_rank
        if engine_axis == rank - 1:
            return "softmax"
        return ("Softmax", {"axis": engine_axis})
    raise Unsupported(f"{op} is not an activation")  # pragma: no cover


@imports(*SIMPLE, "LeakyRelu", "Elu", "Gelu", "Softmax")
def import_activation(ctx, node):
    value = ctx.value(node.input[0])
    if (
        isinstance(value, PendingLayer)
        and value.activation == "linear"
        and ctx.private(node.input[0])
    ):
        choice = _layer_for(ctx, node, len(value.onnx_shape), None)
        if isinstance(choice, str):
            ctx.set(node.output[0], value.with_activation(choice))
            return
    sym = ctx.sym(node.input[0])
    if sym.dtype != "float32":
        raise Unsupported("activation of integer token ids")
    choice = _layer_for(ctx, node, sym.rank, sym)
    if isinstance(choice, str):
        type_name, config = "Activation", {"activation": choice}
    else:
        type_name, config = choice
    out = ctx.call_layer(type_name, ctx.node_label(node), sym, **config)
    ctx.set(node.output[0], sym.like(out))
