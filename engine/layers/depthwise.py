"""Depthwise and depthwise-separable convolution over channels-first images:
``DepthwiseConv2D`` and ``SeparableConv2D`` (Keras's names, arguments and defaults).

``DepthwiseConv2D`` convolves every input channel with its own ``depth_multiplier``
filters: ``(C, H, W) -> (C * depth_multiplier, H', W')``, output channel ``c * M + m``
coming from input channel ``c`` (Keras's and ONNX's order). Weights: ``depthwise_kernel``
``(C, depth_multiplier, kh, kw)`` (Keras: ``(kh, kw, C, depth_multiplier)``; seen as ONNX's
``Conv`` kernel ``(C * M, 1, kh, kw)`` with ``group = C``), then ``bias`` ``(C * M,)``.

``SeparableConv2D`` is that depthwise step (no bias) followed by a 1x1 convolution mixing the
channels: weights ``depthwise_kernel`` ``(C, M, kh, kw)``, ``pointwise_kernel``
``(filters, C * M, 1, 1)`` (Keras: ``(1, 1, C * M, filters)``), then ``bias``
``(filters,)``.

Both run on :func:`engine.autodiff.kernels_conv_groups.depthwise_conv2d`, which picks per
shape between the direct kernel (:mod:`engine.autodiff.kernels_depthwise`: one vectorised
multiply-add per kernel tap) and im2col with one batched GEMM over the channels - never a
Python loop over channels or samples. ``padding`` takes ``valid``, ``same`` or explicit pads
as ``Conv2D`` does.
"""

from __future__ import annotations

from engine import activations
from engine.autodiff import kernels_conv, kernels_conv_groups
from engine.layers.base import Layer, ShapeError, WeightSpec, register
from engine.layers.conv_params import (
    PADDING_PARAM,
    check_image_shape,
    filters_param,
    initializer_param,
    padding_text,
    window_param,
)
from engine.layers.core import ACTIVATION_PARAM
from engine.layers.schema import Param, penalty_params

DEPTH_MULTIPLIER = Param(
    "depth_multiplier",
    "int",
    default=1,
    min=1,
    max=4096,
    help="Filters per input channel (output channels = channels x depth_multiplier)",
)


class _Depthwise(Layer):
    """Shape inference and the depthwise step shared by both types."""

    category = "Convolution"

    def explicit_pads(self, spatial) -> kernels_conv.Pads:
        return kernels_conv.resolve_padding(
            self.padding, spatial, self.kernel_size, self.strides, self.dilation_rate
        )

    def _geometry(self, input_shape):
        c, h, w = check_image_shape(self.type_name, input_shape)
        (kh, kw), (sh, sw), (dh, dw) = self.kernel_size, self.strides, self.dilation_rate
        pads = self.explicit_pads((h, w))
        ho = kernels_conv.output_length(h, kh, sh, *pads[0], dh)
        wo = kernels_conv.output_length(w, kw, sw, *pads[1], dw)
        if ho < 1 or wo < 1:
            raise ShapeError(
                f"kernel {kh}x{kw} does not fit in {h}x{w} input with {padding_text(self.padding)}",
                "use padding='same' or a smaller kernel_size",
            )
        return c, ho, wo

    def _depthwise_spec(self, c: int) -> WeightSpec:
        kh, kw = self.kernel_size
        m = self.depth_multiplier
        # Keras's fans for its (kh, kw, C, M) kernel.
        return WeightSpec(
            "depthwise_kernel",
            (c, m, kh, kw),
            self.depthwise_initializer,
            fan_in=c * kh * kw,
            fan_out=m * kh * kw,
        )

    def _depthwise(self, inputs, bias=None, relu: bool = False):
        return kernels_conv_groups.depthwise_conv2d(
            inputs,
            self.depthwise_kernel,
            bias,
            strides=self.strides,
            padding=self.padding,
            dilation=self.dilation_rate,
            relu=relu,
        )


_WINDOW = (
    window_param("kernel_size", 2, (3, 3), "Height and width of each filter", required=True),
    window_param("strides", 2, (1, 1), "Step between filter positions (rows, columns)"),
    PADDING_PARAM,
)


@register
class DepthwiseConv2D(_Depthwise):
    """Convolves each channel separately with ``depth_multiplier`` filters of its own.

    Weights: ``depthwise_kernel`` ``(C, depth_multiplier, kh, kw)``, then ``bias``
    ``(C * depth_multiplier,)`` (absent when ``use_bias=False``).
    """

    type_name = "DepthwiseConv2D"
    display_name = "DepthwiseConv2D"
    description = "Convolves every channel separately (MobileNet's cheap spatial filtering)."
    params = (
        *_WINDOW,
        DEPTH_MULTIPLIER,
        window_param("dilation_rate", 2, (1, 1), "Spacing between filter taps"),
        ACTIVATION_PARAM,
        Param("use_bias", "bool", default=True, help="Add a learned bias to each output"),
        initializer_param("depthwise_initializer", "depthwise kernel"),
        *penalty_params(("depthwise", "bias")),
    )
    weight_penalties = {
        "depthwise_kernel": ("depthwise_regularizer", "depthwise_constraint"),
        "bias": ("bias_regularizer", "bias_constraint"),
    }
    weight_layouts = {"depthwise_kernel": (2, 3, 0, 1)}
    weight_ranks = {"depthwise_kernel": 4, "bias": 1}

    examples = (
        {"config": {"kernel_size": 3, "activation": "relu"}, "input_shape": (3, 5, 5)},
        {
            "config": {"kernel_size": 3, "strides": 2, "padding": "same", "depth_multiplier": 2},
            "input_shape": (2, 5, 6),
        },
        {
            "config": {"kernel_size": (2, 3), "padding": 1, "dilation_rate": (2, 1)},
            "input_shape": (2, 4, 4),
        },
        {"config": {"kernel_size": 1, "use_bias": False}, "input_shape": (4, 3, 3)},
    )

    def compute_output_shape(self, input_shape):
        c, ho, wo = self._geometry(input_shape)
        return (c * self.depth_multiplier, ho, wo)

    def weight_specs(self, input_shape):
        c, _, _ = self._geometry(input_shape)
        specs = [self._depthwise_spec(c)]
        if self.use_bias:
            specs.append(WeightSpec("bias", (c * self.depth_multiplier,), "zeros"))
        return specs

    def flops(self, input_shape) -> int:
        c, ho, wo = self._geometry(input_shape)
        kh, kw = self.kernel_size
        outputs = c * self.depth_multiplier * ho * wo
        return outputs * (2 * kh * kw + (1 if self.use_bias else 0))

    def call(self, inputs, training=False):
        relu = self.activation == "relu"
        y = self._depthwise(inputs, self.bias if self.use_bias else None, relu)
        return y if relu else activations.get(self.activation)(y)


@register
class SeparableConv2D(_Depthwise):
    """A depthwise convolution followed by a 1x1 convolution mixing the channels.

    Weights: ``depthwise_kernel`` ``(C, depth_multiplier, kh, kw)``, ``pointwise_kernel``
    ``(filters, C * depth_multiplier, 1, 1)``, then ``bias`` ``(filters,)``.
    """

    type_name = "SeparableConv2D"
    display_name = "SeparableConv2D"
    description = "Depthwise then 1x1 convolution: Conv2D's job with far fewer weights."
    params = (
        filters_param(),
        *_WINDOW,
        window_param("dilation_rate", 2, (1, 1), "Spacing between filter taps"),
        DEPTH_MULTIPLIER,
        ACTIVATION_PARAM,
        Param("use_bias", "bool", default=True, help="Add a learned bias to each filter"),
        initializer_param("depthwise_initializer", "depthwise kernel"),
        initializer_param("pointwise_initializer", "pointwise kernel"),
        *penalty_params(("depthwise", "pointwise", "bias")),
    )
    weight_penalties = {
        "depthwise_kernel": ("depthwise_regularizer", "depthwise_constraint"),
        "pointwise_kernel": ("pointwise_regularizer", "pointwise_constraint"),
        "bias": ("bias_regularizer", "bias_constraint"),
    }
    weight_layouts = {"depthwise_kernel": (2, 3, 0, 1), "pointwise_kernel": (2, 3, 1, 0)}
    weight_ranks = {"depthwise_kernel": 4, "pointwise_kernel": 4, "bias": 1}

    examples = (
        {
            "config": {"filters": 4, "kernel_size": 3, "activation": "relu"},
            "input_shape": (2, 5, 5),
        },
        {
            "config": {
                "filters": 3,
                "kernel_size": 3,
                "strides": 2,
                "padding": "same",
                "depth_multiplier": 2,
            },
            "input_shape": (2, 5, 4),
        },
        {
            "config": {"filters": 2, "kernel_size": 2, "use_bias": False, "padding": 1},
            "input_shape": (3, 3, 3),
        },
    )

    def compute_output_shape(self, input_shape):
        _, ho, wo = self._geometry(input_shape)
        return (self.filters, ho, wo)

    def weight_specs(self, input_shape):
        c, _, _ = self._geometry(input_shape)
        cm = c * self.depth_multiplier
        specs = [
            self._depthwise_spec(c),
            WeightSpec(
                "pointwise_kernel",
                (self.filters, cm, 1, 1),
                self.pointwise_initializer,
                fan_in=cm,
                fan_out=self.filters,
            ),
        ]
        if self.use_bias:
            specs.append(WeightSpec("bias", (self.filters,), "zeros"))
        return specs

    def flops(self, input_shape) -> int:
        c, ho, wo = self._geometry(input_shape)
        kh, kw = self.kernel_size
        cm = c * self.depth_multiplier
        depthwise = cm * ho * wo * 2 * kh * kw
        pointwise = self.filters * ho * wo * (2 * cm + (1 if self.use_bias else 0))
        return depthwise + pointwise

    def call(self, inputs, training=False):
        y = kernels_conv.conv2d(
            self._depthwise(inputs),
            self.pointwise_kernel,
            self.bias if self.use_bias else None,
            relu=self.activation == "relu",
        )
        return y if self.activation == "relu" else activations.get(self.activation)(y)
