"""Reading the constant operands of ``Clip`` and ``PRelu`` for the activation importers."""

from __future__ import annotations

import math

import numpy as np

from engine.onnx.import_errors import Unsupported
from engine.onnx.import_registry import attr


def clip_bounds(ctx, node) -> tuple[float, float | None]:
    """``(min, max)`` of a ``Clip``; ``max`` is None when there is none. Before opset 11
    the bounds are attributes, from 11 on optional constant inputs."""
    if ctx.opset < 11:
        low = float(attr(node, "min", -math.inf))
        high = float(attr(node, "max", math.inf))
    else:
        low = _bound(ctx, node, 1, "the Clip minimum", -math.inf)
        high = _bound(ctx, node, 2, "the Clip maximum", math.inf)
    if low == -math.inf:
        raise Unsupported("Clip without a lower bound has no layer equivalent")
    if high <= low:
        raise Unsupported(f"Clip with maximum {high:g} not above its minimum {low:g}")
    return low, None if high == math.inf else high


def _bound(ctx, node, index: int, what: str, default: float) -> float:
    if not ctx.has_input(node, index):
        return default
    value = ctx.const(node.input[index], what)
    if value.size != 1:
        raise Unsupported(f"{what} is not a single number")
    return float(value.reshape(-1)[0])


def prelu_weights(ctx, node, shape: tuple[int, ...]) -> tuple[np.ndarray, list[int] | None]:
    """The ``PReLU`` weight ``alpha`` and ``shared_axes`` for a constant ``PRelu`` slope that
    broadcasts (numpy-style, from the right) against data of per-sample ``shape``."""
    slope = ctx.float_const(node.input[1], "the PRelu slope")
    dims = list(slope.shape)
    if len(dims) > len(shape) + 1 or (len(dims) == len(shape) + 1 and dims[0] != 1):
        raise Unsupported(
            f"the PRelu slope of shape {list(slope.shape)} varies over the batch axis"
        )
    if len(dims) == len(shape) + 1:
        dims = dims[1:]
    dims = [1] * (len(shape) - len(dims)) + dims
    for have, want in zip(dims, shape, strict=True):
        if have not in (1, want):
            raise Unsupported(
                f"the PRelu slope of shape {list(slope.shape)} does not broadcast to the "
                f"data's per-sample shape {list(shape)}"
            )
    shared = [i + 1 for i, (have, want) in enumerate(zip(dims, shape)) if have == 1 and want != 1]
    return slope.reshape(dims), shared or None
