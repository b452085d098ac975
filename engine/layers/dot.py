"""``Dot``: the per-sample dot product of two inputs along one axis of each (Keras's
``batch_dot``).

``axes`` counts the batch axis, as in Keras (an int means the same axis for both; ``-1`` is
the last). The output holds the first input's remaining axes followed by the second's; two
vectors give ``(1,)``. With ``normalize=True`` each input is first divided by its L2 norm
along its axis (Keras: ``x / max(||x||, 1e-7)``), so the result is the cosine similarity.
No weights.
"""

from __future__ import annotations

import math

from engine.autodiff import ops
from engine.layers.base import Layer, ShapeError, register
from engine.layers.schema import Param, ParameterError

# Keras's backend.epsilon(), the smallest norm ``normalize`` divides by.
NORM_EPSILON = 1e-7


def l2_normalize(x, axis: int):
    """``x / max(||x||, 1e-7)`` along ``axis`` (of the full tensor)."""
    square_sum = ops.sum_(ops.square(x), axis=axis, keepdims=True)
    return ops.div(x, ops.sqrt(ops.maximum(square_sum, NORM_EPSILON * NORM_EPSILON)))


@register
class Dot(Layer):
    """Dot product of two inputs along ``axes`` (one axis of each), sample by sample."""

    type_name = "Dot"
    display_name = "Dot"
    category = "Merging"
    description = "Dot product of two inputs along an axis of each (cosine with normalize)."
    params = (
        Param(
            "axes",
            "int_tuple",
            default=(-1, -1),
            length=2,
            required=True,
            help="Axis of each input to multiply along, counting the batch axis (-1 = last)",
        ),
        Param(
            "normalize",
            "bool",
            default=False,
            help="L2-normalise both inputs along the axes first (cosine similarity)",
        ),
    )
    min_inputs = 2
    max_inputs = 2

    examples = (
        {"config": {"axes": -1}, "input_shape": [(4,), (4,)]},
        {"config": {"axes": [2, 2], "normalize": True}, "input_shape": [(3, 4), (2, 4)]},
        {"config": {"axes": [1, 2]}, "input_shape": [(3, 2), (4, 3)]},
        {"config": {"axes": [1, 1]}, "input_shape": [(3,), (3, 2)]},
    )

    def validate_config(self) -> None:
        if 0 in self.axes:
            raise ParameterError(
                self.type_name, "axes", "axis 0 is the batch axis; use 1 or more, or -1"
            )

    def sample_axes(self, input_shape) -> tuple[int, int]:
        """Each input's axis as an index into its per-sample shape."""
        found = []
        for which, (axis, shape) in enumerate(zip(self.axes, input_shape, strict=True)):
            rank = len(shape)
            full = axis if axis > 0 else axis + rank + 1
            if not 1 <= full <= rank:
                raise ShapeError(
                    f"Dot axis {axis} does not exist for input {which + 1} of shape {tuple(shape)}",
                    f"use an axis from 1 to {rank} (counting the batch axis as 0), or -1",
                )
            found.append(full - 1)
        return found[0], found[1]

    def compute_output_shape(self, input_shape):
        shapes = [tuple(s) for s in input_shape]
        if len(shapes) != 2:
            raise ShapeError(f"Dot takes 2 inputs, got {len(shapes)}", "connect two branches")
        a, b = self.sample_axes(shapes)
        x, y = shapes
        if x[a] != y[b]:
            raise ShapeError(
                f"Dot axes differ in size: input 1 {x} has {x[a]} on axis {a + 1}, input 2 "
                f"{y} has {y[b]} on axis {b + 1}",
                "choose axes of the same size, or resize a branch (Dense units, Reshape)",
            )
        rest = x[:a] + x[a + 1 :] + y[:b] + y[b + 1 :]
        return rest or (1,)

    def flops(self, input_shape) -> int:
        x, y = (tuple(s) for s in input_shape)
        a, _ = self.sample_axes([x, y])
        extra = 3 * (math.prod(x) + math.prod(y)) if self.normalize else 0
        return 2 * math.prod(x) * math.prod(y) // x[a] + extra

    def call(self, inputs, training=False):
        x, y = inputs
        a, b = self.sample_axes([x.shape[1:], y.shape[1:]])
        out_shape = self.compute_output_shape([x.shape[1:], y.shape[1:]])
        if self.normalize:
            x, y = l2_normalize(x, a + 1), l2_normalize(y, b + 1)
        batch, size = x.shape[0], x.shape[a + 1]
        # x to (batch, rest, size) and y to (batch, size, rest): one batched matmul.
        x_perm = [0] + [i for i in range(1, x.ndim) if i != a + 1] + [a + 1]
        y_perm = [0, b + 1] + [i for i in range(1, y.ndim) if i != b + 1]
        x = ops.reshape(_transpose(x, x_perm), (batch, -1, size))
        y = ops.reshape(_transpose(y, y_perm), (batch, size, -1))
        return ops.reshape(ops.matmul(x, y), (batch, *out_shape))


def _transpose(x, perm):
    return x if perm == list(range(len(perm))) else ops.transpose(x, perm)
