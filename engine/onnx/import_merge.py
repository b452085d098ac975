"""Importers for ``Add`` / ``Sub`` / ``Mul`` / ``Concat`` / ``Mean`` / ``Max`` / ``Min``
between data tensors (merge layers), bias folding (``MatMul -> Add(constant)``), and
arithmetic on constants.

Chains such as ``Add(Add(a, b), c)`` become one variadic ``Add`` layer when the inner
result is used by nothing else, which is how the exporter writes a three-input ``Add``.
Folded results (a broadcast can be far larger than its operands, a ``Concat`` may repeat one
input many times) are checked against :mod:`engine.onnx.import_limits` before computing.
"""

from __future__ import annotations

import numpy as np

from engine.onnx.import_dense import PendingLayer, as_bias
from engine.onnx.import_errors import Unsupported
from engine.onnx.import_limits import broadcast_shape, check_vector_length
from engine.onnx.import_registry import attr, imports
from engine.onnx.import_values import Const, Pending, ShapeVec, Sym

LAYER = {"Add": "Add", "Sub": "Subtract", "Mul": "Multiply"}
NUMPY = {"Add": np.add, "Sub": np.subtract, "Mul": np.multiply, "Div": None}


class PendingMerge(Pending):
    """An ``Add`` or ``Multiply`` layer that further binary nodes may still join."""

    def __init__(self, type_name: str, node_name: str, operands: list[Sym]):
        self.type_name = type_name
        self.node_name = node_name
        self.operands = operands
        self._result = None

    @property
    def onnx_shape(self) -> tuple:
        # A Multiply by a gate repeats its size-1 axes: the widest size on each axis.
        shapes = [o.onnx_shape for o in self.operands]
        return tuple(next((d for d in dims if d != 1), dims[0]) for dims in zip(*shapes))

    def build(self, ctx) -> Sym:
        out = ctx.call_layer(self.type_name, self.node_name, list(self.operands))
        return self.operands[0].like(out)


def _fold(ctx, node, a, b) -> bool:
    """Arithmetic between constants (and batch-free shape vectors)."""
    if not all(isinstance(v, Const | ShapeVec) for v in (a, b)):
        return False
    x = ctx.const(node.input[0], "operand")
    y = ctx.const(node.input[1], "operand")
    # numpy computes in the wider type, then casts back to x's: check the wider one.
    ctx.fold(broadcast_shape(x.shape, y.shape), np.result_type(x, y))
    if node.op_type == "Div":
        result = x // y if np.issubdtype(x.dtype, np.integer) else x / y
    else:
        result = NUMPY[node.op_type](x, y)
    ctx.set(node.output[0], Const(np.asarray(result).astype(x.dtype, copy=False)))
    return True


def _operand(ctx, name: str, type_name: str) -> list[Sym]:
    """The data operands ``name`` contributes: a private pending merge of the same type
    contributes its own operands (the chain folds into one layer)."""
    value = ctx.value(name)
    if isinstance(value, PendingMerge) and value.type_name == type_name and ctx.private(name):
        return list(value.operands)
    return [ctx.sym(name)]


@imports("Add", "Sub", "Mul")
def import_binary(ctx, node):
    a, b = ctx.value(node.input[0]), ctx.value(node.input[1])
    if _fold(ctx, node, a, b):
        return
    if node.op_type == "Add" and (isinstance(a, Const) or isinstance(b, Const)):
        layer_name, const = (node.input[0], b) if isinstance(b, Const) else (node.input[1], a)
        value = ctx.value(layer_name)
        if isinstance(value, PendingLayer) and value.can_take_bias() and ctx.private(layer_name):
            axis_from_end = 1 if value.type_name == "Dense" else 3
            bias = as_bias(const.value, value.bias_shape, axis_from_end)
            if bias is not None:
                ctx.set(node.output[0], value.with_bias(bias))
                return
        raise Unsupported(
            "adding a constant tensor has no layer equivalent (only a bias right after "
            "MatMul or Conv is folded into the layer)"
        )
    if isinstance(a, Const | ShapeVec) or isinstance(b, Const | ShapeVec):
        word = {"Sub": "subtracting", "Mul": "multiplying by"}.get(node.op_type, "adding")
        raise Unsupported(f"{word} a constant tensor has no layer equivalent")
    type_name = LAYER[node.op_type]
    if type_name == "Subtract":
        operands = [ctx.sym(node.input[0]), ctx.sym(node.input[1])]
    else:
        operands = _operand(ctx, node.input[0], type_name) + _operand(ctx, node.input[1], type_name)
    first = operands[0]
    for other in operands[1:]:
        if other.onnx_shape != first.onnx_shape and not (
            type_name == "Multiply" and _gates(first.onnx_shape, other.onnx_shape)
        ):
            raise Unsupported(
                f"{node.op_type} of shapes {_fmt(first.onnx_shape)} and "
                f"{_fmt(other.onnx_shape)}: LayerCanvas merges do not broadcast (except a "
                "Multiply by a gate with size-1 axes)"
            )
        if (other.perm, other.units) != (first.perm, first.units):
            raise Unsupported(f"{node.op_type} of tensors transposed differently")
    if any(s.dtype != "float32" for s in operands):
        raise Unsupported(f"{node.op_type} of integer tensors")
    if type_name == "Subtract":
        out = ctx.call_layer("Subtract", ctx.node_label(node), operands)
        ctx.set(node.output[0], first.like(out))
    else:
        ctx.set(node.output[0], PendingMerge(type_name, ctx.node_label(node), operands))


@imports("Div")
def import_div(ctx, node):
    a, b = ctx.value(node.input[0]), ctx.value(node.input[1])
    if not _fold(ctx, node, a, b):
        raise Unsupported("division of data has no layer equivalent")


def _gates(a: tuple, b: tuple) -> bool:
    """Shapes of the same rank whose differing sizes are 1 on one side (a per-channel gate,
    which the ``Multiply`` layer repeats as Keras does); the batch axis must agree."""
    if len(a) != len(b) or a[0] != b[0]:
        return False
    return all(x == y or x == 1 or y == 1 for x, y in zip(a[1:], b[1:], strict=True))


def _fmt(shape) -> str:
    return "(" + ", ".join("N" if d is None else str(d) for d in shape) + ")"


@imports("Concat")
def import_concat(ctx, node):
    values = [ctx.value(n) for n in node.input]
    axis = int(attr(node, "axis", 0))
    if all(isinstance(v, Const | ShapeVec) for v in values):
        if any(isinstance(v, ShapeVec) for v in values):
            parts: list = []
            for name, v in zip(node.input, values, strict=True):
                parts.extend(v.values if isinstance(v, ShapeVec) else ctx.ints(name, "a shape"))
                check_vector_length(len(parts), "a shape")
            ctx.set(node.output[0], ShapeVec(tuple(None if p is None else int(p) for p in parts)))
        else:
            arrays = [v.value for v in values]
            first = arrays[0].shape
            if not -len(first) <= axis < len(first):
                raise Unsupported(f"Concat axis {axis} of constants of shape {list(first)}")
            axis %= len(first)
            rows = sum(a.shape[axis] if a.ndim == len(first) else 0 for a in arrays)
            ctx.fold(
                (*first[:axis], rows, *first[axis + 1 :]),
                np.result_type(*{a.dtype for a in arrays}),
            )
            ctx.set(node.output[0], Const(np.concatenate(arrays, axis=axis)))
        return
    syms = [ctx.plain(n) for n in node.input]
    if len(syms) == 1:
        ctx.set(node.output[0], syms[0])
        return
    rank = syms[0].rank
    axis %= rank
    if axis == 0:
        raise Unsupported("Concat along axis 0 joins batches, not features")
    if any(s.dtype != "float32" for s in syms):
        raise Unsupported("Concat of integer tensors")
    out = ctx.call_layer("Concatenate", ctx.node_label(node), syms, axis=axis)
    ctx.set(node.output[0], Sym(out))


VARIADIC = {"Mean": "Average", "Max": "Maximum", "Min": "Minimum"}


@imports(*VARIADIC)
def import_variadic(ctx, node):
    """``Mean`` / ``Max`` / ``Min`` of data tensors of one shape: one merge layer."""
    values = [ctx.value(n) for n in node.input]
    if any(isinstance(v, Const | ShapeVec) for v in values):
        raise Unsupported(f"{node.op_type} with a constant tensor has no layer equivalent")
    syms = [ctx.sym(n) for n in node.input]
    if len(syms) == 1:
        ctx.set(node.output[0], syms[0])
        return
    first = syms[0]
    for other in syms[1:]:
        if other.onnx_shape != first.onnx_shape:
            raise Unsupported(
                f"{node.op_type} of shapes {_fmt(first.onnx_shape)} and "
                f"{_fmt(other.onnx_shape)}: LayerCanvas merges do not broadcast"
            )
        if (other.perm, other.units) != (first.perm, first.units):
            raise Unsupported(f"{node.op_type} of tensors transposed differently")
    if any(s.dtype != "float32" for s in syms):
        raise Unsupported(f"{node.op_type} of integer tensors")
    out = ctx.call_layer(VARIADIC[node.op_type], ctx.node_label(node), syms)
    ctx.set(node.output[0], first.like(out))
