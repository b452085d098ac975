"""Regularization layers: ``Dropout``, ``SpatialDropout1D`` / ``SpatialDropout2D`` (whole
channels) and ``ActivityRegularization``. All are the identity at inference.

The mask is drawn on the host with numpy and moved to the device with ``backend.asarray``,
so CPU and GPU runs draw the same masks. Without a ``seed`` the mask comes from the engine's
shared generator (:func:`engine.random.generator`), which ``engine.set_random_seed``
resets; with a ``seed`` the layer owns its own stream, as in Keras, so its masks do not
depend on what else draws random numbers.
"""

from __future__ import annotations

import numpy as np

from engine import backend, random, regularizers
from engine.autodiff import ops
from engine.layers.base import Layer, ShapeError, register
from engine.layers.schema import Param

RATE = Param(
    "rate",
    "float",
    default=0.5,
    min=0.0,
    max=1.0,
    max_exclusive=True,
    required=True,
    help="Fraction of the inputs to drop while training (0 keeps everything)",
)
SEED = Param(
    "seed",
    "int",
    default=None,
    nullable=True,
    min=0,
    help="Seed of this layer's own random stream (empty: the engine's shared one)",
)


def layer_generator(layer: Layer) -> np.random.Generator:
    """The layer's own stream (it has a ``seed``) or the engine's shared one."""
    if layer.seed is None:
        return random.generator()
    if getattr(layer, "_rng", None) is None:
        layer._rng = np.random.default_rng(layer.seed)
    return layer._rng


def dropout(layer: Layer, inputs, rate: float, mask_shape):
    """Inverted dropout with one draw per entry of ``mask_shape`` (broadcast over the
    rest): kept values are scaled by ``1 / (1 - rate)``."""
    keep = 1.0 - rate
    kept = layer_generator(layer).random(mask_shape) < keep
    # Booleans cross to the device (one byte a value) and become the input's dtype there.
    mask = backend.xp.astype(backend.asarray(kept), inputs.dtype) * (1.0 / keep)
    # A smaller mask broadcasts in the product and in its gradient alike.
    return ops.dropout_mask_mul(inputs, mask)


@register
class Dropout(Layer):
    """Zeroes a fraction ``rate`` of the inputs during training and scales the rest by
    ``1 / (1 - rate)`` (inverted dropout), so inference needs no rescaling."""

    type_name = "Dropout"
    supports_masking = True  # passes a sequence mask on (Keras)
    display_name = "Dropout"
    category = "Regularization"
    description = "During training, zeroes a random fraction of values; identity otherwise."
    params = (RATE, SEED)
    uses_training_flag = True

    examples = (
        {"config": {"rate": 0.5}, "input_shape": (6,)},
        {"config": {"rate": 0.25}, "input_shape": (2, 3, 3)},
        {"config": {"rate": 0.0}, "input_shape": (3, 2)},
    )

    def call(self, inputs, training=False):
        if not training or self.rate == 0.0:
            return inputs
        return dropout(self, inputs, self.rate, inputs.shape)


class _SpatialDropout(Layer):
    """Drops whole channels: one draw per (sample, channel), shared along the other axes."""

    category = "Regularization"
    params = (RATE, SEED)
    uses_training_flag = True
    rank = 0  # per-sample rank expected
    channel_axis = 0  # per-sample axis of the channels

    def compute_output_shape(self, input_shape):
        if len(input_shape) != self.rank:
            layout = "(steps, features)" if self.rank == 2 else "(channels, height, width)"
            raise ShapeError(
                f"{self.type_name} expects inputs of shape {layout}, got {tuple(input_shape)}",
                "use Dropout for other shapes, or Reshape the input",
            )
        return tuple(input_shape)

    def call(self, inputs, training=False):
        self.compute_output_shape(inputs.shape[1:])
        if not training or self.rate == 0.0:
            return inputs
        mask_shape = [1] * inputs.ndim
        mask_shape[0] = inputs.shape[0]
        mask_shape[self.channel_axis + 1] = inputs.shape[self.channel_axis + 1]
        return dropout(self, inputs, self.rate, tuple(mask_shape))


@register
class SpatialDropout1D(_SpatialDropout):
    """Dropout of whole feature channels of a sequence ``(steps, features)``: a dropped
    feature is zero at every step (Keras's ``SpatialDropout1D``)."""

    type_name = "SpatialDropout1D"
    supports_masking = True  # passes a sequence mask on (Keras)
    display_name = "Spatial Dropout 1D"
    description = "During training, drops whole features of a sequence at every step."
    rank = 2
    channel_axis = 1
    examples = (
        {"config": {"rate": 0.5}, "input_shape": (4, 3)},
        {"config": {"rate": 0.2}, "input_shape": (2, 5)},
    )


@register
class SpatialDropout2D(_SpatialDropout):
    """Dropout of whole feature maps of a channels-first image ``(C, H, W)``: a dropped
    channel is zero everywhere (Keras's ``SpatialDropout2D`` with
    ``data_format="channels_first"``)."""

    type_name = "SpatialDropout2D"
    display_name = "Spatial Dropout 2D"
    description = "During training, drops whole channels (feature maps) of an image."
    rank = 3
    channel_axis = 0
    examples = (
        {"config": {"rate": 0.5}, "input_shape": (4, 3, 3)},
        {"config": {"rate": 0.25}, "input_shape": (3, 2, 4)},
    )


@register
class ActivityRegularization(Layer):
    """The identity, adding ``l1 * sum(|x|) + l2 * sum(x ** 2)`` of its output (divided by
    the batch size, like every activity penalty here) to the model's losses."""

    type_name = "ActivityRegularization"
    display_name = "Activity Regularization"
    category = "Regularization"
    description = "Passes data through unchanged; penalises large activations in the loss."
    params = (
        Param("l1", "float", default=0.0, min=0.0, help="Weight of the sum of absolute values"),
        Param("l2", "float", default=0.0, min=0.0, help="Weight of the sum of squares"),
    )
    examples = (
        {"config": {"l1": 0.01}, "input_shape": (5,)},
        {"config": {"l1": 0.01, "l2": 0.02}, "input_shape": (2, 3)},
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        penalised = self.l1 or self.l2
        self.activity_regularizer = regularizers.L1L2(self.l1, self.l2) if penalised else None

    def call(self, inputs, training=False):
        return inputs
