"""Convolution layers: ``Conv2D`` (``keras.layers.Conv2D``), channels-first.

Conv2D weight layout (``get_weights`` order): ``kernel`` of shape
``(filters, in_channels, kh, kw)`` - the ONNX/PyTorch layout, not Keras's HWIO - then
``bias`` of shape ``(filters,)``. The output is ``activation(cross_correlate(x, kernel) +
bias)`` on images ``(C, H, W) -> (filters, H', W')``.

Regularizers and constraints take Keras's arguments (``kernel_regularizer``,
``kernel_constraint``, ...). A constraint's ``axis`` is read in Keras's kernel layout
``(kh, kw, in_channels, filters)`` and mapped onto the engine's (``weight_layouts``), so
``MaxNorm(axis=[0, 1, 2])`` bounds each filter here as it does in Keras
(:mod:`engine.constraints`).

``padding="same"`` is TensorFlow/Keras's: ``H' = ceil(H / stride)``, and the total padding
``max((H' - 1) * stride + (kh - 1) * dilation + 1 - H, 0)`` is split with the odd row/column
at the bottom/right - ONNX ``auto_pad="SAME_UPPER"``. The exporter may rely on this;
:func:`engine.autodiff.kernels_conv.resolve_padding` gives the explicit pads. ``padding`` may
also be explicit zeros (``1``, ``(1, 2)`` or ``((top, bottom), (left, right))``; see
:mod:`engine.layers.conv_params`), as PyTorch's ``Conv2d(padding=...)`` and ONNX ``pads``.

``groups`` splits the channels into blocks convolved separately (Keras's ``groups``): the
kernel is then ``(filters, in_channels / groups, kh, kw)``. The other convolution types
live beside this module: ``convolutional_1d`` (Conv1D), ``convolutional_transpose``
(Conv2DTranspose) and ``depthwise`` (DepthwiseConv2D, SeparableConv2D).
"""

from __future__ import annotations

from engine import activations
from engine.autodiff import kernels_conv, kernels_conv_groups
from engine.layers.base import Layer, ShapeError, WeightSpec, register
from engine.layers.conv_params import (
    KERNEL_INITIALIZERS,
    PADDING_PARAM,
    check_image_shape,
    groups_param,
    padding_text,
)
from engine.layers.core import ACTIVATION_PARAM
from engine.layers.schema import Param, ParameterError, penalty_map, penalty_params

__all__ = ["Conv2D", "KERNEL_INITIALIZERS", "PADDING_PARAM", "check_image_shape"]


@register
class Conv2D(Layer):
    """2-D convolution over channels-first images.

    Weights: ``kernel`` ``(filters, in_channels, kh, kw)``, then ``bias`` ``(filters,)``
    (absent when ``use_bias=False``). ``padding="same"`` matches Keras/TensorFlow exactly
    (extra padding at the bottom/right, ONNX ``SAME_UPPER``).
    """

    type_name = "Conv2D"
    display_name = "Conv2D"
    category = "Convolution"
    description = "2-D convolution: slides filters over an image (channels, height, width)."
    params = (
        Param(
            "filters",
            "int",
            default=32,
            min=1,
            max=65536,
            required=True,
            help="Number of output channels (feature maps)",
        ),
        Param(
            "kernel_size",
            "int_tuple",
            default=(3, 3),
            length=2,
            min=1,
            max=1024,
            required=True,
            help="Height and width of each filter",
        ),
        Param(
            "strides",
            "int_tuple",
            default=(1, 1),
            length=2,
            min=1,
            max=1024,
            help="Step between filter positions (rows, columns)",
        ),
        PADDING_PARAM,
        Param(
            "dilation_rate",
            "int_tuple",
            default=(1, 1),
            length=2,
            min=1,
            max=1024,
            help="Spacing between filter taps (atrous convolution)",
        ),
        groups_param(),
        ACTIVATION_PARAM,
        Param("use_bias", "bool", default=True, help="Add a learned bias to each filter"),
        Param(
            "kernel_initializer",
            "choice",
            default="glorot_uniform",
            choices=KERNEL_INITIALIZERS,
            help="How the kernel's first values are drawn",
        ),
        *penalty_params(("kernel", "bias")),
    )
    weight_penalties = penalty_map(("kernel", "bias"))
    # Keras's kernel is (kh, kw, in, filters), the engine's (filters, in, kh, kw): Keras
    # axis 0 (kh) is engine axis 2, 1 (kw) is 3, 2 (in) is 1, 3 (filters) is 0.
    weight_layouts = {"kernel": (2, 3, 1, 0)}
    weight_ranks = {"kernel": 4, "bias": 1}

    examples = (
        {
            "config": {"filters": 2, "kernel_size": 3, "activation": "relu"},
            "input_shape": (1, 5, 5),
        },
        {
            "config": {
                "filters": 3,
                "kernel_size": (2, 3),
                "strides": 2,
                "padding": "same",
                "activation": "tanh",
            },
            "input_shape": (2, 6, 7),
        },
        {
            "config": {"filters": 2, "kernel_size": 2, "dilation_rate": 2, "use_bias": False},
            "input_shape": (3, 5, 4),
        },
        {
            "config": {"filters": 4, "kernel_size": 1, "padding": "same"},
            "input_shape": (3, 2, 3),
        },
        {
            "config": {"filters": 2, "kernel_size": 3, "strides": 2, "padding": 1},
            "input_shape": (2, 5, 6),
        },
        {
            "config": {"filters": 4, "kernel_size": (3, 2), "padding": ((0, 1), (2, 0))},
            "input_shape": (1, 4, 4),
        },
        {
            "config": {"filters": 4, "kernel_size": 3, "groups": 2, "padding": "same"},
            "input_shape": (4, 4, 5),
        },
        {
            "config": {
                "filters": 2,
                "kernel_size": 2,
                "kernel_regularizer": "l2",
                "activity_regularizer": "l1",
                "kernel_constraint": {"name": "unit_norm", "axis": [0, 1, 2]},
            },
            "input_shape": (2, 4, 4),
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

    def explicit_pads(self, spatial) -> kernels_conv.Pads:
        """``((top, bottom), (left, right))`` zero padding for an input of ``(H, W)``."""
        return kernels_conv.resolve_padding(
            self.padding, spatial, self.kernel_size, self.strides, self.dilation_rate
        )

    def _geometry(self, input_shape):
        """``(C, Ho, Wo)`` for an image input, with a clear error when the kernel misses."""
        c, h, w = check_image_shape(self.type_name, input_shape)
        if c % self.groups:
            raise ShapeError(
                f"{c} input channels cannot be split into groups={self.groups}",
                f"use a groups value that divides {c}",
            )
        (kh, kw), (sh, sw), (dh, dw) = self.kernel_size, self.strides, self.dilation_rate
        pads = self.explicit_pads((h, w))
        ho = kernels_conv.output_length(h, kh, sh, *pads[0], dh)
        wo = kernels_conv.output_length(w, kw, sw, *pads[1], dw)
        if ho < 1 or wo < 1:
            spans = ""
            if (dh, dw) != (1, 1):
                spans = f" (spanning {(kh - 1) * dh + 1}x{(kw - 1) * dw + 1} with dilation)"
            raise ShapeError(
                f"kernel {kh}x{kw}{spans} does not fit in {h}x{w} input with "
                f"{padding_text(self.padding)}",
                "use padding='same' or a smaller kernel_size",
            )
        return c, ho, wo

    def compute_output_shape(self, input_shape):
        _, ho, wo = self._geometry(input_shape)
        return (self.filters, ho, wo)

    def weight_specs(self, input_shape):
        c, _, _ = self._geometry(input_shape)
        kh, kw = self.kernel_size
        specs = [
            WeightSpec(
                "kernel",
                (self.filters, c // self.groups, kh, kw),
                self.kernel_initializer,
                # Keras's fans for convolutions: the receptive field times the channels.
                fan_in=c // self.groups * kh * kw,
                fan_out=self.filters * kh * kw,
            )
        ]
        if self.use_bias:
            specs.append(WeightSpec("bias", (self.filters,), "zeros"))
        return specs

    def flops(self, input_shape) -> int:
        c, ho, wo = self._geometry(input_shape)
        kh, kw = self.kernel_size
        positions = self.filters * ho * wo
        return positions * (2 * c // self.groups * kh * kw + (1 if self.use_bias else 0))

    def call(self, inputs, training=False):
        y = kernels_conv_groups.conv2d_grouped(
            inputs,
            self.kernel,
            self.bias if self.use_bias else None,
            strides=self.strides,
            padding=self.padding,
            dilation=self.dilation_rate,
            groups=self.groups,
            relu=self.activation == "relu",  # fused into the kernel: one pass fewer
        )
        if self.activation == "relu":
            return y
        return activations.get(self.activation)(y)
