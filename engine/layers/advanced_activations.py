"""Activation layers with a parameter: ``LeakyReLU``, ``ELU`` and ``Softmax`` (Keras's names).

``Activation("leaky_relu")`` and ``Activation("elu")`` use fixed constants (slope 0.2, alpha
1.0) and softmax runs over the last axis; these layers expose the constant or the axis, so
an ONNX ``LeakyRelu(alpha=0.01)``, ``Elu(alpha=0.5)`` or ``Softmax(axis=1)`` has an exact
equivalent. None of them has weights.
"""

from __future__ import annotations

import math

from engine.autodiff import ops
from engine.layers.base import Layer, ShapeError, register
from engine.layers.schema import Param, ParameterError

_SHAPES = ((5,), (2, 3, 3))


class _Elementwise(Layer):
    category = "Activation"

    def flops(self, input_shape) -> int:
        return 4 * math.prod(input_shape)


@register
class LeakyReLU(_Elementwise):
    """``x`` where ``x > 0``, ``negative_slope * x`` elsewhere."""

    type_name = "LeakyReLU"
    supports_masking = True  # passes a sequence mask on (Keras)
    display_name = "Leaky ReLU"
    description = "ReLU that lets a small slope through for negative inputs."
    params = (
        Param(
            "negative_slope",
            "float",
            default=0.3,
            min=0.0,
            help="Slope for negative inputs (Keras's default is 0.3)",
        ),
    )
    examples = tuple(
        {"config": {"negative_slope": slope}, "input_shape": shape}
        for slope, shape in zip((0.3, 0.01), _SHAPES, strict=True)
    )

    def call(self, inputs, training=False):
        return ops.leaky_relu(inputs, self.negative_slope)


@register
class ELU(_Elementwise):
    """``x`` where ``x > 0``, ``alpha * (exp(x) - 1)`` elsewhere."""

    type_name = "ELU"
    supports_masking = True  # passes a sequence mask on (Keras)
    display_name = "ELU"
    description = "Exponential linear unit with a chosen saturation value alpha."
    params = (
        Param(
            "alpha",
            "float",
            default=1.0,
            min=0.0,
            help="Value the output approaches for very negative inputs (as -alpha)",
        ),
    )
    examples = tuple(
        {"config": {"alpha": alpha}, "input_shape": shape}
        for alpha, shape in zip((1.0, 0.5), _SHAPES, strict=True)
    )

    def call(self, inputs, training=False):
        return ops.elu(inputs, self.alpha)


@register
class Softmax(_Elementwise):
    """Softmax along ``axis``, which counts the batch axis as in Keras (``-1`` = last)."""

    type_name = "Softmax"
    display_name = "Softmax"
    description = "Turns scores into probabilities along an axis (e.g. channels: axis=1)."
    params = (
        Param(
            "axis",
            "int",
            default=-1,
            help="Axis to normalise over, counting the batch axis: -1 = last, 1 = channels",
        ),
    )
    examples = (
        {"config": {"axis": -1}, "input_shape": (5,)},
        {"config": {"axis": 1}, "input_shape": (3, 2, 2)},
        {"config": {"axis": 2}, "input_shape": (2, 4, 3)},
    )

    def validate_config(self) -> None:
        if self.axis == 0:
            raise ParameterError(
                self.type_name, "axis", "axis 0 is the batch axis; use 1 or more, or -1"
            )

    def full_axis(self, input_shape) -> int:
        """The axis as an index counting the batch axis (1 .. rank)."""
        rank = len(input_shape)
        full = self.axis if self.axis > 0 else self.axis + rank + 1
        if not 1 <= full <= rank:
            raise ShapeError(
                f"Softmax axis {self.axis} does not exist for input {tuple(input_shape)}",
                f"use an axis from 1 to {rank} (counting the batch axis as 0), or -1",
            )
        return full

    def compute_output_shape(self, input_shape):
        self.full_axis(input_shape)
        return tuple(input_shape)

    def call(self, inputs, training=False):
        return ops.softmax(inputs, axis=self.full_axis(inputs.shape[1:]))
