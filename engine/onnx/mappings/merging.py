"""ONNX for the merge layers: ``Add`` / ``Multiply`` as chains of binary nodes, ``Subtract``
as ``Sub``, ``Average`` / ``Maximum`` / ``Minimum`` as one variadic ``Mean`` / ``Max`` /
``Min``, ``Concatenate`` as ``Concat`` (both count the batch axis, so ``axis`` carries over
unchanged)."""

from __future__ import annotations

from engine.onnx.registry import exports


def _chain(ctx, op_type: str, layer, inputs, output) -> None:
    """``((a op b) op c) ...``: ONNX ``Mul`` is binary, and ``Add`` follows it for symmetry
    (the importer folds such chains back into one variadic layer)."""
    acc = inputs[0]
    for k, operand in enumerate(inputs[1:], start=1):
        last = k == len(inputs) - 1
        out = output if last else ctx.fresh(f"{layer.name}.partial{k}")
        name = layer.name if last else ctx.fresh(f"{layer.name}_{k}")
        ctx.add_node(op_type, [acc, operand], [out], name=name)
        acc = out


@exports("Add")
def export_add(ctx, layer, inputs, output):
    _chain(ctx, "Add", layer, inputs, output)


@exports("Multiply")
def export_multiply(ctx, layer, inputs, output):
    _chain(ctx, "Mul", layer, inputs, output)


@exports("Subtract")
def export_subtract(ctx, layer, inputs, output):
    ctx.add_node("Sub", inputs[:2], [output], name=layer.name)


@exports("Concatenate")
def export_concatenate(ctx, layer, inputs, output):
    ctx.add_node("Concat", list(inputs), [output], name=layer.name, axis=int(layer.axis))


@exports("Average", "Maximum", "Minimum")
def export_variadic(ctx, layer, inputs, output):
    """ONNX ``Mean`` / ``Max`` / ``Min`` take any number of inputs: one node."""
    op_type = {"Average": "Mean", "Maximum": "Max", "Minimum": "Min"}[layer.type_name]
    ctx.add_node(op_type, list(inputs), [output], name=layer.name)
