"""Importers for activation operators: fused into the preceding ``Dense`` / ``Conv2D`` when
that layer has no activation yet and nothing else reads its output, otherwise an
``Activation`` layer (or ``LeakyReLU`` / ``ELU`` / ``Softmax`` / ``ReLU`` / ``GELU`` when a
parameter differs from the engine's fixed constants), and ``PRelu`` as a ``PReLU`` layer.

``Clip(0, 6)`` is ``relu6`` and ``Clip(0, m)`` a ``ReLU(max_value=m)``; ``HardSigmoid``
must have Keras 3's constants (alpha 1/6, beta 0.5); ``Swish`` / ``Mish`` / tanh ``Gelu``
also come from the formulas :mod:`engine.onnx.import_activation_patterns` rewrites."""

from __future__ import annotations

from engine.autodiff.kernels_activation import SELU_ALPHA, SELU_SCALE
from engine.onnx.import_activation_params import clip_bounds, prelu_weights
from engine.onnx.import_dense import PendingLayer
from engine.onnx.import_errors import Unsupported
from engine.onnx.import_registry import attr, imports
from engine.onnx.import_values import Sym
from engine.onnx.mappings.activations import (
    ELU_ALPHA,
    HARD_SIGMOID_ALPHA,
    HARD_SIGMOID_BETA,
    LEAKY_RELU_SLOPE,
)

SIMPLE = {
    "Relu": "relu",
    "Sigmoid": "sigmoid",
    "Tanh": "tanh",
    "Softplus": "softplus",
    "Softsign": "softsign",
    "HardSwish": "hard_silu",
    "Mish": "mish",
}


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-6 * max(1.0, abs(b))


def _near(a: float, b: float) -> bool:
    """Equal up to float32 rounding (attributes are stored as float32)."""
    return abs(a - b) <= 1e-6 * abs(b)


def _layer_for(ctx, node, sym_rank: int, sym: Sym | None) -> tuple[str, dict] | str:
    """The engine activation name, or ``(layer type, config)`` for a parametrised layer."""
    op = node.op_type
    if op == "Relu" and node.attribute:  # Keras's ReLU formula, rewritten by the patterns
        config = {a: attr(node, a) for a in ("negative_slope", "threshold", "max_value")}
        return ("ReLU", {k: float(v) for k, v in config.items() if v is not None})
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
        approximate = attr(node, "approximate", "none")
        if approximate not in ("none", "tanh"):
            raise Unsupported(f"Gelu with approximate={approximate!r}")
        return "gelu" if approximate == "none" else ("GELU", {"approximate": True})
    if op == "Swish":
        if not _close(float(attr(node, "alpha", 1.0)), 1.0):
            raise Unsupported(
                "Swish with alpha other than 1 (LayerCanvas's silu is x * sigmoid(x))"
            )
        return "silu"
    if op == "Selu":
        alpha, gamma = (
            float(attr(node, "alpha", SELU_ALPHA)),
            float(attr(node, "gamma", SELU_SCALE)),
        )
        if not (_near(alpha, SELU_ALPHA) and _near(gamma, SELU_SCALE)):
            raise Unsupported(f"Selu with alpha={alpha}, gamma={gamma} (only SELU's constants)")
        return "selu"
    if op == "HardSigmoid":
        alpha, beta = float(attr(node, "alpha", 0.2)), float(attr(node, "beta", 0.5))
        if not (_near(alpha, HARD_SIGMOID_ALPHA) and _near(beta, HARD_SIGMOID_BETA)):
            raise Unsupported(
                f"HardSigmoid with alpha={alpha:g}, beta={beta:g}: LayerCanvas's hard_sigmoid "
                "is Keras 3's relu6(x + 3) / 6 (alpha 1/6, beta 0.5)"
            )
        return "hard_sigmoid"
    if op == "ThresholdedRelu":
        return ("ReLU", {"threshold": float(attr(node, "alpha", 1.0))})
    if op == "Clip":
        low, high = clip_bounds(ctx, node)
        if low != 0.0:
            raise Unsupported(
                f"Clip from {low:g}: only a lower bound of 0 is a ReLU (ReLU6, ReLU(max_value))"
            )
        if high is None:
            return "relu"
        return "relu6" if high == 6.0 else ("ReLU", {"max_value": high})
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
@imports("Swish", "Selu", "HardSigmoid", "ThresholdedRelu", "Clip")
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


@imports("PRelu")
def import_prelu(ctx, node):
    sym = ctx.plain(node.input[0])
    if sym.dtype != "float32":
        raise Unsupported("PRelu of integer token ids")
    alpha, shared_axes = prelu_weights(ctx, node, tuple(sym.tensor.shape))
    out = ctx.call_layer(
        "PReLU", ctx.node_label(node), sym, weights=[alpha], shared_axes=shared_axes
    )
    ctx.set(node.output[0], sym.like(out))
