"""Pooling along the steps of sequences ``(steps, features)``: ``MaxPooling1D``,
``AveragePooling1D``, ``GlobalAveragePooling1D`` and ``GlobalMaxPooling1D`` (Keras's names,
arguments and defaults, ``data_format="channels_last"``: the steps axis is pooled, each
feature separately, as ``Conv1D`` and ``Embedding`` lay sequences out).

None has weights. ``padding="same"`` gives ``ceil(steps / stride)`` outputs with the odd
padding step at the end; padding never counts (max ignores it, the average divides by the
real steps in each window), as in Keras. Max pooling runs on the 2-D kernel through a free
``(N, 1, T, F)`` view - a ``(pool_size, 1)`` window - so nothing is transposed; average
pooling has its own 1-D kernel (:mod:`engine.autodiff.kernels_pool1d`).
"""

from __future__ import annotations

from engine.autodiff import kernels_conv, kernels_pool1d, ops
from engine.autodiff.kernels_sequence import masked_mean
from engine.layers.base import Layer, ShapeError, register
from engine.layers.conv_params import POOL_PADDING_1D_PARAM, check_sequence_shape, window_param
from engine.layers.schema import Param

_WINDOW_EXAMPLES = (
    {"config": {}, "input_shape": (6, 3)},
    {"config": {"pool_size": 3, "strides": 2, "padding": "same"}, "input_shape": (7, 2)},
    {"config": {"pool_size": 2, "strides": 1}, "input_shape": (5, 2)},
)

_GLOBAL_EXAMPLES = (
    {"config": {}, "input_shape": (5, 3)},
    {"config": {"keepdims": True}, "input_shape": (4, 2)},
)


class _WindowPooling1D(Layer):
    """What max and average 1-D pooling share: parameters, shapes and errors."""

    category = "Pooling"
    params = (
        window_param("pool_size", 1, (2,), "Length of the pooling window, in steps"),
        window_param("strides", 1, None, "Step between windows; empty = pool_size", nullable=True),
        POOL_PADDING_1D_PARAM,
    )
    examples = _WINDOW_EXAMPLES

    @property
    def window_strides(self) -> tuple[int]:
        return tuple(self.pool_size if self.strides is None else self.strides)

    def compute_output_shape(self, input_shape):
        steps, features = check_sequence_shape(self.type_name, input_shape)
        k, s = self.pool_size[0], self.window_strides[0]
        pads = kernels_conv.same_padding(steps, k, s) if self.padding == "same" else (0, 0)
        out = kernels_conv.output_length(steps, k, s, *pads)
        if out < 1:
            raise ShapeError(
                f"pool_size {k} does not fit in {steps} steps with padding='valid'",
                "use padding='same' or a smaller pool_size",
            )
        return (out, features)

    def flops(self, input_shape) -> int:
        out, features = self.compute_output_shape(input_shape)
        return out * features * self.pool_size[0]

    def _pool(self, inputs, kernel):
        n, t, f = inputs.shape
        image = ops.reshape(inputs, (n, 1, t, f))
        y = kernel(image, (self.pool_size[0], 1), (self.window_strides[0], 1), self.padding)
        return ops.reshape(y, (n, y.shape[2], f))


@register
class MaxPooling1D(_WindowPooling1D):
    """Largest value of each ``pool_size`` window of steps, per feature. No weights."""

    type_name = "MaxPooling1D"
    display_name = "MaxPooling1D"
    description = "Downsamples a sequence by taking the maximum of every window of steps."

    def call(self, inputs, training=False):
        return self._pool(inputs, kernels_conv.max_pool2d)


@register
class AveragePooling1D(_WindowPooling1D):
    """Mean of each ``pool_size`` window of steps, per feature (padding excluded). No
    weights."""

    type_name = "AveragePooling1D"
    display_name = "AveragePooling1D"
    description = "Downsamples a sequence by averaging every window of steps."

    def call(self, inputs, training=False):
        k, s, steps = self.pool_size[0], self.window_strides[0], inputs.shape[1]
        pads = kernels_conv.same_padding(steps, k, s) if self.padding == "same" else (0, 0)
        return kernels_pool1d.avg_pool1d(inputs, k, s, pads)


class _GlobalPooling1D(Layer):
    """``(steps, features) -> (features,)`` (``(1, features)`` with keepdims)."""

    category = "Pooling"
    params = (
        Param(
            "keepdims",
            "bool",
            default=False,
            help="Keep the steps axis: output (1, features) instead of (features,)",
        ),
    )
    examples = _GLOBAL_EXAMPLES

    def compute_output_shape(self, input_shape):
        _, features = check_sequence_shape(self.type_name, input_shape)
        return (1, features) if self.keepdims else (features,)

    def flops(self, input_shape) -> int:
        steps, features = check_sequence_shape(self.type_name, input_shape)
        return steps * features


@register
class GlobalAveragePooling1D(_GlobalPooling1D):
    """Mean of each feature over all steps: ``(steps, features) -> (features,)``. No
    weights."""

    type_name = "GlobalAveragePooling1D"
    display_name = "GlobalAveragePooling1D"
    description = "Averages every feature over all steps of a sequence."
    consumes_mask = True  # with a padding mask, the mean of the real steps (Keras)

    def call(self, inputs, training=False, mask=None):
        if mask is not None:
            return masked_mean(inputs, mask, keepdims=self.keepdims)
        return ops.mean(inputs, axis=1, keepdims=self.keepdims)


@register
class GlobalMaxPooling1D(_GlobalPooling1D):
    """Maximum of each feature over all steps: ``(steps, features) -> (features,)``. No
    weights."""

    type_name = "GlobalMaxPooling1D"
    display_name = "GlobalMaxPooling1D"
    description = "Takes the maximum of every feature over all steps of a sequence."

    def call(self, inputs, training=False):
        return ops.max_(inputs, axis=1, keepdims=self.keepdims)
