"""Layers that join several branches: ``Add``, ``Subtract``, ``Multiply``, ``Average``,
``Maximum``, ``Minimum``, ``Concatenate`` (``Dot`` is in :mod:`engine.layers.dot`).

They take a list of inputs (their ``input_shape`` is a list of per-sample shapes) and have
no weights. Unlike Keras, the elementwise merges do not broadcast: their inputs must have
exactly the same shape, so a wiring mistake on the canvas is reported instead of silently
broadcasting.
"""

from __future__ import annotations

import math

from engine.autodiff import ops
from engine.layers.base import Layer, ShapeError, register
from engine.layers.schema import Param, ParameterError


class _ElementwiseMerge(Layer):
    """Shared shape rule of Add / Subtract / Multiply: every input has the same shape."""

    category = "Merging"
    params = ()
    min_inputs = 2
    max_inputs = None

    def compute_output_shape(self, input_shape):
        shapes = [tuple(s) for s in input_shape]
        if len(shapes) < self.min_inputs:
            raise ShapeError(
                f"{self.type_name} needs at least {self.min_inputs} inputs, got {len(shapes)}",
                "connect another branch to it",
            )
        first = shapes[0]
        for other in shapes[1:]:
            if other != first:
                raise ShapeError(
                    f"{self.type_name} inputs must have the same shape: {first} vs {other}",
                    "make the branches end in the same shape (for example with Dense units or "
                    "Reshape)",
                )
        return first

    def flops(self, input_shape) -> int:
        return (len(input_shape) - 1) * math.prod(input_shape[0])


@register
class Add(_ElementwiseMerge):
    """Sums its inputs elementwise (residual connections)."""

    type_name = "Add"
    display_name = "Add"
    description = "Adds two or more inputs of the same shape elementwise."
    examples = (
        {"config": {}, "input_shape": [(4,), (4,)]},
        {"config": {}, "input_shape": [(2, 3, 3), (2, 3, 3), (2, 3, 3)]},
    )

    def call(self, inputs, training=False):
        out = inputs[0]
        for x in inputs[1:]:
            out = ops.add(out, x)
        return out


@register
class Subtract(_ElementwiseMerge):
    """First input minus the second."""

    type_name = "Subtract"
    display_name = "Subtract"
    description = "Subtracts the second input from the first (same shapes)."
    max_inputs = 2
    examples = (
        {"config": {}, "input_shape": [(5,), (5,)]},
        {"config": {}, "input_shape": [(3, 2), (3, 2)]},
    )

    def call(self, inputs, training=False):
        return ops.sub(inputs[0], inputs[1])


@register
class Multiply(_ElementwiseMerge):
    """Multiplies its inputs elementwise (gating)."""

    type_name = "Multiply"
    display_name = "Multiply"
    description = (
        "Multiplies two or more inputs elementwise; a gate with size 1 along some axes "
        "(channel weights (C, 1, 1) on a (C, H, W) image) is repeated along them."
    )
    examples = (
        {"config": {}, "input_shape": [(4,), (4,)]},
        {"config": {}, "input_shape": [(3, 2), (3, 2), (3, 2)]},
        {"config": {}, "input_shape": [(3, 4, 4), (3, 1, 1)]},
    )

    def compute_output_shape(self, input_shape):
        # Gating (squeeze-and-excitation) multiplies by per-channel weights, so size-1 axes
        # repeat as in Keras; ranks must still agree, so a wiring mistake is still reported.
        shapes = [tuple(s) for s in input_shape]
        if len(shapes) < self.min_inputs or any(len(s) != len(shapes[0]) for s in shapes):
            return super().compute_output_shape(input_shape)
        out = []
        for dims in zip(*shapes, strict=True):
            sizes = {d for d in dims if d != 1}
            if len(sizes) > 1:
                return super().compute_output_shape(input_shape)
            out.append(sizes.pop() if sizes else 1)
        return tuple(out)

    def flops(self, input_shape) -> int:
        return (len(input_shape) - 1) * math.prod(self.compute_output_shape(input_shape))

    def call(self, inputs, training=False):
        out = inputs[0]
        for x in inputs[1:]:
            out = ops.mul(out, x)
        return out


@register
class Average(_ElementwiseMerge):
    """The elementwise mean of its inputs."""

    type_name = "Average"
    display_name = "Average"
    description = "Averages two or more inputs of the same shape elementwise."
    examples = (
        {"config": {}, "input_shape": [(4,), (4,)]},
        {"config": {}, "input_shape": [(2, 3, 3), (2, 3, 3), (2, 3, 3)]},
    )

    def call(self, inputs, training=False):
        out = inputs[0]
        for x in inputs[1:]:
            out = ops.add(out, x)
        return ops.mul(out, 1.0 / len(inputs))


@register
class Maximum(_ElementwiseMerge):
    """The elementwise maximum of its inputs (the gradient goes to the largest; on a tie, to
    the first input)."""

    type_name = "Maximum"
    display_name = "Maximum"
    description = "Keeps the largest of two or more same-shape inputs at each position."
    examples = (
        {"config": {}, "input_shape": [(4,), (4,)]},
        {"config": {}, "input_shape": [(3, 2), (3, 2), (3, 2)]},
    )

    def call(self, inputs, training=False):
        out = inputs[0]
        for x in inputs[1:]:
            out = ops.maximum(out, x)
        return out


@register
class Minimum(_ElementwiseMerge):
    """The elementwise minimum of its inputs (the gradient goes to the smallest; on a tie,
    to the first input)."""

    type_name = "Minimum"
    display_name = "Minimum"
    description = "Keeps the smallest of two or more same-shape inputs at each position."
    examples = (
        {"config": {}, "input_shape": [(4,), (4,)]},
        {"config": {}, "input_shape": [(2, 2, 2), (2, 2, 2), (2, 2, 2)]},
    )

    def call(self, inputs, training=False):
        out = inputs[0]
        for x in inputs[1:]:
            out = ops.minimum(out, x)
        return out


@register
class Concatenate(Layer):
    """Joins its inputs along ``axis``; every other dimension must match.

    ``axis`` counts the batch axis, as in Keras: ``-1`` is the last axis and ``1`` the first
    per-sample axis (the channels of a ``(C, H, W)`` image). ``0``, the batch axis, is refused.
    """

    type_name = "Concatenate"
    display_name = "Concatenate"
    category = "Merging"
    description = "Joins two or more inputs along an axis (e.g. channels: axis=1)."
    params = (
        Param(
            "axis",
            "int",
            default=-1,
            help="Axis to join along, counting the batch axis: -1 = last, 1 = channels",
        ),
    )
    min_inputs = 2
    max_inputs = None

    examples = (
        {"config": {"axis": -1}, "input_shape": [(3,), (2,)]},
        {"config": {"axis": 1}, "input_shape": [(2, 3, 3), (1, 3, 3)]},
        {"config": {"axis": 2}, "input_shape": [(2, 3), (2, 1), (2, 2)]},
    )

    def validate_config(self) -> None:
        if self.axis == 0:
            raise ParameterError(
                self.type_name, "axis", "axis 0 is the batch axis; use 1 or more, or -1"
            )

    def _axis(self, rank: int) -> int:
        """The axis as an index into the per-sample shape of rank ``rank``."""
        full = self.axis if self.axis > 0 else self.axis + rank + 1
        if not 1 <= full <= rank:
            raise ShapeError(
                f"Concatenate axis {self.axis} does not exist for inputs of rank {rank} "
                f"(plus the batch axis)",
                f"use an axis from 1 to {rank}, or -1",
            )
        return full - 1

    def compute_output_shape(self, input_shape):
        shapes = [tuple(s) for s in input_shape]
        if len(shapes) < 2:
            raise ShapeError(
                f"Concatenate needs at least 2 inputs, got {len(shapes)}",
                "connect another branch to it",
            )
        first = shapes[0]
        for other in shapes[1:]:
            if len(other) != len(first):
                raise ShapeError(
                    f"Concatenate inputs have different ranks: {first} vs {other}",
                    "Flatten or Reshape a branch so both have the same number of dimensions",
                )
        axis = self._axis(len(first))
        for other in shapes[1:]:
            for i, (a, b) in enumerate(zip(first, other)):
                if i != axis and a != b:
                    raise ShapeError(
                        f"Concatenate inputs differ on axis {i + 1}: {first} vs {other}",
                        f"only axis {axis + 1} may differ; resize a branch (pooling, Reshape) "
                        "or concatenate along another axis",
                    )
        return first[:axis] + (sum(s[axis] for s in shapes),) + first[axis + 1 :]

    def call(self, inputs, training=False):
        axis = self._axis(inputs[0].ndim - 1)
        return ops.concat(list(inputs), axis=axis + 1)
