"""Parameters and input checks shared by the convolution, pooling and resampling families.

``padding`` of the 2-D window layers (Conv2D, MaxPooling2D, AveragePooling2D, ...) is
``"valid"``, ``"same"`` (Keras's) or explicit zero padding, beyond Keras: an int ``p`` (every
side), a pair ``(p, q)`` (``p`` rows at the top and bottom, ``q`` columns left and right) or
``((top, bottom), (left, right))``. Explicit padding is stored in the last, canonical form.
It lets a PyTorch ``Conv2d(padding=1, stride=2)`` (pads that match neither "valid" nor
"same") be imported as one layer. Keras itself writes such a layer as ``ZeroPadding2D``
followed by a "valid" convolution.

Sequences are ``(N, T, F)``: time steps on axis 1, features (the channels of a 1-D
convolution or pooling) on axis 2, as Keras's default ``data_format="channels_last"`` for
1-D layers and as ``Embedding`` / ``LSTM`` produce them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engine.layers.base import ShapeError
from engine.layers.schema import Param, ParameterError

KERNEL_INITIALIZERS = (
    "glorot_uniform",
    "glorot_normal",
    "he_uniform",
    "he_normal",
    "random_normal",
    "random_uniform",
    "zeros",
    "ones",
)

MAX_PAD = 1024


def _int(value: Any, fail) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise fail
    if isinstance(value, float) and not value.is_integer():
        raise fail
    value = int(value)
    if not 0 <= value <= MAX_PAD:
        raise fail
    return value


def explicit_padding(value: Any, layer_type: str, name: str = "padding", choices=()):
    """``p``, ``(p, q)`` or ``((top, bottom), (left, right))`` -> the canonical nested tuple,
    or a ParameterError that says which forms are allowed."""
    names = "".join(f"'{c}', " for c in choices)
    fail = ParameterError(
        layer_type,
        name,
        f"{value!r} is not allowed; use {names}an integer, [rows, columns] or "
        f"[[top, bottom], [left, right]] (0 to {MAX_PAD})",
    )
    if isinstance(value, int | float) and not isinstance(value, bool):
        p = _int(value, fail)
        return (p, p), (p, p)
    if not isinstance(value, list | tuple) or len(value) != 2:
        raise fail
    if all(isinstance(v, list | tuple) for v in value):
        if any(len(v) != 2 for v in value):
            raise fail
        (top, bottom), (left, right) = value
        return (_int(top, fail), _int(bottom, fail)), (_int(left, fail), _int(right, fail))
    rows, cols = (_int(v, fail) for v in value)
    return (rows, rows), (cols, cols)


@dataclass(frozen=True)
class PaddingParam(Param):
    """``padding``: one of ``choices`` or explicit 2-D zero padding (schema kind
    ``"padding"``; the inspector offers the choices and accepts typed numbers)."""

    def coerce(self, layer_type: str, value: Any) -> Any:
        choices = self.choices or ()
        if isinstance(value, str) and value in choices:
            return value
        if value is None:
            raise ParameterError(layer_type, self.name, "a value is required")
        return explicit_padding(value, layer_type, self.name, choices)

    def to_json(self) -> dict:
        data = super().to_json()
        if isinstance(self.default, tuple):
            data["default"] = [list(p) for p in self.default]
        return data


PADDING_PARAM = PaddingParam(
    "padding",
    "padding",
    default="valid",
    choices=("valid", "same"),
    help="valid: no padding; same: zero-pad so that the output is ceil(input / stride); "
    "or explicit zeros: p, [rows, cols] or [[top, bottom], [left, right]]",
)

PADDING_1D_PARAM = Param(
    "padding",
    "choice",
    default="valid",
    choices=("valid", "same", "causal"),
    help="valid: no padding; same: output length ceil(steps / stride); causal: pad only the "
    "past, so step t never sees later steps",
)

POOL_PADDING_1D_PARAM = Param(
    "padding",
    "choice",
    default="valid",
    choices=("valid", "same"),
    help="valid: no padding; same: output length ceil(steps / stride)",
)


def filters_param(help_text: str = "Number of output channels (feature maps)") -> Param:
    return Param("filters", "int", default=32, min=1, max=65536, required=True, help=help_text)


def window_param(name: str, length: int, default, help_text: str, **extra) -> Param:
    """An ``int_tuple`` of ``length`` values between 1 and 1024 (kernel_size, strides...)."""
    return Param(
        name, "int_tuple", default=default, length=length, min=1, max=1024, help=help_text, **extra
    )


def groups_param() -> Param:
    return Param(
        "groups",
        "int",
        default=1,
        min=1,
        max=65536,
        help="Split channels into this many independent groups (input channels and filters "
        "must both be multiples of it)",
    )


def initializer_param(name: str = "kernel_initializer", what: str = "kernel") -> Param:
    return Param(
        name,
        "choice",
        default="glorot_uniform",
        choices=KERNEL_INITIALIZERS,
        help=f"How the {what}'s first values are drawn",
    )


def check_image_shape(type_name: str, input_shape) -> tuple[int, int, int]:
    """The ``(C, H, W)`` of an image input, or a ShapeError that says how to get one."""
    if len(input_shape) != 3:
        raise ShapeError(
            f"{type_name} expects an image (channels, height, width), got {tuple(input_shape)}",
            "insert Reshape",
        )
    c, h, w = input_shape
    return c, h, w


def check_sequence_shape(type_name: str, input_shape) -> tuple[int, int]:
    """The ``(steps, features)`` of a sequence input, or a ShapeError with the fix."""
    if len(input_shape) != 2:
        fix = (
            "use the 2-D layer on images, or Reshape to (steps, features)"
            if len(input_shape) == 3
            else "insert Reshape to (steps, features) or use Embedding before it"
        )
        raise ShapeError(
            f"{type_name} expects a sequence (steps, features), got {tuple(input_shape)}", fix
        )
    t, f = input_shape
    return t, f


def padding_text(padding) -> str:
    """How a padding value reads in an error message."""
    if isinstance(padding, str):
        return f"padding='{padding}'"
    (top, bottom), (left, right) = padding
    return f"padding top={top}, bottom={bottom}, left={left}, right={right}"
