"""``Conv1D`` (``keras.layers.Conv1D``) on sequences ``(steps, features)``.

Sequences keep Keras's layout for 1-D layers (``data_format="channels_last"``): time on the
first per-sample axis, features - the channels the filters mix - on the last, exactly what
``Embedding`` and ``LSTM(return_sequences=True)`` produce, so ``Embedding -> Conv1D ->
GlobalMaxPooling1D`` works as in Keras's text models. The output is ``(steps', filters)``.

Weights (``get_weights`` order): ``kernel`` ``(filters, features / groups, kernel_size)``
- the ONNX/PyTorch layout, not Keras's ``(kernel_size, features / groups, filters)`` -
then ``bias`` ``(filters,)``. A constraint's ``axis`` is read in Keras's layout.

``padding``: ``valid``, ``same`` (TensorFlow's: ``ceil(steps / stride)`` outputs, the odd
padding step at the end) or ``causal`` (``(kernel_size - 1) * dilation_rate`` zeros before
the sequence, none after: output step ``t`` sees only input steps ``<= t``).
"""

from __future__ import annotations

from engine import activations
from engine.autodiff import kernels_conv, kernels_conv1d
from engine.layers.base import Layer, ShapeError, WeightSpec, register
from engine.layers.conv_params import (
    PADDING_1D_PARAM,
    check_sequence_shape,
    filters_param,
    groups_param,
    initializer_param,
    window_param,
)
from engine.layers.core import ACTIVATION_PARAM
from engine.layers.schema import Param, ParameterError, penalty_map, penalty_params


@register
class Conv1D(Layer):
    """1-D convolution along the steps of a sequence ``(steps, features)``.

    Weights: ``kernel`` ``(filters, features / groups, kernel_size)``, then ``bias``
    ``(filters,)`` (absent when ``use_bias=False``).
    """

    type_name = "Conv1D"
    display_name = "Conv1D"
    category = "Convolution"
    description = "1-D convolution along the steps of a sequence (steps, features)."
    params = (
        filters_param(),
        window_param("kernel_size", 1, (3,), "Length of each filter, in steps", required=True),
        window_param("strides", 1, (1,), "Step between filter positions"),
        PADDING_1D_PARAM,
        window_param("dilation_rate", 1, (1,), "Spacing between filter taps"),
        groups_param(),
        ACTIVATION_PARAM,
        Param("use_bias", "bool", default=True, help="Add a learned bias to each filter"),
        initializer_param(),
        *penalty_params(("kernel", "bias")),
    )
    weight_penalties = penalty_map(("kernel", "bias"))
    # Keras's kernel is (k, in, filters), the engine's (filters, in, k).
    weight_layouts = {"kernel": (2, 1, 0)}
    weight_ranks = {"kernel": 3, "bias": 1}

    examples = (
        {"config": {"filters": 3, "kernel_size": 3, "activation": "relu"}, "input_shape": (7, 2)},
        {
            "config": {"filters": 2, "kernel_size": 2, "strides": 2, "padding": "same"},
            "input_shape": (7, 3),
        },
        {
            "config": {"filters": 2, "kernel_size": 3, "padding": "causal", "dilation_rate": 2},
            "input_shape": (6, 2),
        },
        {
            "config": {"filters": 4, "kernel_size": 2, "groups": 2, "use_bias": False},
            "input_shape": (5, 4),
        },
        {
            "config": {"filters": 2, "kernel_size": 1, "activation": "tanh"},
            "input_shape": (4, 3),
        },
    )

    def validate_config(self) -> None:
        if self.filters % self.groups:
            raise ParameterError(
                self.type_name,
                "filters",
                f"{self.filters} filters cannot be split into {self.groups} groups; use a "
                f"multiple of {self.groups}",
            )

    def pads(self, steps: int) -> tuple[int, int]:
        """``(before, after)`` zero steps for a sequence of ``steps``."""
        return kernels_conv1d.resolve_padding_1d(
            self.padding, steps, self.kernel_size[0], self.strides[0], self.dilation_rate[0]
        )

    def _geometry(self, input_shape) -> tuple[int, int]:
        steps, features = check_sequence_shape(self.type_name, input_shape)
        if features % self.groups:
            raise ShapeError(
                f"{features} features cannot be split into groups={self.groups}",
                f"use a groups value that divides {features}",
            )
        k, s, d = self.kernel_size[0], self.strides[0], self.dilation_rate[0]
        out = kernels_conv.output_length(steps, k, s, *self.pads(steps), d)
        if out < 1:
            raise ShapeError(
                f"kernel_size {k} (spanning {(k - 1) * d + 1} steps) does not fit in "
                f"{steps} steps with padding='{self.padding}'",
                "use padding='same' or 'causal', or a smaller kernel_size",
            )
        return out, features

    def compute_output_shape(self, input_shape):
        out, _ = self._geometry(input_shape)
        return (out, self.filters)

    def weight_specs(self, input_shape):
        _, features = self._geometry(input_shape)
        k, fg = self.kernel_size[0], features // self.groups
        specs = [
            WeightSpec(
                "kernel",
                (self.filters, fg, k),
                self.kernel_initializer,
                fan_in=fg * k,
                fan_out=self.filters * k,
            )
        ]
        if self.use_bias:
            specs.append(WeightSpec("bias", (self.filters,), "zeros"))
        return specs

    def flops(self, input_shape) -> int:
        out, features = self._geometry(input_shape)
        per = 2 * features // self.groups * self.kernel_size[0] + (1 if self.use_bias else 0)
        return out * self.filters * per

    def call(self, inputs, training=False):
        y = kernels_conv1d.conv1d(
            inputs,
            self.kernel,
            self.bias if self.use_bias else None,
            stride=self.strides[0],
            pads=self.pads(inputs.shape[1]),
            dilation=self.dilation_rate[0],
            groups=self.groups,
            relu=self.activation == "relu",
        )
        if self.activation == "relu":
            return y
        return activations.get(self.activation)(y)
