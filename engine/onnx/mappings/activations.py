"""ONNX for activation functions, shared by ``Activation`` and every ``activation=`` argument."""

from __future__ import annotations

import math

from engine.onnx.context import ExportContext, ExportError
from engine.onnx.registry import exports


def emit_activation(ctx: ExportContext, name: str, x: str, out: str) -> None:
    """Append nodes computing activation ``name`` of tensor ``x`` into tensor ``out``."""
    simple = {
        "relu": "Relu",
        "sigmoid": "Sigmoid",
        "tanh": "Tanh",
        "softplus": "Softplus",
        "linear": "Identity",
    }
    if name in simple:
        ctx.add_node(simple[name], [x], [out])
    elif name == "softmax":
        ctx.add_node("Softmax", [x], [out], axis=-1)
    elif name == "leaky_relu":
        ctx.add_node("LeakyRelu", [x], [out], alpha=0.2)
    elif name == "elu":
        ctx.add_node("Elu", [x], [out], alpha=1.0)
    elif name == "gelu":
        emit_gelu(ctx, x, out)
    else:
        raise ExportError(f"activation {name!r} has no ONNX mapping")


def emit_gelu(ctx: ExportContext, x: str, out: str, approximate: bool = False) -> None:
    """Gelu is an ONNX operator from opset 20; before that, its exact erf formula."""
    if ctx.opset >= 20:
        ctx.add_node("Gelu", [x], [out], approximate="tanh" if approximate else "none")
        return
    scaled = ctx.fresh(f"{out}_scaled")
    ctx.add_node("Div", [x, ctx.add_scalar("sqrt2", math.sqrt(2.0))], [scaled])
    erf = ctx.fresh(f"{out}_erf")
    ctx.add_node("Erf", [scaled], [erf])
    one_plus = ctx.fresh(f"{out}_1p")
    ctx.add_node("Add", [erf, ctx.add_scalar("one", 1.0)], [one_plus])
    half_x = ctx.fresh(f"{out}_halfx")
    ctx.add_node("Mul", [x, ctx.add_scalar("half", 0.5)], [half_x])
    ctx.add_node("Mul", [half_x, one_plus], [out])


def emit_with_activation(ctx: ExportContext, name: str, pre: str, out: str) -> None:
    """Route a layer's pre-activation tensor ``pre`` through ``activation`` into ``out``."""
    emit_activation(ctx, name or "linear", pre, out)


@exports("Activation")
def export_activation(ctx, layer, inputs, output):
    emit_activation(ctx, layer.activation, inputs[0], output)
