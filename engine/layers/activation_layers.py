"""Activation layers with parameters or weights: ``ReLU``, ``PReLU`` (Keras's classes) and
``GELU``.

Keras 3 has layer classes only for the activations that take arguments (``ReLU``,
``PReLU``, ``LeakyReLU``, ``ELU``, ``Softmax``); every other activation (``silu``,
``mish``, ``hard_sigmoid``, ``selu``, ``tanh``, ...) is an ``Activation`` layer with that
name, as in Keras. ``GELU`` is the one exception: Keras's ``"gelu"`` string is the exact
(erf) form, and the layer exposes ``approximate`` so the tanh form (PyTorch's
``GELU(approximate="tanh")``, ONNX ``Gelu(approximate="tanh")``) has an exact equivalent.
"""

from __future__ import annotations

import math

from engine.autodiff import kernels_activation, ops
from engine.layers.base import Layer, ShapeError, WeightSpec, register
from engine.layers.schema import Param, ParameterError, constraint_param, regularizer_param


@register
class ReLU(Layer):
    """Keras's ``ReLU``: ``max_value`` where ``x >= max_value``, ``x`` where
    ``threshold <= x < max_value``, ``negative_slope * (x - threshold)`` elsewhere.

    ``ReLU(max_value=6)`` is ReLU6. No weights.
    """

    type_name = "ReLU"
    supports_masking = True  # passes a sequence mask on (Keras)
    display_name = "ReLU"
    category = "Activation"
    description = "Rectifier with an optional ceiling (ReLU6), negative slope and threshold."
    params = (
        Param(
            "max_value",
            "float",
            default=None,
            nullable=True,
            min=0.0,
            help="Largest output value (6 gives ReLU6; empty: no ceiling)",
        ),
        Param(
            "negative_slope",
            "float",
            default=0.0,
            min=0.0,
            help="Slope below the threshold (0: plain ReLU)",
        ),
        Param(
            "threshold",
            "float",
            default=0.0,
            min=0.0,
            help="Inputs below this are damped by negative_slope (0: at zero)",
        ),
    )
    examples = (
        {"config": {}, "input_shape": (6,)},
        {"config": {"max_value": 6.0}, "input_shape": (2, 3, 3)},
        {
            "config": {"negative_slope": 0.1, "threshold": 0.5, "max_value": 1.5},
            "input_shape": (4,),
        },
        {"config": {"threshold": 0.3}, "input_shape": (3, 2)},
    )

    def validate_config(self) -> None:
        if self.max_value is not None and self.max_value <= self.threshold:
            raise ParameterError(
                self.type_name,
                "max_value",
                f"must be above threshold ({self.threshold}), or empty for no ceiling",
            )

    def flops(self, input_shape) -> int:
        return 2 * math.prod(input_shape)

    def call(self, inputs, training=False):
        if self.max_value is None and self.negative_slope == 0 and self.threshold == 0:
            return ops.relu(inputs)
        if self.max_value == 6.0 and self.negative_slope == 0 and self.threshold == 0:
            return kernels_activation.relu6(inputs)
        return kernels_activation.relu_general(
            inputs, self.negative_slope, self.max_value, self.threshold
        )


@register
class PReLU(Layer):
    """Parametric ReLU: ``x`` where ``x > 0``, ``alpha * x`` elsewhere, ``alpha`` learned.

    Weight layout: ``alpha`` has the per-sample input shape with every axis in
    ``shared_axes`` set to 1 (axes count the batch axis, as in Keras). On a channels-first
    image ``(C, H, W)``, ``shared_axes=[2, 3]`` learns one slope per channel, as PyTorch's
    ``PReLU(C)`` and ONNX ``PRelu`` with a ``(C, 1, 1)`` slope.
    """

    type_name = "PReLU"
    supports_masking = True  # passes a sequence mask on (Keras)
    display_name = "PReLU"
    category = "Activation"
    description = "ReLU whose slope for negative inputs is learned (per value or per channel)."
    params = (
        Param(
            "alpha_initializer",
            "choice",
            default="zeros",
            choices=("zeros", "ones", "random_normal", "random_uniform"),
            help="How the slopes start (zeros: a plain ReLU at first)",
        ),
        regularizer_param("alpha_regularizer", "the slopes alpha"),
        constraint_param("alpha_constraint", "the slopes alpha"),
        Param(
            "shared_axes",
            "ints",
            default=None,
            nullable=True,
            help="Axes sharing one slope, counting the batch axis (e.g. 2, 3 on images)",
        ),
    )
    weight_penalties = {"alpha": ("alpha_regularizer", "alpha_constraint")}

    examples = (
        {"config": {}, "input_shape": (5,)},
        {"config": {"shared_axes": [2, 3]}, "input_shape": (3, 2, 2)},
        {"config": {"shared_axes": [1], "alpha_initializer": "ones"}, "input_shape": (4, 3)},
        {"config": {"alpha_regularizer": "l2", "alpha_constraint": "non_neg"}, "input_shape": (3,)},
    )

    def validate_config(self) -> None:
        if self.shared_axes is not None and any(a < 1 for a in self.shared_axes):
            raise ParameterError(
                self.type_name, "shared_axes", "axes count the batch axis as 0: use 1 or more"
            )

    def _alpha_shape(self, input_shape) -> tuple[int, ...]:
        shape = list(input_shape)
        for axis in self.shared_axes or ():
            if axis > len(shape):
                raise ShapeError(
                    f"PReLU shared axis {axis} does not exist for input {tuple(input_shape)}",
                    f"use axes from 1 to {len(shape)} (counting the batch axis as 0)",
                )
            shape[axis - 1] = 1
        return tuple(shape)

    def compute_output_shape(self, input_shape):
        self._alpha_shape(input_shape)
        return tuple(input_shape)

    def weight_specs(self, input_shape):
        return [WeightSpec("alpha", self._alpha_shape(input_shape), self.alpha_initializer)]

    def flops(self, input_shape) -> int:
        return 3 * math.prod(input_shape)

    def call(self, inputs, training=False):
        return kernels_activation.prelu(inputs, self.alpha)


@register
class GELU(Layer):
    """Gaussian error linear unit ``x * Phi(x)``: exact (erf) by default, as Keras's
    ``"gelu"``; ``approximate=True`` uses ``0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))``.
    No weights."""

    type_name = "GELU"
    supports_masking = True  # passes a sequence mask on (Keras)
    display_name = "GELU"
    category = "Activation"
    description = "Gaussian error linear unit, a smooth ReLU; exact (erf) or tanh-approximated."
    params = (
        Param(
            "approximate",
            "bool",
            default=False,
            help="Use the tanh approximation (PyTorch approximate='tanh') instead of erf",
        ),
    )
    examples = (
        {"config": {}, "input_shape": (6,)},
        {"config": {"approximate": True}, "input_shape": (2, 3, 3)},
    )

    def flops(self, input_shape) -> int:
        return 8 * math.prod(input_shape)

    def call(self, inputs, training=False):
        return kernels_activation.gelu(inputs, self.approximate)
