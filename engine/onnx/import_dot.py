"""Importer for ``Einsum`` in its batch-dot form and for ``MatMul`` of two rank-3 data
tensors (``torch.bmm``): a ``Dot`` layer, with ``LpNormalization(p=2)`` of both operands
along the contracted axes as ``normalize=True``.

The equation must be two operands with the same first (batch) letter, one letter shared
and summed over, and the output listing the batch letter, then the first operand's other
letters, then the second's, in order: exactly what ``Dot`` computes
(``torch.einsum("bij,bkj->bik", x, y)``, ``torch.bmm`` written as Einsum, our exporter's
equations). Operands may be views (``Unsqueeze``d vectors, transposes): the contracted
letter is mapped to the engine tensor's own axis, and output axes that only a view inserted
stay inserted in the result's view.
"""

from __future__ import annotations

from engine.onnx.import_errors import Unsupported
from engine.onnx.import_registry import attr, imports
from engine.onnx.import_values import Pending, Sym


class PendingUnitNorm(Pending):
    """An ``LpNormalization`` a following ``Einsum`` may fold in as ``Dot(normalize=True)``."""

    def __init__(self, node_name: str, sym: Sym, onnx_axis: int):
        self.node_name = node_name
        self.sym = sym
        self.onnx_axis = onnx_axis
        self._result = None

    @property
    def onnx_shape(self) -> tuple:
        return self.sym.onnx_shape

    def build(self, ctx) -> Sym:
        raise Unsupported(
            f"its input comes from LpNormalization {self.node_name!r}, which LayerCanvas "
            "reads only as the normalisation of a Dot (both Einsum operands normalised)"
        )


@imports("LpNormalization")
def import_lp_normalization(ctx, node):
    if int(attr(node, "p", 2)) != 2:
        raise Unsupported("LpNormalization with p other than 2")
    sym = ctx.sym(node.input[0])
    axis = int(attr(node, "axis", -1)) % sym.rank
    ctx.set(node.output[0], PendingUnitNorm(ctx.node_label(node), sym, axis))


def _parse(equation: str) -> tuple[str, str, str]:
    text = equation.replace(" ", "")
    if "->" not in text or "." in text:
        raise Unsupported(f"Einsum {equation!r}: only explicit equations without '...'")
    lhs, out = text.split("->")
    operands = lhs.split(",")
    if len(operands) != 2:
        raise Unsupported(f"Einsum {equation!r}: only products of two tensors (Dot)")
    x, y = operands
    if any(len(set(s)) != len(s) for s in (x, y, out)) or not (x + y + out).isalpha():
        raise Unsupported(f"Einsum {equation!r}: a letter repeats within one operand")
    return x, y, out


def _operand(ctx, name: str) -> tuple[Sym, int | None]:
    """The data behind ``name`` and, when a private LpNormalization made it, its axis."""
    value = ctx.value(name)
    if isinstance(value, PendingUnitNorm) and ctx.private(name):
        return value.sym, value.onnx_axis
    return ctx.sym(name), None


def import_data_matmul(ctx, node) -> None:
    """``MatMul`` of two data tensors (``torch.bmm``): a batch dot product when both have
    rank 3, ``(N, p, n) @ (N, n, q)``; called by the ``MatMul`` importer."""
    values = [ctx.value(name) for name in node.input[:2]]
    if not all(isinstance(v, Sym | Pending) for v in values):
        raise Unsupported(
            "MatMul of a constant by data has no layer equivalent (Dense takes its weights "
            "as the second operand)"
        )
    ranks = [v.onnx_shape for v in values]
    if any(len(shape) != 3 for shape in ranks):
        raise Unsupported(
            "MatMul of two data tensors is read only for rank 3, (batch, p, n) @ (batch, n, q) "
            f"(a Dot layer); got ranks {len(ranks[0])} and {len(ranks[1])}"
        )
    _batch_dot(ctx, node, "bpn,bnq->bpq")


@imports("Einsum")
def import_einsum(ctx, node):
    _batch_dot(ctx, node, str(attr(node, "equation", "")))


def _batch_dot(ctx, node, equation: str) -> None:
    x, y, out = _parse(equation)
    (x_sym, x_norm), (y_sym, y_norm) = _operand(ctx, node.input[0]), _operand(ctx, node.input[1])
    if len(x) != x_sym.rank or len(y) != y_sym.rank:
        raise Unsupported(f"Einsum {equation!r} does not match its operands' ranks")
    if any(s.dtype != "float32" for s in (x_sym, y_sym)):
        raise Unsupported("Einsum of integer tensors")
    shared = (set(x[1:]) & set(y[1:])) - set(out)
    if not (x[0] == y[0] == out[:1]) or len(shared) != 1 or len(out) < 2:
        raise Unsupported(
            f"Einsum {equation!r} is not a batch dot product (same batch letter first, one "
            "summed letter, at least one output axis besides the batch)"
        )
    (c,) = shared
    rest_x = [letter for letter in x[1:] if letter != c]
    rest_y = [letter for letter in y[1:] if letter != c]
    if list(out[1:]) != rest_x + rest_y:
        raise Unsupported(
            f"Einsum {equation!r}: the output must list the first operand's axes, then the "
            "second's, in order (as Dot does)"
        )
    normalize = x_norm is not None or y_norm is not None
    if normalize and (x_norm != x.index(c) or y_norm != y.index(c)):
        raise Unsupported(
            "LpNormalization before Einsum must normalise both operands along the summed axis"
        )
    x_axis, y_axis = x_sym.engine_axis(x.index(c)), y_sym.engine_axis(y.index(c))
    if x_axis is None or y_axis is None:
        raise Unsupported(f"Einsum {equation!r} sums over an axis Unsqueeze inserted")
    engine_axes = [x_sym.engine_axis(x.index(letter)) for letter in rest_x] + [
        y_sym.engine_axis(y.index(letter)) for letter in rest_y
    ]
    real_x = [a for a in engine_axes[: len(rest_x)] if a is not None]
    real_y = [a for a in engine_axes[len(rest_x) :] if a is not None]
    if real_x != sorted(real_x) or real_y != sorted(real_y):
        raise Unsupported(f"Einsum {equation!r} reorders the axes of an operand")
    inserted = [i + 1 for i, a in enumerate(engine_axes) if a is None]
    if len(inserted) == len(engine_axes):  # Dot gives (1,) for two vectors: keep one axis
        inserted = inserted[1:]
    result = ctx.call_layer(
        "Dot",
        ctx.node_label(node),
        [Sym(x_sym.tensor), Sym(y_sym.tensor)],
        axes=(x_axis, y_axis),
        normalize=normalize,
    )
    ctx.set(node.output[0], Sym(result, None, "float32", tuple(inserted)))
