"""Running a recognised block's own nodes once, to check it, without letting a file make
the run allocate past a budget.

:mod:`engine.onnx.import_transformer_layer` checks a PyTorch attention block by running
its nodes with ONNX's reference implementation (numpy) on one random input. The nodes come
from the file, so each operator is replaced by a subclass that works out the size of its
result from its inputs' shapes *before* computing it (broadcasting, ``MatMul``, ``Concat``,
``Expand``, ``ConstantOfShape``, ``Tile``, ``Gather``) and refuses one past
:data:`MAX_TENSOR_ELEMENTS`, or a run whose results together pass
:data:`MAX_TOTAL_ELEMENTS`. Only the operators an exported attention block is made of
(:data:`CHECKED_OPS`) run at all.
"""

from __future__ import annotations

import math

import numpy as np
from onnx import helper

MAX_TENSOR_ELEMENTS = 1 << 25  # one result: 128 MB of float32
MAX_TOTAL_ELEMENTS = 1 << 27  # every result of the run together: 512 MB of float32

# What an exported attention block is made of (with its causal or constant masks).
CHECKED_OPS = frozenset(
    {
        "Add", "Sub", "Mul", "Div", "Neg", "Sqrt", "Pow", "Reciprocal", "Mod", "Abs",
        "Floor", "Ceil", "Min", "Max", "Cast", "CastLike", "Constant", "Identity",
        "Shape", "Size", "Gather", "Slice", "Squeeze", "Unsqueeze", "Concat", "Split",
        "Reshape", "Flatten", "Transpose", "MatMul", "Gemm", "Softmax",
        "Equal", "Less", "LessOrEqual", "Greater", "GreaterOrEqual", "Not", "And", "Or",
        "Where", "Trilu", "IsInf", "IsNaN", "Expand", "ConstantOfShape", "Tile",
    }
)  # fmt: skip


BROADCASTING = frozenset(
    {
        "Add", "Sub", "Mul", "Div", "Pow", "Mod", "Min", "Max", "Equal", "Less",
        "LessOrEqual", "Greater", "GreaterOrEqual", "And", "Or", "Where",
    }
)  # fmt: skip


class CheckRefused(Exception):
    """The run would pass its budget, or uses an operator it does not run. (Not a
    ValueError: ONNX's operators turn those into TypeErrors.)"""


def _shape_values(value) -> tuple[int, ...]:
    return tuple(int(d) for d in np.asarray(value).reshape(-1))


def result_elements(op_type: str, args: tuple) -> int:
    """An upper bound on the elements of ``op_type``'s result for inputs ``args``."""
    arrays = [a for a in args if isinstance(a, np.ndarray)]
    sizes = [a.size for a in arrays] or [1]
    if op_type == "ConstantOfShape":
        return math.prod(_shape_values(args[0]))
    if op_type == "Expand":
        return math.prod(np.broadcast_shapes(args[0].shape, _shape_values(args[1])))
    if op_type == "Tile":
        return args[0].size * math.prod(_shape_values(args[1]))
    if op_type in ("MatMul", "Gemm"):
        a, b = args[0].shape, args[1].shape
        if op_type == "Gemm":
            return max(a) * max(b)
        batch = np.broadcast_shapes(a[:-2], b[:-2])
        return math.prod(batch) * (a[-2] if len(a) > 1 else 1) * (b[-1] if len(b) > 1 else 1)
    if op_type == "Concat":
        return sum(sizes)
    if op_type == "Gather":
        return args[0].size * max(1, np.asarray(args[1]).size)
    if op_type in BROADCASTING:
        return math.prod(np.broadcast_shapes(*(a.shape for a in arrays)))
    return max(sizes)  # the rest rearrange or shrink their input


def _guard(impl, op_type: str, spent: list) -> None:
    """Make node implementation ``impl`` check its result's size before computing it."""
    compute = impl._run

    def _run(*args, **kwargs):
        elements = result_elements(op_type, args)
        spent[0] += elements
        if elements > MAX_TENSOR_ELEMENTS or spent[0] > MAX_TOTAL_ELEMENTS:
            raise CheckRefused(
                f"its {op_type} would make a result of {elements:,} values (LayerCanvas runs "
                f"a block to check it with at most {MAX_TENSOR_ELEMENTS:,} per result)"
            )
        return compute(*args, **kwargs)

    impl._run = _run  # the instance's, so OpRun.run still checks inputs and attributes


def run_checked(body, feeds: dict, opset: int) -> list:
    """Run graph ``body`` on ``feeds`` within the budget; :class:`CheckRefused` otherwise."""
    from onnx.reference import ReferenceEvaluator  # noqa: PLC0415 - only for a check

    unknown = sorted({n.op_type for n in body.node if n.op_type not in CHECKED_OPS or n.domain})
    if unknown:
        raise CheckRefused(f"it uses {', '.join(unknown)}, which the check does not run")
    model = helper.make_model(body, opset_imports=[helper.make_opsetid("", opset)])
    evaluator = ReferenceEvaluator(model)
    spent = [0]
    for node, impl in zip(body.node, evaluator.rt_nodes_, strict=True):
        _guard(impl, node.op_type, spent)
    with np.errstate(all="ignore"):
        return evaluator.run(None, feeds)
