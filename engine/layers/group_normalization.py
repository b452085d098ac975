"""``GroupNormalization`` (Keras's, Wu & He 2018): each sample's channels are split into
``groups`` groups normalised separately, then every channel is scaled and shifted.

``axis`` counts the batch axis, as in Keras; like ``BatchNormalization`` here it defaults
to ``1`` (the channels of a channels-first ``(C, H, W)`` image) where Keras's default is
``-1`` (channels last). ``groups=-1`` puts each channel in its own group (instance
normalisation); ``groups=1`` normalises the whole sample. Statistics are per sample, so
training and inference behave the same. The forward and backward pass are one fused kernel
(:mod:`engine.autodiff.kernels_group_norm`).
"""

from __future__ import annotations

import math

from engine.autodiff import kernels_group_norm, ops
from engine.layers.base import Layer, ShapeError, register
from engine.layers.normalization import (
    _CENTER,
    _PENALTIES,
    _PENALTY_MAP,
    _RANKS,
    _SCALE,
    _affine_specs,
    _refuse_batch_axis,
    _sample_axis,
)
from engine.layers.schema import Param, ParameterError


@register
class GroupNormalization(Layer):
    """Normalises groups of channels of each sample, then scales and shifts each channel.

    Weight layout (``get_weights`` order): ``gamma`` (if ``scale``) then ``beta`` (if
    ``center``), each of shape ``(C,)`` with ``C`` the size of ``axis``. Channel ``k``
    belongs to group ``k // (C / groups)``, as in Keras and PyTorch's ``GroupNorm``.
    """

    type_name = "GroupNormalization"
    display_name = "Group Normalization"
    category = "Normalization"
    description = "Normalises groups of channels per sample (batch-size independent)."
    params = (
        Param(
            "groups",
            "int",
            default=32,
            min=-1,
            help="Number of channel groups; must divide the channels (-1: one per channel)",
        ),
        Param(
            "axis",
            "int",
            default=1,
            help="Axis of the channels, counting the batch axis: 1 = channels, -1 = last",
        ),
        Param(
            "epsilon",
            "float",
            default=1e-3,
            min=0.0,
            min_exclusive=True,
            help="Small number added to the variance so division by zero cannot happen",
        ),
        _CENTER,
        _SCALE,
        *_PENALTIES,
    )
    weight_penalties = _PENALTY_MAP
    weight_ranks = _RANKS

    examples = (
        {"config": {"groups": 2}, "input_shape": (4, 3, 3)},
        {"config": {"groups": -1, "center": False}, "input_shape": (3, 2, 2)},
        {"config": {"groups": 1, "scale": False, "epsilon": 1e-5}, "input_shape": (4, 5)},
        {"config": {"groups": 3, "axis": -1}, "input_shape": (4, 6)},
        {"config": {"groups": 2, "gamma_regularizer": "l2"}, "input_shape": (4,)},
    )

    def validate_config(self) -> None:
        _refuse_batch_axis(self)
        if self.groups == 0:
            raise ParameterError(self.type_name, "groups", "use 1 or more, or -1 (per channel)")

    def group_count(self, input_shape) -> int:
        """The number of groups for ``input_shape``, checked against its channels."""
        channels = input_shape[_sample_axis(self, input_shape)]
        groups = channels if self.groups == -1 else self.groups
        if groups > channels or channels % groups:
            divisors = [d for d in range(1, channels + 1) if channels % d == 0]
            raise ShapeError(
                f"GroupNormalization cannot split {channels} channels into {groups} groups",
                f"set groups to a divisor of {channels} ({', '.join(map(str, divisors))}), "
                "or -1 for one group per channel",
            )
        return groups

    def compute_output_shape(self, input_shape):
        self.group_count(input_shape)
        return tuple(input_shape)

    def weight_specs(self, input_shape):
        self.group_count(input_shape)
        return _affine_specs(self, input_shape[_sample_axis(self, input_shape)])

    def flops(self, input_shape) -> int:
        # mean, centre, square, variance, normalise, scale, shift: about 7 per value.
        return 7 * math.prod(input_shape)

    def call(self, inputs, training=False):
        shape = inputs.shape[1:]
        groups = self.group_count(shape)
        axis = _sample_axis(self, shape) + 1
        gamma = self.gamma if self.scale else None
        beta = self.beta if self.center else None
        if axis == 1:
            return kernels_group_norm.group_norm(inputs, gamma, beta, groups, self.epsilon)
        # Channels elsewhere (a sequence's features): move them to axis 1 and back.
        perm = [0, axis] + [i for i in range(1, inputs.ndim) if i != axis]
        inverse = [perm.index(i) for i in range(inputs.ndim)]
        moved = ops.transpose(inputs, perm)
        y = kernels_group_norm.group_norm(moved, gamma, beta, groups, self.epsilon)
        return ops.transpose(y, inverse)
