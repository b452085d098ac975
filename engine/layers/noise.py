"""Noise layers: ``GaussianNoise`` (additive) and ``GaussianDropout`` (multiplicative), both
active only while training and the identity at inference (Keras's).

The noise is drawn on the host with numpy, from the layer's own stream when it has a
``seed`` and from the engine's shared one otherwise (as ``Dropout``), and moved to the
device once per call.
"""

from __future__ import annotations

import math

import numpy as np

from engine import backend
from engine.autodiff import ops
from engine.autodiff.tensor import Tensor
from engine.layers.base import Layer, register
from engine.layers.regularization import RATE, SEED, layer_generator
from engine.layers.schema import Param


def _normal(layer: Layer, inputs):
    """Standard normal noise of the inputs' shape and dtype, on the device."""
    # float32 draws are twice as fast, and float32 is the precision training uses.
    # The result is the caller's own fresh array (scaled in place): no cast copy in float32.
    draw = backend.asarray(layer_generator(layer).standard_normal(inputs.shape, dtype=np.float32))
    return draw if draw.dtype == inputs.dtype else backend.xp.astype(draw, inputs.dtype)


@register
class GaussianNoise(Layer):
    """Adds zero-mean normal noise of standard deviation ``stddev`` while training."""

    type_name = "GaussianNoise"
    supports_masking = True  # passes a sequence mask on (Keras)
    display_name = "Gaussian Noise"
    category = "Regularization"
    description = "During training, adds random normal noise (data augmentation for features)."
    params = (
        Param(
            "stddev",
            "float",
            default=0.1,
            min=0.0,
            required=True,
            help="Standard deviation of the added noise",
        ),
        SEED,
    )
    uses_training_flag = True
    examples = (
        {"config": {"stddev": 0.1}, "input_shape": (6,)},
        {"config": {"stddev": 0.5}, "input_shape": (2, 3, 3)},
    )

    def flops(self, input_shape) -> int:
        return math.prod(input_shape)

    def call(self, inputs, training=False):
        if not training or self.stddev == 0.0:
            return inputs
        inputs = ops.as_tensor(inputs)
        noise = _normal(self, inputs)
        noise *= self.stddev
        noise += inputs.data  # the output is the noise array itself: no third array
        return Tensor.from_op(noise, (inputs,), lambda g: (g,))


@register
class GaussianDropout(Layer):
    """Multiplies by normal noise of mean 1 and standard deviation
    ``sqrt(rate / (1 - rate))`` while training (the variance of inverted dropout)."""

    type_name = "GaussianDropout"
    supports_masking = True  # passes a sequence mask on (Keras)
    display_name = "Gaussian Dropout"
    category = "Regularization"
    description = "During training, multiplies by random normal noise centred on 1."
    params = (RATE, SEED)
    uses_training_flag = True
    examples = (
        {"config": {"rate": 0.5}, "input_shape": (6,)},
        {"config": {"rate": 0.2}, "input_shape": (3, 2, 2)},
    )

    def flops(self, input_shape) -> int:
        return math.prod(input_shape)

    def call(self, inputs, training=False):
        if not training or self.rate == 0.0:
            return inputs
        stddev = math.sqrt(self.rate / (1.0 - self.rate))
        noise = _normal(self, inputs)
        noise *= stddev
        noise += 1.0
        return ops.dropout_mask_mul(inputs, noise)
