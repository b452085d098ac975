"""ONNX for activation functions, shared by ``Activation`` and every ``activation=`` argument.

Where opset 17 has the operator, one node (``Relu``, ``HardSigmoid``, ``HardSwish``,
``Selu``, ``Softsign``, ``Clip`` for ``relu6``). Otherwise the formula, written the way
PyTorch's exporter writes it so the importer's patterns (``import_activation_patterns``)
read both back as one activation: ``silu`` as ``x * Sigmoid(x)``, ``mish`` as
``x * Tanh(Softplus(x))`` (``Mish`` from opset 18), GELU as its erf or tanh formula
(``Gelu`` from opset 20).
"""

from __future__ import annotations

import math

from engine.autodiff.kernels_activation import SELU_ALPHA, SELU_SCALE
from engine.onnx.context import ExportContext, ExportError
from engine.onnx.registry import exports

# Activations that are one ONNX operator with default attributes.
SIMPLE = {
    "relu": "Relu",
    "sigmoid": "Sigmoid",
    "tanh": "Tanh",
    "softplus": "Softplus",
    "linear": "Identity",
    "softsign": "Softsign",
    "hard_silu": "HardSwish",
    "hard_swish": "HardSwish",
}
# The engine's fixed constants (engine.autodiff.ops.leaky_relu / elu).
LEAKY_RELU_SLOPE = 0.2
ELU_ALPHA = 1.0
HARD_SIGMOID_ALPHA = 1.0 / 6.0  # Keras 3: relu6(x + 3) / 6 = clip(x / 6 + 0.5, 0, 1)
HARD_SIGMOID_BETA = 0.5
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)


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
    elif name == "relu6":
        emit_clip(ctx, x, out, 0.0, 6.0, node_name=node_name)
    elif name in ("silu", "swish"):
        sig = ctx.fresh(f"{out}_sigmoid")
        ctx.add_node("Sigmoid", [x], [sig])
        ctx.add_node("Mul", [x, sig], [out], name=node_name)
    elif name == "mish":
        emit_mish(ctx, x, out, node_name=node_name)
    elif name == "hard_sigmoid":
        ctx.add_node(
            "HardSigmoid",
            [x],
            [out],
            name=node_name,
            alpha=HARD_SIGMOID_ALPHA,
            beta=HARD_SIGMOID_BETA,
        )
    elif name == "selu":
        ctx.add_node("Selu", [x], [out], name=node_name, alpha=SELU_ALPHA, gamma=SELU_SCALE)
    else:
        raise ExportError(f"activation {name!r} has no ONNX mapping")


def emit_clip(ctx: ExportContext, x: str, out: str, low: float, high: float, node_name=None):
    """``Clip`` with its bounds as scalar inputs (opset 11+)."""
    lo = ctx.add_scalar("clip_min", low)
    hi = ctx.add_scalar("clip_max", high)
    ctx.add_node("Clip", [x, lo, hi], [out], name=node_name)


def emit_mish(ctx: ExportContext, x: str, out: str, node_name: str | None = None) -> None:
    if ctx.opset >= 18:
        ctx.add_node("Mish", [x], [out], name=node_name)
        return
    softplus = ctx.fresh(f"{out}_softplus")
    ctx.add_node("Softplus", [x], [softplus])
    tanh = ctx.fresh(f"{out}_tanh")
    ctx.add_node("Tanh", [softplus], [tanh])
    ctx.add_node("Mul", [x, tanh], [out], name=node_name)


def emit_gelu(
    ctx: ExportContext, x: str, out: str, approximate: bool = False, node_name: str | None = None
) -> None:
    """Gelu is an ONNX operator from opset 20; before that, its exact erf formula
    ``x * 0.5 * (1 + erf(x / sqrt(2)))`` or the tanh approximation
    ``0.5 * x * (1 + tanh(sqrt(2 / pi) * (x + 0.044715 x^3)))`` (the importer recognises
    both)."""
    if ctx.opset >= 20:
        ctx.add_node(
            "Gelu", [x], [out], name=node_name, approximate="tanh" if approximate else "none"
        )
        return
    if approximate:
        _emit_gelu_tanh(ctx, x, out, node_name)
        return
    scaled = ctx.fresh(f"{out}_scaled")
    ctx.add_node("Div", [x, ctx.add_scalar("sqrt2", math.sqrt(2.0))], [scaled])
    erf = ctx.fresh(f"{out}_erf")
    ctx.add_node("Erf", [scaled], [erf])
    one_plus = ctx.fresh(f"{out}_1p")
    ctx.add_node("Add", [erf, ctx.add_scalar("one", 1.0)], [one_plus])
    half_x = ctx.fresh(f"{out}_halfx")
    ctx.add_node("Mul", [x, ctx.add_scalar("half", 0.5)], [half_x])
    ctx.add_node("Mul", [half_x, one_plus], [out], name=node_name)


def _emit_gelu_tanh(ctx: ExportContext, x: str, out: str, node_name: str | None) -> None:
    """The node sequence PyTorch's exporter writes for ``GELU(approximate="tanh")``."""
    square = ctx.fresh(f"{out}_x2")
    ctx.add_node("Mul", [x, x], [square])
    cube = ctx.fresh(f"{out}_x3")
    ctx.add_node("Mul", [x, square], [cube])
    scaled_cube = ctx.fresh(f"{out}_cx3")
    ctx.add_node("Mul", [ctx.add_scalar("gelu_c", 0.044715), cube], [scaled_cube])
    inner = ctx.fresh(f"{out}_inner")
    ctx.add_node("Add", [x, scaled_cube], [inner])
    scaled = ctx.fresh(f"{out}_scaled")
    ctx.add_node("Mul", [ctx.add_scalar("sqrt_2_over_pi", _SQRT_2_OVER_PI), inner], [scaled])
    tanh = ctx.fresh(f"{out}_tanh")
    ctx.add_node("Tanh", [scaled], [tanh])
    one_plus = ctx.fresh(f"{out}_1p")
    ctx.add_node("Add", [ctx.add_scalar("one", 1.0), tanh], [one_plus])
    product = ctx.fresh(f"{out}_x1p")
    ctx.add_node("Mul", [x, one_plus], [product])
    ctx.add_node("Mul", [ctx.add_scalar("half", 0.5), product], [out], name=node_name)


def emit_with_activation(ctx: ExportContext, name: str, pre: str, out: str, layer=None) -> None:
    """Route a layer's pre-activation tensor ``pre`` through ``activation`` into ``out``.

    The activation node is named ``<layer>_act`` so the importer can tell it belongs to the
    layer (it fuses it back either way)."""
    node_name = ctx.fresh(f"{layer.name}_act") if layer is not None else None
    emit_activation(ctx, name or "linear", pre, out, node_name=node_name)


@exports("Activation")
def export_activation(ctx, layer, inputs, output):
    emit_activation(ctx, layer.activation, inputs[0], output, node_name=layer.name)
