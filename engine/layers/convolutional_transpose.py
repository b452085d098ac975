"""``Conv2DTranspose`` (``keras.layers.Conv2DTranspose``), channels-first: the transpose of a
convolution, upsampling an image ``(C, H, W) -> (filters, H', W')`` (decoders, GANs, U-Nets).

Weights (``get_weights`` order): ``kernel`` ``(in_channels, filters, kh, kw)`` - the ONNX
``ConvTranspose`` / PyTorch layout, not Keras's ``(kh, kw, filters, in_channels)`` - then
``bias`` ``(filters,)``. A constraint's ``axis`` is read in Keras's layout.

Output size per axis, as Keras (``k`` the dilated kernel extent ``(kernel - 1) * dilation +
1``, ``s`` the stride):

- ``output_padding=None``: ``valid`` gives ``H * s + max(k - s, 0)``, ``same`` ``H * s``;
- with ``output_padding=p``: ``(H - 1) * s + k - 2 * pad + p``, ``pad = k // 2`` for
  ``same`` and 0 for ``valid``;

and the kept rows are those of the gradient of a convolution with that padding on the
output (TensorFlow's rule: with ``same``, ``total // 2`` rows are dropped at the top, the
odd one at the bottom). ``padding`` may also be explicit ``((top, bottom), (left, right))``,
beyond Keras: ONNX's ``pads`` (and PyTorch's ``padding``), rows dropped from the full result
at each side, ``output_padding`` then adding zero rows at the bottom/right. PyTorch's
``ConvTranspose2d(3, stride=2, padding=1, output_padding=1)`` drops its odd row at the top,
not the bottom, so it imports with explicit padding.
"""

from __future__ import annotations

from engine import activations
from engine.autodiff import kernels_conv_transpose
from engine.layers.base import Layer, ShapeError, WeightSpec, register
from engine.layers.conv_params import (
    PADDING_PARAM,
    check_image_shape,
    filters_param,
    initializer_param,
    window_param,
)
from engine.layers.core import ACTIVATION_PARAM
from engine.layers.schema import Param, ParameterError, penalty_map, penalty_params


def transpose_crop(
    size: int, k: int, s: int, d: int, padding, output_padding: int | None
) -> tuple[int, int]:
    """``(begin, length)`` of the kept rows of one axis (see the module docstring)."""
    span = (k - 1) * d + 1
    full = kernels_conv_transpose.full_length(size, k, s, d)
    if not isinstance(padding, str):
        before, after = padding
        return before, full - before - after + (output_padding or 0)
    if output_padding is None:
        length = size * s + max(span - s, 0) if padding == "valid" else size * s
    else:
        pad = span // 2 if padding == "same" else 0
        length = (size - 1) * s + span - 2 * pad + output_padding
    if padding == "valid":
        return 0, length
    return max(full - length, 0) // 2, length


@register
class Conv2DTranspose(Layer):
    """Transposed 2-D convolution (a learned upsampling) over channels-first images.

    Weights: ``kernel`` ``(in_channels, filters, kh, kw)``, then ``bias`` ``(filters,)``.
    """

    type_name = "Conv2DTranspose"
    display_name = "Conv2DTranspose"
    category = "Convolution"
    description = "Transposed convolution: learned upsampling of an image (decoders, GANs)."
    params = (
        filters_param(),
        window_param("kernel_size", 2, (3, 3), "Height and width of each filter", required=True),
        window_param("strides", 2, (1, 1), "Upsampling step (rows, columns)"),
        PADDING_PARAM,
        Param(
            "output_padding",
            "int_tuple",
            default=None,
            length=2,
            min=0,
            max=1024,
            nullable=True,
            help="Extra rows/columns at the bottom/right (less than strides); empty = "
            "Keras's default size",
        ),
        window_param("dilation_rate", 2, (1, 1), "Spacing between filter taps"),
        ACTIVATION_PARAM,
        Param("use_bias", "bool", default=True, help="Add a learned bias to each filter"),
        initializer_param(),
        *penalty_params(("kernel", "bias")),
    )
    weight_penalties = penalty_map(("kernel", "bias"))
    # Keras's kernel is (kh, kw, filters, in), the engine's (in, filters, kh, kw).
    weight_layouts = {"kernel": (2, 3, 1, 0)}
    weight_ranks = {"kernel": 4, "bias": 1}

    examples = (
        {"config": {"filters": 2, "kernel_size": 3, "strides": 2}, "input_shape": (2, 3, 3)},
        {
            "config": {"filters": 3, "kernel_size": 3, "strides": 2, "padding": "same"},
            "input_shape": (2, 3, 4),
        },
        {
            "config": {"filters": 2, "kernel_size": (2, 3), "strides": (2, 1), "use_bias": False},
            "input_shape": (1, 3, 3),
        },
        {
            "config": {
                "filters": 2,
                "kernel_size": 3,
                "strides": 2,
                "padding": 1,
                "output_padding": 1,
                "activation": "relu",
            },
            "input_shape": (2, 3, 3),
        },
        {
            "config": {
                "filters": 2,
                "kernel_size": 3,
                "strides": 2,
                "padding": "same",
                "output_padding": (0, 1),
                "dilation_rate": 1,
            },
            "input_shape": (1, 3, 2),
        },
        {
            "config": {"filters": 1, "kernel_size": 2, "dilation_rate": 2, "activation": "tanh"},
            "input_shape": (2, 3, 3),
        },
    )

    def validate_config(self) -> None:
        if self.output_padding is None:
            return
        for p, s, d in zip(self.output_padding, self.strides, self.dilation_rate, strict=True):
            if p >= max(s, d):
                raise ParameterError(
                    self.type_name,
                    "output_padding",
                    f"{p} must be smaller than the stride or the dilation ({max(s, d)})",
                )

    def crops(self, spatial) -> tuple[tuple[int, int], tuple[int, int]]:
        """``((begin, length), (begin, length))`` of the kept rows and columns."""
        padding = self.padding if isinstance(self.padding, str) else None
        result = []
        for axis in range(2):
            side = padding or self.padding[axis]
            op = None if self.output_padding is None else self.output_padding[axis]
            result.append(
                transpose_crop(
                    spatial[axis],
                    self.kernel_size[axis],
                    self.strides[axis],
                    self.dilation_rate[axis],
                    side,
                    op,
                )
            )
        return result[0], result[1]

    def compute_output_shape(self, input_shape):
        _, h, w = check_image_shape(self.type_name, input_shape)
        (_, ho), (_, wo) = self.crops((h, w))
        if ho < 1 or wo < 1:
            raise ShapeError(
                f"padding {self.padding} removes all of the {h}x{w} input's upsampled rows "
                "or columns",
                "use less padding",
            )
        return (self.filters, ho, wo)

    def weight_specs(self, input_shape):
        c, _, _ = check_image_shape(self.type_name, input_shape)
        kh, kw = self.kernel_size
        specs = [
            WeightSpec(
                "kernel",
                (c, self.filters, kh, kw),
                self.kernel_initializer,
                # Keras's fans for its (kh, kw, filters, in) kernel.
                fan_in=self.filters * kh * kw,
                fan_out=c * kh * kw,
            )
        ]
        if self.use_bias:
            specs.append(WeightSpec("bias", (self.filters,), "zeros"))
        return specs

    def flops(self, input_shape) -> int:
        c, h, w = check_image_shape(self.type_name, input_shape)
        _, ho, wo = self.compute_output_shape(input_shape)
        kh, kw = self.kernel_size
        bias = self.filters * ho * wo if self.use_bias else 0
        return 2 * c * h * w * self.filters * kh * kw + bias

    def call(self, inputs, training=False):
        y = kernels_conv_transpose.conv2d_transpose(
            inputs,
            self.kernel,
            self.bias if self.use_bias else None,
            strides=self.strides,
            dilation=self.dilation_rate,
            crop=self.crops(inputs.shape[2:]),
        )
        return activations.get(self.activation)(y)
