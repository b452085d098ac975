"""Pooling layers on channels-first images: ``MaxPooling2D``, ``AveragePooling2D``,
``GlobalAveragePooling2D`` and ``GlobalMaxPooling2D`` (Keras's names and arguments).

None has weights. ``padding="same"`` follows Keras/TensorFlow: the output is
``ceil(size / stride)`` and the odd padding row/column goes at the bottom/right (ONNX
``auto_pad="SAME_UPPER"``). Padding never counts: max pooling ignores it, and
``AveragePooling2D`` divides each window's sum by the number of real (non-padding) elements
it covers, as Keras does (ONNX ``count_include_pad=0``). ``padding`` may also be explicit
(``1``, ``(1, 2)``, ``((top, bottom), (left, right))``, each side smaller than the window),
as PyTorch's ``MaxPool2d(padding=1)`` and ONNX ``pads``. The 1-D poolings are in
:mod:`engine.layers.pooling_1d`.

Max-pooling gradient on ties: the whole gradient of a window goes to one maximal element
(the topmost one in the leftmost column that holds the maximum); global max pooling gives
it to the first maximum in row-major order.
"""

from __future__ import annotations

from engine.autodiff import kernels_conv
from engine.layers.base import Layer, ShapeError, register
from engine.layers.conv_params import PADDING_PARAM, check_image_shape, padding_text
from engine.layers.schema import Param, ParameterError

_WINDOW_EXAMPLES = (
    {"config": {}, "input_shape": (2, 4, 4)},
    {"config": {"pool_size": 3, "strides": 2, "padding": "same"}, "input_shape": (2, 5, 6)},
    {"config": {"pool_size": (2, 3), "strides": 1}, "input_shape": (1, 4, 5)},
    {"config": {"pool_size": 2, "padding": "valid"}, "input_shape": (3, 5, 3)},
    {"config": {"pool_size": 3, "strides": 2, "padding": 1}, "input_shape": (2, 5, 6)},
    {"config": {"pool_size": (2, 3), "padding": ((1, 0), (0, 2))}, "input_shape": (1, 4, 5)},
)

_GLOBAL_EXAMPLES = (
    {"config": {}, "input_shape": (3, 4, 5)},
    {"config": {"keepdims": True}, "input_shape": (2, 3, 3)},
    {"config": {}, "input_shape": (4, 1, 1)},
)


class _WindowPooling2D(Layer):
    """What max and average pooling share: parameters, shapes and errors."""

    category = "Pooling"
    params = (
        Param(
            "pool_size",
            "int_tuple",
            default=(2, 2),
            length=2,
            min=1,
            max=1024,
            help="Height and width of the pooling window",
        ),
        Param(
            "strides",
            "int_tuple",
            default=None,
            length=2,
            min=1,
            max=1024,
            nullable=True,
            help="Step between windows (rows, columns); empty = pool_size",
        ),
        PADDING_PARAM,
    )
    examples = _WINDOW_EXAMPLES

    def validate_config(self) -> None:
        # A window made only of padding would have no value (max) or no count (average).
        if not isinstance(self.padding, str):
            for (before, after), size in zip(self.padding, self.pool_size, strict=True):
                if max(before, after) >= size:
                    raise ParameterError(
                        self.type_name,
                        "padding",
                        f"explicit padding {max(before, after)} must be smaller than the pool "
                        f"size {size} on every side",
                    )

    @property
    def window_strides(self) -> tuple[int, int]:
        """The strides in effect (Keras: ``strides=None`` means ``pool_size``)."""
        return tuple(self.pool_size if self.strides is None else self.strides)

    def explicit_pads(self, spatial) -> kernels_conv.Pads:
        """``((top, bottom), (left, right))`` padding for an input of ``(H, W)``."""
        return kernels_conv.resolve_padding(
            self.padding, spatial, self.pool_size, self.window_strides
        )

    def compute_output_shape(self, input_shape):
        c, h, w = check_image_shape(self.type_name, input_shape)
        (kh, kw), (sh, sw) = self.pool_size, self.window_strides
        pads = self.explicit_pads((h, w))
        ho = kernels_conv.output_length(h, kh, sh, *pads[0])
        wo = kernels_conv.output_length(w, kw, sw, *pads[1])
        if ho < 1 or wo < 1:
            raise ShapeError(
                f"pool {kh}x{kw} does not fit in {h}x{w} input with {padding_text(self.padding)}",
                "use padding='same' or a smaller pool_size",
            )
        return (c, ho, wo)

    def flops(self, input_shape) -> int:
        c, ho, wo = self.compute_output_shape(input_shape)
        return c * ho * wo * self.pool_size[0] * self.pool_size[1]


@register
class MaxPooling2D(_WindowPooling2D):
    """Keeps the largest value of each ``pool_size`` window of every channel.

    No weights. Ties send the gradient to one maximal element of the window (the topmost
    in the leftmost column that holds the maximum).
    """

    type_name = "MaxPooling2D"
    display_name = "MaxPooling2D"
    description = "Downsamples each channel by taking the maximum of every window."

    def call(self, inputs, training=False):
        return kernels_conv.max_pool2d(inputs, self.pool_size, self.window_strides, self.padding)


@register
class AveragePooling2D(_WindowPooling2D):
    """Averages each ``pool_size`` window of every channel.

    No weights. With ``padding="same"`` each window is divided by the number of real
    (non-padding) elements it covers, as in Keras (ONNX ``count_include_pad=0``).
    """

    type_name = "AveragePooling2D"
    display_name = "AveragePooling2D"
    description = "Downsamples each channel by averaging every window."

    def call(self, inputs, training=False):
        return kernels_conv.avg_pool2d(inputs, self.pool_size, self.window_strides, self.padding)


class _GlobalPooling2D(Layer):
    """What the global poolings share: ``(C, H, W) -> (C,)`` (``(C, 1, 1)`` with keepdims)."""

    category = "Pooling"
    params = (
        Param(
            "keepdims",
            "bool",
            default=False,
            help="Keep the pooled axes: output (channels, 1, 1) instead of (channels,)",
        ),
    )
    examples = _GLOBAL_EXAMPLES

    def compute_output_shape(self, input_shape):
        c, _, _ = check_image_shape(self.type_name, input_shape)
        return (c, 1, 1) if self.keepdims else (c,)

    def flops(self, input_shape) -> int:
        c, h, w = check_image_shape(self.type_name, input_shape)
        return c * h * w


@register
class GlobalAveragePooling2D(_GlobalPooling2D):
    """Averages each channel over the whole image: ``(C, H, W) -> (C,)``. No weights."""

    type_name = "GlobalAveragePooling2D"
    display_name = "GlobalAveragePooling2D"
    description = "Averages every channel over height and width (one value per channel)."

    def call(self, inputs, training=False):
        return kernels_conv.global_avg_pool2d(inputs, self.keepdims)


@register
class GlobalMaxPooling2D(_GlobalPooling2D):
    """Maximum of each channel over the whole image: ``(C, H, W) -> (C,)``. No weights.

    On ties the gradient goes to the first maximum in row-major order.
    """

    type_name = "GlobalMaxPooling2D"
    display_name = "GlobalMaxPooling2D"
    description = "Takes the maximum of every channel over height and width."

    def call(self, inputs, training=False):
        return kernels_conv.global_max_pool2d(inputs, self.keepdims)
