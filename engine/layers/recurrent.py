"""Recurrent layers: ``SimpleRNN``, ``LSTM`` and ``GRU`` (``keras.layers.*``), on fused kernels.

Each layer reads a sequence ``(T, F)`` per sample (batch ``(N, T, F)``) from a zero initial
state and returns the last hidden state ``(units,)``, or every step's ``(T, units)`` with
``return_sequences=True``. The whole sequence, forward and backward through time, is one
primitive of :mod:`engine.autodiff.kernels_rnn`. With a mask (``Embedding(mask_zero=True)``
upstream) masked steps carry the state over, as in Keras
(:mod:`engine.autodiff.kernels_rnn_masked`).

Weight layout (``get_weights`` order), exactly as in Keras; ``k`` gates per cell, each gate
a block of ``units`` consecutive columns:

- ``kernel`` ``(F, k*units)``: input-to-gates weights (``x_t @ kernel``);
- ``recurrent_kernel`` ``(units, k*units)``: state-to-gates weights (``h_{t-1} @ ...``);
- ``bias`` (only with ``use_bias``).

``SimpleRNN`` k=1, ``LSTM`` k=4 in the gate order ``i, f, c, o`` (input, forget, cell
candidate, output), ``GRU`` k=3 in the order ``z, r, h`` (update, reset, candidate). ONNX
orders gates differently (LSTM ``i, o, f, c``, GRU ``z, r, h``) and transposes the
matrices; the exporter does that rearranging, the engine never does.

Initialisers as in Keras: ``kernel`` glorot_uniform, ``recurrent_kernel`` orthogonal,
``bias`` zeros — except the LSTM's forget-gate bias, which starts at 1 with
``unit_forget_bias=True`` so the cell remembers by default.
"""

from __future__ import annotations

import numpy as np

from engine import backend
from engine.autodiff import kernels_rnn
from engine.autodiff.kernels_rnn_masked import masked_recurrence
from engine.layers.base import Layer, ShapeError, WeightSpec, register
from engine.layers.schema import Param, constraint_param, regularizer_param

RNN_ACTIVATION_NAMES: tuple[str, ...] = tuple(kernels_rnn.RNN_ACTIVATIONS)


def _units_param() -> Param:
    return Param(
        "units",
        "int",
        default=32,
        min=1,
        max=100_000,
        required=True,
        help="Size of the hidden state (and of each step's output)",
    )


def _activation_param() -> Param:
    return Param(
        "activation",
        "choice",
        default="tanh",
        choices=RNN_ACTIVATION_NAMES,
        help="Function of the candidate state and of the output",
    )


def _recurrent_activation_param() -> Param:
    return Param(
        "recurrent_activation",
        "choice",
        default="sigmoid",
        choices=RNN_ACTIVATION_NAMES,
        help="Function of the gates (sigmoid keeps them between 0 and 1)",
    )


def _use_bias_param() -> Param:
    return Param("use_bias", "bool", default=True, help="Add a learned bias to every gate")


def _return_sequences_param() -> Param:
    return Param(
        "return_sequences",
        "bool",
        default=False,
        help="Output every step's state (T, units) instead of only the last one (units,)",
    )


def _penalty_params() -> tuple[Param, ...]:
    """Keras's regularizer and constraint arguments of recurrent layers, in Keras's order."""
    return (
        regularizer_param("kernel_regularizer", "the input kernel"),
        regularizer_param("recurrent_regularizer", "the recurrent kernel"),
        regularizer_param("bias_regularizer", "the bias"),
        regularizer_param("activity_regularizer", "the output"),
        constraint_param("kernel_constraint", "the input kernel"),
        constraint_param("recurrent_constraint", "the recurrent kernel"),
        constraint_param("bias_constraint", "the bias"),
    )


class _Recurrent(Layer):
    """What the three recurrent layers share: shapes, weights, FLOPs. Not registered."""

    category = "Recurrent"
    consumes_mask = True
    # Keras's RNN argument: zeros (not the carried state) at masked steps. Not a parameter:
    # Bidirectional turns it on for its inner layers when they return sequences, as Keras.
    zero_output_for_mask = False
    gates = 1  # k: gate blocks per weight matrix
    weight_penalties = {
        "kernel": ("kernel_regularizer", "kernel_constraint"),
        "recurrent_kernel": ("recurrent_regularizer", "recurrent_constraint"),
        "bias": ("bias_regularizer", "bias_constraint"),
    }
    weight_ranks = {"kernel": 2, "recurrent_kernel": 2, "bias": 1}

    def _check(self, input_shape) -> None:
        shape = tuple(input_shape)
        if len(shape) == 2:
            return
        got = f"{self.type_name} expects a sequence (timesteps, features), got {shape}"
        if len(shape) == 1:
            fix = f"insert Reshape to ({shape[0]}, 1) to read the {shape[0]} values one at a time"
        else:
            steps = int(np.prod(shape[:-1]))
            fix = f"insert Reshape to ({steps}, {shape[-1]})"
        raise ShapeError(got, fix)

    def compute_output_shape(self, input_shape):
        self._check(input_shape)
        if self.return_sequences:
            return (input_shape[0], self.units)
        return (self.units,)

    def _bias_shape(self) -> tuple[int, ...]:
        return (self.gates * self.units,)

    def weight_specs(self, input_shape):
        self._check(input_shape)
        features, width = input_shape[-1], self.gates * self.units
        specs = [
            WeightSpec(
                "kernel", (features, width), "glorot_uniform", fan_in=features, fan_out=width
            ),
            WeightSpec(
                "recurrent_kernel",
                (self.units, width),
                "orthogonal",
                fan_in=self.units,
                fan_out=width,
            ),
        ]
        if self.use_bias:
            specs.append(WeightSpec("bias", self._bias_shape(), "zeros"))
        return specs

    def flops(self, input_shape) -> int:
        # Two GEMMs per step (multiply-adds count two) plus ~4 elementwise ops per gate value.
        steps, features = input_shape
        width = self.gates * self.units
        return steps * (2 * (features + self.units) * width + 4 * width)

    def _bias(self):
        return self.bias if self.use_bias else None

    def _masked(self, inputs, mask):
        """Keras's masked loop (:mod:`engine.autodiff.kernels_rnn_masked`)."""
        return masked_recurrence(
            self.type_name,
            inputs,
            self.kernel,
            self.recurrent_kernel,
            self._bias(),
            mask,
            activation=self.activation,
            recurrent_activation=getattr(self, "recurrent_activation", "sigmoid"),
            return_sequences=self.return_sequences,
            reset_after=getattr(self, "reset_after", True),
            zero_output_for_mask=self.zero_output_for_mask,
        )

    def compute_mask(self, inputs, mask=None):
        """Every step's output keeps the mask; the last state alone has none (Keras)."""
        return mask if self.return_sequences else None


@register
class SimpleRNN(_Recurrent):
    """Fully connected recurrence: ``h_t = activation(x_t @ kernel + h_{t-1} @ recurrent_kernel
    + bias)``.

    Weights: ``kernel (F, units)``, ``recurrent_kernel (units, units)``, ``bias (units,)``.
    """

    type_name = "SimpleRNN"
    display_name = "Simple RNN"
    description = "The plainest recurrent layer: each step mixes the input with the last state."
    params = (
        _units_param(),
        _activation_param(),
        _use_bias_param(),
        _return_sequences_param(),
        *_penalty_params(),
    )
    gates = 1
    examples = (
        {"config": {"units": 3}, "input_shape": (4, 2)},
        {"config": {"units": 5, "return_sequences": True}, "input_shape": (3, 4)},
        {"config": {"units": 2, "activation": "relu", "use_bias": False}, "input_shape": (1, 3)},
        {
            "config": {
                "units": 3,
                "kernel_regularizer": "l2",
                "recurrent_regularizer": {"name": "orthogonal_regularizer", "factor": 0.1},
                "recurrent_constraint": "max_norm",
            },
            "input_shape": (2, 3),
        },
    )

    def call(self, inputs, training=False, mask=None):
        if mask is not None:
            return self._masked(inputs, mask)
        return kernels_rnn.simple_rnn(
            inputs,
            self.kernel,
            self.recurrent_kernel,
            self._bias(),
            activation=self.activation,
            return_sequences=self.return_sequences,
        )


@register
class LSTM(_Recurrent):
    """Long short-term memory (Hochreiter & Schmidhuber, 1997), as ``keras.layers.LSTM``::

        i = rec_act(x W_i + h U_i + b_i)     f = rec_act(x W_f + h U_f + b_f)
        c~ = act(x W_c + h U_c + b_c)        o = rec_act(x W_o + h U_o + b_o)
        c_t = f * c_{t-1} + i * c~           h_t = o * act(c_t)

    Weights: ``kernel (F, 4*units)``, ``recurrent_kernel (units, 4*units)``,
    ``bias (4*units,)``, each with column blocks in the order ``i, f, c, o``
    (``kernel[:, units:2*units]`` is ``W_f``).
    """

    type_name = "LSTM"
    display_name = "LSTM"
    description = "Long short-term memory: a gated cell that can keep information many steps."
    params = (
        _units_param(),
        _activation_param(),
        _recurrent_activation_param(),
        _use_bias_param(),
        _return_sequences_param(),
        Param(
            "unit_forget_bias",
            "bool",
            default=True,
            help="Start the forget gate's bias at 1 so the cell remembers by default",
        ),
        *_penalty_params(),
    )
    gates = 4
    examples = (
        {"config": {"units": 3}, "input_shape": (4, 2)},
        {"config": {"units": 5, "return_sequences": True}, "input_shape": (3, 4)},
        {"config": {"units": 2, "use_bias": False}, "input_shape": (1, 3)},
        {
            "config": {"units": 3, "activation": "relu", "recurrent_activation": "tanh"},
            "input_shape": (2, 2),
        },
        {
            "config": {"units": 2, "bias_regularizer": "l1", "kernel_constraint": "non_neg"},
            "input_shape": (3, 2),
        },
    )

    def build(self, input_shape) -> None:
        if self.built:
            return
        super().build(input_shape)
        if self.use_bias and self.unit_forget_bias:
            value = np.zeros(self._bias_shape(), dtype=np.float32)
            value[self.units : 2 * self.units] = 1.0
            self.bias.assign(backend.asarray(value))

    def call(self, inputs, training=False, mask=None):
        if mask is not None:
            return self._masked(inputs, mask)
        return kernels_rnn.lstm(
            inputs,
            self.kernel,
            self.recurrent_kernel,
            self._bias(),
            activation=self.activation,
            recurrent_activation=self.recurrent_activation,
            return_sequences=self.return_sequences,
        )


@register
class GRU(_Recurrent):
    """Gated recurrent unit (Cho et al., 2014), as ``keras.layers.GRU``::

        z = rec_act(x W_z + h U_z + b_z)     r = rec_act(x W_r + h U_r + b_r)
        reset_after=True:   h~ = act(x W_h + b_xh + r * (h U_h + b_hh))
        reset_after=False:  h~ = act(x W_h + (r * h) U_h + b_h)
        h_t = z * h_{t-1} + (1 - z) * h~

    Weights: ``kernel (F, 3*units)``, ``recurrent_kernel (units, 3*units)``, column blocks
    in the order ``z, r, h``. The bias is ``(2, 3*units)`` with ``reset_after=True`` (row 0
    the input bias, row 1 the recurrent bias, as in Keras and cuDNN), else ``(3*units,)``.
    """

    type_name = "GRU"
    display_name = "GRU"
    description = "Gated recurrent unit: a lighter gated cell with update and reset gates."
    params = (
        _units_param(),
        _activation_param(),
        _recurrent_activation_param(),
        _use_bias_param(),
        _return_sequences_param(),
        Param(
            "reset_after",
            "bool",
            default=True,
            help="Apply the reset gate after the recurrent product (Keras 2+ and cuDNN style)",
        ),
        *_penalty_params(),
    )
    gates = 3
    examples = (
        {"config": {"units": 3}, "input_shape": (4, 2)},
        {"config": {"units": 5, "return_sequences": True}, "input_shape": (3, 4)},
        {"config": {"units": 2, "reset_after": False}, "input_shape": (2, 3)},
        {
            "config": {"units": 3, "use_bias": False, "return_sequences": True},
            "input_shape": (1, 2),
        },
        {
            "config": {
                "units": 2,
                "activity_regularizer": "l2",
                "bias_constraint": {"name": "min_max_norm", "max_value": 0.5},
            },
            "input_shape": (3, 2),
        },
    )

    def weight_rank(self, weight: str) -> int | None:
        if weight == "bias":
            return len(self._bias_shape())
        return super().weight_rank(weight)

    def _bias_shape(self) -> tuple[int, ...]:
        if self.reset_after:
            return (2, self.gates * self.units)
        return (self.gates * self.units,)

    def call(self, inputs, training=False, mask=None):
        if mask is not None:
            return self._masked(inputs, mask)
        return kernels_rnn.gru(
            inputs,
            self.kernel,
            self.recurrent_kernel,
            self._bias(),
            activation=self.activation,
            recurrent_activation=self.recurrent_activation,
            return_sequences=self.return_sequences,
            reset_after=self.reset_after,
        )
