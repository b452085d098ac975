"""Normalisation layers: ``BatchNormalization`` and ``LayerNormalization``.

Both run training-time normalisation through the fused kernels of
:mod:`engine.autodiff.kernels_norm` (one primitive with a hand-written VJP).

``axis`` counts the batch axis, as in Keras. One deliberate difference from Keras:
``BatchNormalization`` defaults to ``axis=1`` because LayerCanvas is channels-first. The rule
is simply "``axis=1`` is the first per-sample axis": the channels ``C`` of an image
``(N, C, H, W)`` and the features of a flat ``(N, F)`` input. For a sequence ``(N, T, F)``
``axis=1`` is the *time* axis (as PyTorch's ``BatchNorm1d`` on ``(N, C, L)``); pass
``axis=-1`` to normalise the features as Keras would.
"""

from __future__ import annotations

import math

from engine import backend
from engine.autodiff import kernels_norm, ops
from engine.autodiff.tensor import no_grad
from engine.layers.base import Layer, ShapeError, WeightSpec, register
from engine.layers.schema import Param, ParameterError, constraint_param, regularizer_param

_EPSILON = Param(
    "epsilon",
    "float",
    default=1e-3,
    min=0.0,
    min_exclusive=True,
    help="Small number added to the variance so division by zero cannot happen",
)
_CENTER = Param("center", "bool", default=True, help="Learn an offset beta")
_SCALE = Param("scale", "bool", default=True, help="Learn a scale gamma")
# Keras's order: beta_regularizer, gamma_regularizer, beta_constraint, gamma_constraint.
_PENALTIES = (
    regularizer_param("beta_regularizer", "the offset beta"),
    regularizer_param("gamma_regularizer", "the scale gamma"),
    constraint_param("beta_constraint", "the offset beta"),
    constraint_param("gamma_constraint", "the scale gamma"),
)
_PENALTY_MAP = {
    "gamma": ("gamma_regularizer", "gamma_constraint"),
    "beta": ("beta_regularizer", "beta_constraint"),
}
_RANKS = {"gamma": 1, "beta": 1}


def _sample_axis(layer: Layer, input_shape) -> int:
    """``layer.axis`` (Keras convention, batch included) as an index into ``input_shape``."""
    rank = len(input_shape)
    full = layer.axis if layer.axis > 0 else layer.axis + rank + 1
    if not 1 <= full <= rank:
        raise ShapeError(
            f"{layer.type_name} axis {layer.axis} does not exist for input {tuple(input_shape)}",
            f"use an axis from 1 to {rank} (counting the batch axis as 0), or -1",
        )
    return full - 1


def _refuse_batch_axis(layer: Layer) -> None:
    if layer.axis == 0:
        raise ParameterError(
            layer.type_name, "axis", "axis 0 is the batch axis; use 1 (channels) or -1 (last)"
        )


def _affine_specs(layer: Layer, size: int) -> list[WeightSpec]:
    specs = []
    if layer.scale:
        specs.append(WeightSpec("gamma", (size,), "ones"))
    if layer.center:
        specs.append(WeightSpec("beta", (size,), "zeros"))
    return specs


def _view(tensor, ndim: int, axis: int):
    """A ``(d,)`` tensor reshaped to broadcast along ``axis`` of ``ndim``-dimensional data."""
    shape = [1] * ndim
    shape[axis] = tensor.shape[0]
    return ops.reshape(tensor, shape)


@register
class BatchNormalization(Layer):
    """Normalises each channel with batch statistics while training and with their moving
    averages at inference, then scales by ``gamma`` and shifts by ``beta``.

    Weight layout (``get_weights`` order), each of shape ``(C,)`` with ``C`` the size of
    ``axis``: ``gamma`` (if ``scale``), ``beta`` (if ``center``), ``moving_mean``,
    ``moving_variance``. The last two are not trainable; each training call updates them as
    Keras does: ``moving = moving * momentum + batch_statistic * (1 - momentum)``, with the
    biased batch variance. A frozen layer (``trainable = False``) runs in inference mode,
    as in Keras. Default ``axis=1`` (not Keras's ``-1``): see the module docstring.
    """

    type_name = "BatchNormalization"
    supports_masking = True  # passes a sequence mask on (Keras)
    display_name = "Batch Normalization"
    category = "Normalization"
    description = "Normalises each channel over the batch; learns a scale and an offset."
    params = (
        Param(
            "axis",
            "int",
            default=1,
            help="Axis of the channels, counting the batch axis: 1 = channels/features, -1 = last",
        ),
        Param(
            "momentum",
            "float",
            default=0.99,
            min=0.0,
            max=1.0,
            help="How slowly the moving mean and variance follow the batches",
        ),
        _EPSILON,
        _CENTER,
        _SCALE,
        *_PENALTIES,
    )
    weight_penalties = _PENALTY_MAP
    weight_ranks = _RANKS
    uses_training_flag = True

    examples = (
        {"config": {}, "input_shape": (4,)},
        {"config": {"momentum": 0.9}, "input_shape": (2, 3, 3)},
        {"config": {"axis": -1, "center": False}, "input_shape": (3, 2)},
        {"config": {"scale": False, "epsilon": 0.01}, "input_shape": (3, 2)},
        {
            "config": {"gamma_regularizer": "l2", "beta_constraint": "non_neg"},
            "input_shape": (3,),
        },
    )

    def validate_config(self) -> None:
        _refuse_batch_axis(self)

    def compute_output_shape(self, input_shape):
        _sample_axis(self, input_shape)
        return tuple(input_shape)

    def weight_specs(self, input_shape):
        size = input_shape[_sample_axis(self, input_shape)]
        return _affine_specs(self, size) + [
            WeightSpec("moving_mean", (size,), "zeros", trainable=False),
            WeightSpec("moving_variance", (size,), "ones", trainable=False),
        ]

    def flops(self, input_shape) -> int:
        # Inference folds the statistics into one scale and one shift per channel.
        return 2 * math.prod(input_shape)

    def call(self, inputs, training=False):
        axis = _sample_axis(self, inputs.shape[1:]) + 1
        gamma = self.gamma if self.scale else None
        beta = self.beta if self.center else None
        if training and self.trainable:
            y, mean, variance = kernels_norm.batch_norm(inputs, gamma, beta, axis, self.epsilon)
            self._update_moving_statistics(mean, variance)
            return y
        return self._inference(inputs, gamma, beta, axis)

    def _update_moving_statistics(self, mean, variance) -> None:
        m = self.momentum
        with no_grad():
            self.moving_mean.assign(self.moving_mean.data * m + mean * (1.0 - m))
            self.moving_variance.assign(self.moving_variance.data * m + variance * (1.0 - m))

    def _inference(self, inputs, gamma, beta, axis):
        xp = backend.xp
        inv_std = 1.0 / xp.sqrt(self.moving_variance.data + self.epsilon)
        scale = ops.as_tensor(inv_std) if gamma is None else ops.mul(gamma, inv_std)
        shift = ops.neg(ops.mul(scale, self.moving_mean.data))
        if beta is not None:
            shift = ops.add(shift, beta)
        y = ops.mul(inputs, _view(scale, inputs.ndim, axis))
        return ops.add(y, _view(shift, inputs.ndim, axis))


@register
class LayerNormalization(Layer):
    """Normalises each sample over ``axis`` (the features), then scales and shifts.

    Weight layout (``get_weights`` order): ``gamma`` (if ``scale``) then ``beta`` (if
    ``center``), each of shape ``(d,)`` with ``d`` the size of ``axis``. Statistics are per
    sample, so training and inference behave the same.
    """

    type_name = "LayerNormalization"
    supports_masking = True  # passes a sequence mask on (Keras)
    display_name = "Layer Normalization"
    category = "Normalization"
    description = "Normalises each sample over its last axis; learns a scale and an offset."
    params = (
        Param(
            "axis",
            "int",
            default=-1,
            help="Axis to normalise over, counting the batch axis: -1 = last",
        ),
        _EPSILON,
        _CENTER,
        _SCALE,
        *_PENALTIES,
    )
    weight_penalties = _PENALTY_MAP
    weight_ranks = _RANKS

    examples = (
        {"config": {}, "input_shape": (5,)},
        {"config": {}, "input_shape": (3, 4)},
        {"config": {"axis": 1, "center": False}, "input_shape": (3, 2, 2)},
        {"config": {"scale": False}, "input_shape": (1, 4)},
        {
            "config": {"beta_regularizer": "l1", "gamma_constraint": "unit_norm"},
            "input_shape": (4,),
        },
    )

    def validate_config(self) -> None:
        _refuse_batch_axis(self)

    def compute_output_shape(self, input_shape):
        _sample_axis(self, input_shape)
        return tuple(input_shape)

    def weight_specs(self, input_shape):
        return _affine_specs(self, input_shape[_sample_axis(self, input_shape)])

    def flops(self, input_shape) -> int:
        # mean, centre, square, variance, normalise, scale, shift: about 7 per value.
        return 7 * math.prod(input_shape)

    def call(self, inputs, training=False):
        axis = _sample_axis(self, inputs.shape[1:]) + 1
        gamma = self.gamma if self.scale else None
        beta = self.beta if self.center else None
        return kernels_norm.layer_norm(inputs, gamma, beta, axis, self.epsilon)
