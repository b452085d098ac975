"""Core layers: ``Dense`` (the seeds' ``tf.layers.dense`` / ``keras.layers.Dense``) and
``Activation``.

Dense weight layout (``get_weights`` order): ``kernel`` of shape ``(in_features, units)``
then ``bias`` of shape ``(units,)``; the output is ``activation(x @ kernel + bias)``, as in
Keras. On a sequence ``(T, F)`` it applies to the last axis at every step.
"""

from __future__ import annotations

from engine import activations
from engine.activations import ACTIVATION_NAMES
from engine.autodiff import ops
from engine.layers.base import Layer, ShapeError, WeightSpec, register
from engine.layers.schema import Param, penalty_map, penalty_params

ACTIVATION_PARAM = Param(
    "activation",
    "choice",
    default="linear",
    choices=ACTIVATION_NAMES,
    help="Function applied to the output (linear = none)",
)


@register
class Dense(Layer):
    """Fully connected layer: every input feature connects to every unit."""

    type_name = "Dense"
    supports_masking = True  # passes a sequence mask on (Keras)
    display_name = "Dense"
    category = "Core"
    description = "Fully connected layer: activation(x @ kernel + bias)."
    params = (
        Param(
            "units",
            "int",
            default=32,
            min=1,
            max=1_000_000,
            required=True,
            help="Number of output features",
        ),
        ACTIVATION_PARAM,
        Param("use_bias", "bool", default=True, help="Add a learned bias to each unit"),
        Param(
            "kernel_initializer",
            "choice",
            default="glorot_uniform",
            choices=(
                "glorot_uniform",
                "glorot_normal",
                "he_uniform",
                "he_normal",
                "random_normal",
                "random_uniform",
                "zeros",
                "ones",
            ),
            help="How the kernel's first values are drawn",
        ),
        *penalty_params(("kernel", "bias")),
    )
    weight_penalties = penalty_map(("kernel", "bias"))
    weight_ranks = {"kernel": 2, "bias": 1}

    examples = (
        {"config": {"units": 3, "activation": "tanh"}, "input_shape": (5,)},
        {"config": {"units": 4, "use_bias": False}, "input_shape": (3, 2)},
        {"config": {"units": 1, "activation": "sigmoid"}, "input_shape": (1,)},
        {
            "config": {
                "units": 3,
                "kernel_regularizer": {"name": "l2", "l2": 0.01},
                "bias_regularizer": "l1",
                "activity_regularizer": {"name": "l1_l2", "l1": 0.01, "l2": 0.02},
                "kernel_constraint": {"name": "max_norm", "max_value": 0.5},
                "bias_constraint": "non_neg",
            },
            "input_shape": (4,),
        },
    )

    def _check(self, input_shape) -> None:
        if len(input_shape) > 2:
            raise ShapeError(
                f"Dense expects a flat input of rank 2, got {tuple(input_shape)}",
                "insert Flatten before it",
            )

    def compute_output_shape(self, input_shape):
        self._check(input_shape)
        return tuple(input_shape[:-1]) + (self.units,)

    def weight_specs(self, input_shape):
        self._check(input_shape)
        fan_in = input_shape[-1]
        specs = [
            WeightSpec(
                "kernel",
                (fan_in, self.units),
                self.kernel_initializer,
                fan_in=fan_in,
                fan_out=self.units,
            )
        ]
        if self.use_bias:
            specs.append(WeightSpec("bias", (self.units,), "zeros"))
        return specs

    def flops(self, input_shape) -> int:
        steps = input_shape[0] if len(input_shape) == 2 else 1
        return steps * (2 * input_shape[-1] * self.units + (self.units if self.use_bias else 0))

    def call(self, inputs, training=False):
        y = ops.matmul(inputs, self.kernel)
        if self.use_bias:
            y = y + self.bias
        return activations.get(self.activation)(y)


@register
class Activation(Layer):
    """Applies an activation function elementwise (softmax over the last axis)."""

    type_name = "Activation"
    supports_masking = True  # passes a sequence mask on (Keras)
    display_name = "Activation"
    category = "Activation"
    description = "Applies relu, gelu, silu (swish), mish, selu, tanh, sigmoid, softmax, ..."
    params = (
        Param(
            "activation",
            "choice",
            default="relu",
            choices=ACTIVATION_NAMES,
            help="The function to apply",
            required=True,
        ),
    )

    examples = tuple(
        {"config": {"activation": name}, "input_shape": (2, 5)} for name in ACTIVATION_NAMES
    )

    def flops(self, input_shape) -> int:
        n = 1
        for d in input_shape:
            n *= d
        return n * (1 if self.activation in ("relu", "linear") else 4)

    def call(self, inputs, training=False):
        return activations.get(self.activation)(inputs)
