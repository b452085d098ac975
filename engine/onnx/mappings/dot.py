"""ONNX for ``Dot``: one ``Einsum`` (``"bi,bj...->..."``: the batch letter, one contracted
letter, and the remaining axes of the first input then of the second, as ``Dot`` orders
them). Two vectors are first ``Unsqueeze``d to ``(N, 1, n)`` so the product is ``(N, 1, 1)``,
then ``Squeeze``d to ``(N, 1)`` as Keras's ``batch_dot`` gives. ``normalize`` is
``LpNormalization(p=2)`` of each input along its axis (ONNX divides by the norm itself,
Keras by ``max(norm, 1e-7)``: the same for any vector longer than 1e-7)."""

from __future__ import annotations

import string

from engine.onnx.registry import exports


def dot_equation(x_rank: int, y_rank: int, a: int, b: int) -> str:
    """The Einsum equation for per-sample ranks and sample axes ``a`` / ``b``."""
    letters = iter(string.ascii_lowercase[2:])
    x = [next(letters) for _ in range(x_rank)]
    y = [next(letters) for _ in range(y_rank)]
    y[b] = x[a]
    out = [c for i, c in enumerate(x) if i != a] + [c for i, c in enumerate(y) if i != b]
    return f"b{''.join(x)},b{''.join(y)}->b{''.join(out)}"


@exports("Dot")
def export_dot(ctx, layer, inputs, output):
    x_shape, y_shape = (tuple(s) for s in layer.input_shape)
    a, b = layer.sample_axes([x_shape, y_shape])
    x, y = inputs[0], inputs[1]
    vectors = len(x_shape) == 1 and len(y_shape) == 1
    if vectors:  # (N, n) -> (N, 1, n): the product is (N, 1, 1), squeezed to (N, 1) below
        axis = ctx.add_ints(f"{layer.name}.axis1", [1])
        rows, cols = ctx.fresh(f"{layer.name}.x_row"), ctx.fresh(f"{layer.name}.y_row")
        ctx.add_node("Unsqueeze", [x, axis], [rows])
        ctx.add_node("Unsqueeze", [y, axis], [cols])
        x, y, a, b = rows, cols, 1, 1
    if layer.normalize:
        x_unit, y_unit = ctx.fresh(f"{layer.name}.x_unit"), ctx.fresh(f"{layer.name}.y_unit")
        ctx.add_node("LpNormalization", [x], [x_unit], axis=a + 1, p=2)
        ctx.add_node("LpNormalization", [y], [y_unit], axis=b + 1, p=2)
        x, y = x_unit, y_unit
    if not vectors:
        equation = dot_equation(len(x_shape), len(y_shape), a, b)
        ctx.add_node("Einsum", [x, y], [output], name=layer.name, equation=equation)
        return
    product = ctx.fresh(f"{layer.name}.product")
    ctx.add_node("Einsum", [x, y], [product], name=layer.name, equation="bpi,bqi->bpq")
    ctx.add_node("Squeeze", [product, ctx.add_ints(f"{layer.name}.axis2", [2])], [output])
