"""Constant folding of the arithmetic no layer stands for, before it reaches a layer.

Exporters compute sizes and scales at run time from constants and static shapes: PyTorch's
``nn.MultiheadAttention`` writes ``Sqrt`` of a head size taken from ``Shape``, ``Mod`` and
``Floor`` appear in size arithmetic, comparisons and ``Where`` in guards. When every input
of such a node is known at import (an initializer, a ``Constant``, or a shape value without
the batch size; ``Shape``, ``Gather``, ``Concat``, ``Cast``, ``Slice``... of them are folded
by their own importers in :mod:`engine.onnx.import_shape`), the node is evaluated here
with ONNX's own reference implementation (numpy) and its output becomes a constant, so the
importers that follow see a constant shape or scale instead of refusing an operator that
computes nothing at run time.

Only elementwise operators are folded (their output is never larger than their broadcast
inputs, and the import's size budget is charged before evaluating); operators with an
importer of their own keep it (they fold their constant cases themselves).
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import helper

from engine.onnx.import_limits import broadcast_shape
from engine.onnx.import_registry import IMPORTERS
from engine.onnx.import_values import Const, ShapeVec

#: Elementwise operators folded when all their inputs are known.
FOLDABLE = frozenset(
    {
        "Abs", "Ceil", "Floor", "Round", "Sign", "Neg", "Reciprocal", "Sqrt", "Exp", "Log",
        "Pow", "Mod", "Sum", "Not", "And", "Or", "Xor", "Equal",
        "Less", "LessOrEqual", "Greater", "GreaterOrEqual", "Where", "IsNaN", "IsInf",
        "Sin", "Cos",
    }
)  # fmt: skip


def known(ctx, name: str) -> np.ndarray | None:
    """The value of input ``name`` if it is known at import, else None."""
    value = ctx.values.get(name)
    if isinstance(value, Const):
        return value.value
    if isinstance(value, ShapeVec):
        return value.as_array_or_none()
    return None


def fold_node(ctx, node: onnx.NodeProto) -> bool:
    """Evaluate ``node`` if it is a foldable operator without an importer and every input is
    known; store its outputs as constants and return True. False leaves it to the walk."""
    if node.op_type not in FOLDABLE or node.op_type in IMPORTERS or not node.input:
        return False
    arrays = [known(ctx, name) if name else None for name in node.input]
    if any(a is None and name for a, name in zip(arrays, node.input, strict=True)):
        return False
    present = [a for a in arrays if a is not None]
    shape = present[0].shape
    for a in present[1:]:
        shape = broadcast_shape(shape, a.shape)
    ctx.fold(shape, max((a.dtype for a in present), key=lambda d: d.itemsize))
    try:
        results = _evaluate(ctx, node, arrays)
    except Exception:  # noqa: BLE001 - a node ONNX itself cannot run: the walk refuses it
        return False
    for name, result in zip(node.output, results, strict=False):
        ctx.set(name, Const(np.asarray(result)))
    return True


def _evaluate(ctx, node: onnx.NodeProto, arrays: list) -> list:
    from onnx.reference import ReferenceEvaluator  # noqa: PLC0415 - only when folding

    names = [f"in{i}" if a is not None else "" for i, a in enumerate(arrays)]
    inputs = [
        helper.make_tensor_value_info(n, helper.np_dtype_to_tensor_dtype(a.dtype), a.shape)
        for n, a in zip(names, arrays, strict=True)
        if a is not None
    ]
    outputs = [
        helper.make_tensor_value_info(f"out{i}", onnx.TensorProto.UNDEFINED, None)
        for i in range(len(node.output))
    ]
    single = helper.make_node(
        node.op_type, names, [o.name for o in outputs], domain=node.domain, **_attributes(node)
    )
    graph = helper.make_graph([single], "fold", inputs, outputs)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", ctx.opset or 17)])
    feeds = {n: a for n, a in zip(names, arrays, strict=True) if a is not None}
    return ReferenceEvaluator(model).run(None, feeds)


def _attributes(node: onnx.NodeProto) -> dict:
    return {a.name: helper.get_attribute_value(a) for a in node.attribute}
