"""ONNX for activation functions, shared by ``Activation`` and every ``activation=`` argument."""

from __future__ import annotations

import math

from engine.onnx.context import ExportContext, ExportError
from engine.onnx.registry import exports

# Activations that are one ONNX operator with default attributes.
SIMPLE = {
    "relu": "Relu",
    "sigmoid": "Sigmoid",
    "tanh": "Tanh",
    "softplus": "Softplus",
    "linear": "Identity",
}
# The engine's fixed constants (engine.autodiff.ops.leaky_relu / elu).
LEAKY_RELU_SLOPE = 0.2
ELU_ALPHA = 1.0


def emit_activation(
    ctx: ExportContext, name: str, x: str, out: str, node_name: str | None = None
) -> None:
    """Append nodes computing activation ``name`` of tensor ``x`` into tensor ``out``.

    ``node_name`` names the (last) node, so a layer's name survives into the file.
    """
    if name in SIMPLE:
        ctx.add_node(SIMPLE[name], [x], [out], name=node_name)
    elif name == "softmax":
        ctx.add_node("Softmax", [x], [out], name=node_name, axis=-1)
    elif name == "leaky_relu":
        ctx.add_node("LeakyRelu", [x], [out], name=node_name, alpha=LEAKY_RELU_SLOPE)
    elif name == "elu":
        ctx.add_node("Elu", [x], [out], name=node_name, alpha=ELU_ALPHA)
    elif name == "gelu":
        emit_gelu(ctx, x, out, node_name=node_name)
    else:
        raise ExportError(f"activation {name!r} has no ONNX mapping")


def emit_gelu(
    ctx: ExportContext, x: str, out: str, approximate: bool = False, node_name: str | None = None
) -> None:
    """Gelu is an ONNX operator from opset 20; before that, its exact erf formula
    ``x * 0.5 * (1 + erf(x / sqrt(2)))`` (the importer recognises it)."""
    if ctx.opset >= 20:
        ctx.add_node(
            "Gelu", [x], [out], name=node_name, approximate="tanh" if approximate else "none"
        )
        return
    if approximate:
        raise ExportError("the tanh approximation of GELU needs opset 20 or newer")
    scaled = ctx.fresh(f"{out}_scaled")
    ctx.add_node("Div", [x, ctx.add_scalar("sqrt2", math.sqrt(2.0))], [scaled])
    erf = ctx.fresh(f"{out}_erf")
    ctx.add_node("Erf", [scaled], [erf])
    one_plus = ctx.fresh(f"{out}_1p")
    ctx.add_node("Add", [erf, ctx.add_scalar("one", 1.0)], [one_plus])
    half_x = ctx.fresh(f"{out}_halfx")
    ctx.add_node("Mul", [x, ctx.add_scalar("half", 0.5)], [half_x])
    ctx.add_node("Mul", [half_x, one_plus], [out], name=node_name)


def emit_with_activation(ctx: ExportContext, name: str, pre: str, out: str, layer=None) -> None:
    """Route a layer's pre-activation tensor ``pre`` through ``activation`` into ``out``.

    The activation node is named ``<layer>_act`` so the importer can tell it belongs to the
    layer (it fuses it back either way)."""
    node_name = ctx.fresh(f"{layer.name}_act") if layer is not None else None
    emit_activation(ctx, name or "linear", pre, out, node_name=node_name)


@exports("Activation")
def export_activation(ctx, layer, inputs, output):
    emit_activation(ctx, layer.activation, inputs[0], output, node_name=layer.name)
