"""Layers that resize channels-first images: ``ZeroPadding2D``, ``Cropping2D`` and
``UpSampling2D`` (Keras's names, arguments and defaults; images are ``(C, H, W)``).

None has weights. ``padding`` / ``cropping`` take Keras's three forms: an int (all four
sides), ``(rows, cols)`` (symmetric) or ``((top, bottom), (left, right))``, stored in the
last form. ``UpSampling2D`` repeats rows and columns (``interpolation="nearest"``) or
interpolates bilinearly with half-pixel centres (``"bilinear"``, as Keras / TensorFlow's
resize, PyTorch's ``F.interpolate(align_corners=False)`` and ONNX ``Resize`` half_pixel).
"""

from __future__ import annotations

from engine.autodiff import kernels_resample
from engine.layers.base import Layer, ShapeError, register
from engine.layers.conv_params import PaddingParam, check_image_shape, window_param
from engine.layers.schema import Param


@register
class ZeroPadding2D(Layer):
    """Adds rows and columns of zeros around each channel: ``(C, H, W) -> (C, H + top +
    bottom, W + left + right)``. No weights."""

    type_name = "ZeroPadding2D"
    display_name = "ZeroPadding2D"
    category = "Reshaping"
    description = "Adds rows and columns of zeros around every channel of an image."
    params = (
        PaddingParam(
            "padding",
            "padding",
            default=((1, 1), (1, 1)),
            help="Zeros to add: p (every side), [rows, cols] or [[top, bottom], [left, right]]",
        ),
    )
    examples = (
        {"config": {}, "input_shape": (2, 3, 4)},
        {"config": {"padding": ((0, 2), (1, 0))}, "input_shape": (1, 3, 3)},
        {"config": {"padding": (2, 0)}, "input_shape": (3, 2, 2)},
    )

    def compute_output_shape(self, input_shape):
        c, h, w = check_image_shape(self.type_name, input_shape)
        (top, bottom), (left, right) = self.padding
        return (c, h + top + bottom, w + left + right)

    def call(self, inputs, training=False):
        return kernels_resample.zero_pad2d(inputs, self.padding)


@register
class Cropping2D(Layer):
    """Removes rows and columns at the borders of each channel: ``(C, H, W) -> (C, H - top -
    bottom, W - left - right)``. No weights."""

    type_name = "Cropping2D"
    display_name = "Cropping2D"
    category = "Reshaping"
    description = "Cuts rows and columns off the borders of every channel of an image."
    params = (
        PaddingParam(
            "cropping",
            "padding",
            default=((0, 0), (0, 0)),
            help="What to cut: p (every side), [rows, cols] or [[top, bottom], [left, right]]",
        ),
    )
    examples = (
        {"config": {"cropping": 1}, "input_shape": (2, 4, 5)},
        {"config": {"cropping": ((0, 2), (1, 0))}, "input_shape": (1, 4, 3)},
        {"config": {}, "input_shape": (2, 2, 2)},
    )

    def compute_output_shape(self, input_shape):
        c, h, w = check_image_shape(self.type_name, input_shape)
        (top, bottom), (left, right) = self.cropping
        ho, wo = h - top - bottom, w - left - right
        if ho < 1 or wo < 1:
            raise ShapeError(
                f"cropping {top}+{bottom} rows and {left}+{right} columns leaves nothing of "
                f"a {h}x{w} image",
                "crop less, or crop a larger image",
            )
        return (c, ho, wo)

    def call(self, inputs, training=False):
        return kernels_resample.crop2d(inputs, self.cropping)


@register
class UpSampling2D(Layer):
    """Enlarges each channel ``size`` times: ``(C, H, W) -> (C, H * sh, W * sw)``. No
    weights. ``nearest`` repeats each pixel; ``bilinear`` interpolates (half-pixel
    centres, border pixels repeated), as Keras does."""

    type_name = "UpSampling2D"
    display_name = "UpSampling2D"
    category = "Reshaping"
    description = "Enlarges an image by repeating (nearest) or interpolating (bilinear) pixels."
    params = (
        window_param("size", 2, (2, 2), "Upsampling factors for rows and columns"),
        Param(
            "interpolation",
            "choice",
            default="nearest",
            choices=("nearest", "bilinear"),
            help="nearest: repeat pixels; bilinear: interpolate between neighbours",
        ),
    )
    examples = (
        {"config": {}, "input_shape": (2, 3, 4)},
        {"config": {"size": (1, 3), "interpolation": "bilinear"}, "input_shape": (1, 3, 4)},
        {"config": {"size": 2, "interpolation": "bilinear"}, "input_shape": (2, 4, 3)},
        {"config": {"size": (3, 1)}, "input_shape": (1, 2, 2)},
    )

    def compute_output_shape(self, input_shape):
        c, h, w = check_image_shape(self.type_name, input_shape)
        return (c, h * self.size[0], w * self.size[1])

    def flops(self, input_shape) -> int:
        c, ho, wo = self.compute_output_shape(input_shape)
        # Bilinear: a two-pixel blend (two multiplies, one add) per value, along the
        # columns and then the rows; nearest only copies.
        if self.interpolation == "bilinear":
            h = input_shape[1]
            return 3 * c * (h * wo + ho * wo)
        return 0

    def call(self, inputs, training=False):
        if self.interpolation == "bilinear":
            return kernels_resample.upsample_bilinear(inputs, self.size)
        return kernels_resample.upsample_nearest(inputs, self.size)
