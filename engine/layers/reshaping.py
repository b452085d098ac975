"""Layers that only rearrange values: ``Flatten`` and ``Reshape``.

Both work on the per-sample shape (the batch axis is kept) in C order, which for a
channels-first image ``(C, H, W)`` is the order ONNX's ``Flatten`` and PyTorch use. They
have no weights.
"""

from __future__ import annotations

import math

from engine.autodiff import ops
from engine.layers.base import Layer, ShapeError, register
from engine.layers.schema import Param


@register
class Flatten(Layer):
    """Turns each sample into a vector: ``(C, H, W)`` becomes ``(C * H * W,)``."""

    type_name = "Flatten"
    display_name = "Flatten"
    category = "Reshaping"
    description = "Flattens each sample to one dimension (channels, then rows, then columns)."
    params = ()

    examples = (
        {"config": {}, "input_shape": (2, 3, 3)},
        {"config": {}, "input_shape": (4,)},
        {"config": {}, "input_shape": (3, 2)},
    )

    def compute_output_shape(self, input_shape):
        return (math.prod(input_shape),)

    def call(self, inputs, training=False):
        return ops.reshape(inputs, (inputs.shape[0], math.prod(inputs.shape[1:])))


@register
class Reshape(Layer):
    """Gives each sample a new shape with the same number of values (one ``-1`` allowed)."""

    type_name = "Reshape"
    display_name = "Reshape"
    category = "Reshaping"
    description = "Reshapes each sample to target_shape; one dimension may be -1 (inferred)."
    params = (
        Param(
            "target_shape",
            "shape",
            default=None,
            required=True,
            help="New shape of one sample, without the batch dimension; one entry may be -1",
        ),
    )

    examples = (
        {"config": {"target_shape": (3, 4)}, "input_shape": (12,)},
        {"config": {"target_shape": (-1, 2)}, "input_shape": (2, 3, 2)},
        {"config": {"target_shape": (1, 3, 3)}, "input_shape": (9,)},
    )

    def compute_output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        target = tuple(self.target_shape)
        total = math.prod(input_shape)
        known = math.prod(d for d in target if d != -1)
        if -1 in target:
            if known == 0 or total % known:
                raise ShapeError(
                    f"Reshape cannot turn {input_shape} ({total} values) into {target}: "
                    f"{total} is not a multiple of {known}",
                    f"choose a target_shape whose known dimensions divide {total}",
                )
            return tuple(total // known if d == -1 else d for d in target)
        if known != total:
            raise ShapeError(
                f"Reshape cannot turn {input_shape} ({total} values) into {target} "
                f"({known} values)",
                f"choose a target_shape whose dimensions multiply to {total}, "
                "or put -1 in one dimension to infer it",
            )
        return target

    def call(self, inputs, training=False):
        shape = self.compute_output_shape(inputs.shape[1:])
        return ops.reshape(inputs, (inputs.shape[0],) + shape)
