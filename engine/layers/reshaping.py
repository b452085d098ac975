"""Layers that only rearrange values: ``Flatten``, ``Reshape``, ``Permute`` and
``RepeatVector``.

They work on the per-sample shape (the batch axis is kept); Flatten and Reshape in C order,
which for a channels-first image ``(C, H, W)`` is the order ONNX's ``Flatten`` and PyTorch
use. ``Permute(dims)`` reorders the per-sample axes (Keras's ``dims``: 1-based, the batch
excluded, so ``Permute((2, 1))`` swaps the steps and features of a sequence).
``RepeatVector(n)`` turns a vector ``(F,)`` into the sequence ``(n, F)``. None has weights.
The image resizers (ZeroPadding2D, Cropping2D, UpSampling2D) are in
:mod:`engine.layers.resampling`.
"""

from __future__ import annotations

import math

from engine.autodiff import kernels_resample, ops
from engine.layers.base import Layer, ShapeError, register
from engine.layers.schema import Param, ParameterError


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


@register
class Permute(Layer):
    """Reorders the axes of each sample: output axis ``i`` is input axis ``dims[i]``
    (1-based, batch excluded, as in Keras). No weights."""

    type_name = "Permute"
    display_name = "Permute"
    category = "Reshaping"
    description = "Reorders the axes of each sample, e.g. (2, 1) swaps steps and features."
    params = (
        Param(
            "dims",
            "ints",
            default=None,
            required=True,
            help="New order of the sample's axes, numbered from 1 (the batch is not counted)",
        ),
    )
    examples = (
        {"config": {"dims": (2, 1)}, "input_shape": (3, 4)},
        {"config": {"dims": (2, 3, 1)}, "input_shape": (2, 3, 4)},
        {"config": {"dims": (1, 3, 2)}, "input_shape": (2, 3, 4)},
    )

    def validate_config(self) -> None:
        if sorted(self.dims) != list(range(1, len(self.dims) + 1)):
            raise ParameterError(
                self.type_name,
                "dims",
                f"{list(self.dims)} is not a reordering of 1..{len(self.dims)}; list every "
                "axis once, numbered from 1",
            )

    def compute_output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        if len(input_shape) != len(self.dims):
            raise ShapeError(
                f"Permute with dims {list(self.dims)} reorders {len(self.dims)} axes, but "
                f"the input {input_shape} has {len(input_shape)}",
                f"give dims {len(input_shape)} entries",
            )
        return tuple(input_shape[d - 1] for d in self.dims)

    def call(self, inputs, training=False):
        return ops.transpose(inputs, (0, *self.dims))


@register
class RepeatVector(Layer):
    """Repeats a vector ``n`` times: ``(F,) -> (n, F)``, e.g. to feed one encoding to every
    step of a recurrent decoder. No weights."""

    type_name = "RepeatVector"
    display_name = "RepeatVector"
    category = "Reshaping"
    description = "Repeats a vector n times, making a sequence (n, features)."
    params = (
        Param("n", "int", default=None, min=1, max=1_000_000, required=True, help="Repetitions"),
    )
    examples = (
        {"config": {"n": 3}, "input_shape": (4,)},
        {"config": {"n": 1}, "input_shape": (2,)},
    )

    def compute_output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        if len(input_shape) != 1:
            raise ShapeError(
                f"RepeatVector expects a vector (features,), got {input_shape}",
                "insert Flatten or GlobalAveragePooling before it",
            )
        return (self.n, input_shape[0])

    def call(self, inputs, training=False):
        return kernels_resample.repeat_vector(inputs, self.n)
