"""``Dropout``: randomly silence activations while training, do nothing at inference.

The mask is drawn on the host with numpy and moved to the device with ``backend.asarray``,
so CPU and GPU runs draw the same masks. Without a ``seed`` the mask comes from the engine's
shared generator (:func:`engine.random.generator`), which ``engine.set_random_seed``
resets; with a ``seed`` the layer owns its own stream, as in Keras, so its masks do not
depend on what else draws random numbers.
"""

from __future__ import annotations

import numpy as np

from engine import backend, random
from engine.autodiff import ops
from engine.layers.base import Layer, register
from engine.layers.schema import Param


@register
class Dropout(Layer):
    """Zeroes a fraction ``rate`` of the inputs during training and scales the rest by
    ``1 / (1 - rate)`` (inverted dropout), so inference needs no rescaling."""

    type_name = "Dropout"
    display_name = "Dropout"
    category = "Regularization"
    description = "During training, zeroes a random fraction of values; identity otherwise."
    params = (
        Param(
            "rate",
            "float",
            default=0.5,
            min=0.0,
            max=1.0,
            max_exclusive=True,
            required=True,
            help="Fraction of the inputs to drop while training (0 keeps everything)",
        ),
        Param(
            "seed",
            "int",
            default=None,
            nullable=True,
            min=0,
            help="Seed of this layer's own random stream (empty: the engine's shared one)",
        ),
    )
    uses_training_flag = True

    examples = (
        {"config": {"rate": 0.5}, "input_shape": (6,)},
        {"config": {"rate": 0.25}, "input_shape": (2, 3, 3)},
        {"config": {"rate": 0.0}, "input_shape": (3, 2)},
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._rng = None if self.seed is None else np.random.default_rng(self.seed)

    def call(self, inputs, training=False):
        if not training or self.rate == 0.0:
            return inputs
        keep = 1.0 - self.rate
        rng = self._rng if self._rng is not None else random.generator()
        kept = rng.random(inputs.shape) < keep
        # Booleans cross to the device (one byte a value) and become the input's dtype there.
        mask = backend.xp.astype(backend.asarray(kept), inputs.dtype) * (1.0 / keep)
        return ops.dropout_mask_mul(inputs, mask)
