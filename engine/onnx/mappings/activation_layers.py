"""ONNX for ``ReLU``, ``PReLU`` and ``GELU``.

``ReLU`` is one node where ONNX has it (``Relu``, ``Clip`` for a ceiling, ``LeakyRelu`` for
a slope, ``ThresholdedRelu`` for a threshold alone); other combinations are written as the
formula ``Min(Where(x >= t, x, slope * (x - t)), max_value)``. ``PReLU`` is ``PRelu`` with
its ``alpha`` weight as the slope (it broadcasts over the batch axis as ONNX requires).
"""

from __future__ import annotations

from engine.onnx.mappings.activations import emit_clip, emit_gelu
from engine.onnx.registry import exports


@exports("ReLU")
def export_relu(ctx, layer, inputs, output):
    x = inputs[0]
    slope, ceiling, threshold = (
        float(layer.negative_slope),
        layer.max_value,
        float(layer.threshold),
    )
    if slope == 0 and threshold == 0:
        if ceiling is None:
            ctx.add_node("Relu", [x], [output], name=layer.name)
        else:
            emit_clip(ctx, x, output, 0.0, float(ceiling), node_name=layer.name)
        return
    if ceiling is None and threshold == 0:
        ctx.add_node("LeakyRelu", [x], [output], name=layer.name, alpha=slope)
        return
    if ceiling is None and slope == 0 and threshold > 0:
        # ThresholdedRelu keeps x where x > alpha (Keras: x >= threshold; equal only on a
        # set of measure zero, and both give the threshold's value or 0 there).
        ctx.add_node("ThresholdedRelu", [x], [output], name=layer.name, alpha=threshold)
        return
    t = ctx.add_scalar(f"{layer.name}.threshold", threshold)
    keep = ctx.fresh(f"{layer.name}.keep")
    ctx.add_node("GreaterOrEqual", [x, t], [keep])
    shifted = ctx.fresh(f"{layer.name}.shifted")
    ctx.add_node("Sub", [x, t], [shifted])
    damped = ctx.fresh(f"{layer.name}.damped")
    ctx.add_node("Mul", [shifted, ctx.add_scalar(f"{layer.name}.slope", slope)], [damped])
    chosen = output if ceiling is None else ctx.fresh(f"{layer.name}.uncapped")
    ctx.add_node("Where", [keep, x, damped], [chosen], name=layer.name if ceiling is None else None)
    if ceiling is not None:
        top = ctx.add_scalar(f"{layer.name}.max_value", float(ceiling))
        ctx.add_node("Min", [chosen, top], [output], name=layer.name)


@exports("PReLU")
def export_prelu(ctx, layer, inputs, output):
    (alpha,) = layer.get_weights()
    slope = ctx.add_initializer(f"{layer.name}.alpha", alpha)
    ctx.add_node("PRelu", [inputs[0], slope], [output], name=layer.name)


@exports("GELU")
def export_gelu(ctx, layer, inputs, output):
    emit_gelu(ctx, inputs[0], output, approximate=bool(layer.approximate), node_name=layer.name)
