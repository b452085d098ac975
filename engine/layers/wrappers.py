"""Wrapper layers: ``Bidirectional`` and ``TimeDistributed`` (``keras.layers.*``).

A wrapper holds an inner layer of the type named by its ``layer`` parameter, configured by
the wrapper's other parameters (the canvas has one flat form per node, so the wrapped
layer's arguments sit beside the wrapper's own, with Keras's names). The inner layers'
weights are the wrapper's weights, under the names Keras gives them.

``Bidirectional`` runs a recurrent layer forward and a copy of it over the reversed
sequence, then merges the two (``merge_mode`` ``concat``: forward then backward features;
``sum``, ``mul``, ``ave``). With ``return_sequences`` the backward outputs are reversed
back, so step ``t`` of both halves describes input step ``t``; with a mask, masked steps
output zeros (Keras forces ``zero_output_for_mask`` on the wrapped layers). Weights (``get_weights``
order): ``forward_kernel``, ``forward_recurrent_kernel``[, ``forward_bias``], then the
same three ``backward_*``, each in the wrapped layer's layout
(:mod:`engine.layers.recurrent`). Keras's ``merge_mode=None`` (two outputs) is not offered:
a node has one output.

``TimeDistributed`` applies its inner layer to every step of a sequence ``(T, ...)`` by
folding time into the batch (``(N*T, ...)``), one call for all steps. Its weights are the
inner layer's, with the inner layer's names and layout.
"""

from __future__ import annotations

import dataclasses

from engine import backend
from engine.autodiff import ops
from engine.autodiff.kernels_sequence import reverse_time
from engine.layers.base import LAYER_TYPES, Layer, ShapeError, WeightSpec, register
from engine.layers.schema import Param, ParameterError

# The recurrent types Bidirectional wraps, and the types TimeDistributed wraps.
RECURRENT_TYPES = ("LSTM", "GRU", "SimpleRNN")
DISTRIBUTED_TYPES = ("Dense", "Conv2D", "MaxPooling2D", "AveragePooling2D", "Flatten")
MERGE_MODES = ("concat", "sum", "mul", "ave")


def _inner_params(type_names: tuple[str, ...]) -> tuple[Param, ...]:
    """The wrapped types' arguments as one flat schema.

    An argument declared differently by two types (``strides`` is ``(1, 1)`` for Conv2D but
    ``None`` = ``pool_size`` for pooling) becomes nullable with default ``None``, meaning
    "the wrapped layer's own default"; required arguments become optional, since another
    wrapped type may not have them.
    """
    merged: dict[str, Param] = {}
    for type_name in type_names:
        for param in LAYER_TYPES[type_name].params:
            seen = merged.get(param.name)
            if seen is None:
                merged[param.name] = _optional(param)
            elif (seen.kind, seen.default, seen.choices, seen.length) != (
                param.kind,
                param.default,
                param.choices,
                param.length,
            ):
                merged[param.name] = _optional(seen, default_from_layer=True)
    owners = {
        name: [t for t in type_names if any(p.name == name for p in LAYER_TYPES[t].params)]
        for name in merged
    }
    return tuple(
        dataclasses.replace(param, help=f"{param.help} ({', '.join(owners[name])} only)")
        if len(owners[name]) < len(type_names)
        else param
        for name, param in merged.items()
    )


def _optional(param: Param, default_from_layer: bool = False) -> Param:
    # dataclasses.replace keeps Param subclasses (PaddingParam coerces explicit pads).
    if not default_from_layer:
        return dataclasses.replace(param, required=False)
    return dataclasses.replace(
        param,
        required=False,
        default=None,
        nullable=True,
        help=f"{param.help} (empty: the wrapped layer's default)",
    )


class _Wrapper(Layer):
    """What both wrappers share: the inner layer's configuration and weight adoption."""

    wrapped_types: tuple[str, ...] = ()
    own_params: tuple[str, ...] = ("layer",)

    def validate_config(self) -> None:
        self.inner_config()  # a value the wrapped type refuses is this layer's bad parameter
        # A constraint's axis means what it means on the wrapped layer's weight.
        self.weight_layouts = self._inner_weight_layouts()

    def _inner_weight_layouts(self) -> dict:
        return dict(LAYER_TYPES[self.layer].weight_layouts)

    def inner_config(self) -> dict:
        """The wrapped layer's arguments: those of its type, ``None`` meaning its default."""
        cls = LAYER_TYPES[self.layer]
        names = {p.name for p in cls.params}
        # Penalties stay on the wrapper, which owns the weights (and their losses).
        penalties = {p.name for p in self.params if p.kind in ("regularizer", "constraint")}
        config = {
            key: value
            for key, value in self.config.items()
            if key in names and key not in self.own_params and key not in penalties
        }
        for param in cls.params:
            # None in a merged argument means "the wrapped layer's default".
            if param.name in config and config[param.name] is None and not param.nullable:
                del config[param.name]
        try:
            cls(name="wrapped", **config)  # named: no step in the types' automatic names
        except ParameterError as exc:
            raise ParameterError(self.type_name, exc.param, exc.message) from None
        return config

    def _make_inner(self, prefix: str = "") -> Layer:
        own = getattr(self, "name", self.type_name)  # not named yet while __init__ checks
        name = f"{prefix}{own}" if prefix else f"{own}_{self.layer.lower()}"
        return LAYER_TYPES[self.layer](name=name, **self.inner_config())

    def _adopt(self, inners: list[tuple[str, Layer]], input_shape) -> None:
        """Build each inner layer and make its weights this layer's, named ``prefix + name``."""
        self._weights, trainable = [], []
        self._weight_regularizers = []
        for prefix, inner in inners:
            inner.build(input_shape)
            specs = inner.weight_specs(input_shape)
            for spec, var in zip(specs, inner.weights, strict=True):
                var.name = f"{self.name}/{prefix}{spec.name}"
                var.trainable = self._trainable and spec.trainable
                var.requires_grad = var.trainable
                setattr(self, f"{prefix}{spec.name}", var)
                self._attach_penalties(f"{prefix}{spec.name}", var)
                self._weights.append(var)
                trainable.append(spec.trainable)
        self._weight_trainable = trainable
        self.input_shape = input_shape
        self.built = True


def _prefixed(prefix: str, specs: list[WeightSpec]) -> list[WeightSpec]:
    return [
        WeightSpec(f"{prefix}{s.name}", s.shape, s.initializer, s.fan_in, s.fan_out, s.trainable)
        for s in specs
    ]


@register
class Bidirectional(_Wrapper):
    """Runs a recurrent layer both ways over the sequence and merges the two results.

    Weights: ``forward_*`` then ``backward_*``, each the wrapped layer's
    (``kernel (F, k*units)``, ``recurrent_kernel (units, k*units)``[, ``bias``]).
    """

    type_name = "Bidirectional"
    display_name = "Bidirectional"
    category = "Recurrent"
    description = "Reads the sequence forward and backward with two recurrent layers."
    wrapped_types = RECURRENT_TYPES
    own_params = ("layer", "merge_mode")
    consumes_mask = True
    weight_penalties = {
        f"{direction}_{weight}": (f"{param}_regularizer", f"{param}_constraint")
        for direction in ("forward", "backward")
        for weight, param in (
            ("kernel", "kernel"),
            ("recurrent_kernel", "recurrent"),
            ("bias", "bias"),
        )
    }
    params = (
        Param(
            "layer",
            "choice",
            default="LSTM",
            choices=RECURRENT_TYPES,
            help="The recurrent layer run in both directions",
        ),
        Param(
            "merge_mode",
            "choice",
            default="concat",
            choices=MERGE_MODES,
            help="How the two directions combine: concat (2*units features), sum, mul, ave",
        ),
        *_inner_params(RECURRENT_TYPES),
    )
    examples = (
        {"config": {"layer": "LSTM", "units": 2}, "input_shape": (3, 2)},
        {
            "config": {"layer": "GRU", "units": 2, "return_sequences": True, "merge_mode": "sum"},
            "input_shape": (3, 2),
        },
        {
            "config": {"layer": "SimpleRNN", "units": 3, "merge_mode": "mul"},
            "input_shape": (2, 2),
        },
        {
            "config": {
                "layer": "LSTM",
                "units": 2,
                "return_sequences": True,
                "merge_mode": "ave",
                "use_bias": False,
            },
            "input_shape": (3, 2),
        },
        {
            "config": {"layer": "GRU", "units": 2, "reset_after": False},
            "input_shape": (2, 3),
        },
        {
            "config": {
                "layer": "SimpleRNN",
                "units": 2,
                "kernel_regularizer": "l2",
                "activity_regularizer": "l1",
                "recurrent_constraint": "max_norm",
            },
            "input_shape": (2, 2),
        },
    )

    def _inner_weight_layouts(self) -> dict:
        return {}  # recurrent weights are in Keras's layout

    def weight_rank(self, weight: str) -> int | None:
        direction, _, inner = weight.partition("_")
        return self._make_inner().weight_rank(inner) if direction else None

    def compute_output_shape(self, input_shape):
        shape = self._make_inner().compute_output_shape(input_shape)
        if self.merge_mode == "concat":
            return (*shape[:-1], 2 * shape[-1])
        return shape

    def weight_specs(self, input_shape):
        specs = self._make_inner().weight_specs(input_shape)
        return _prefixed("forward_", specs) + _prefixed("backward_", specs)

    def flops(self, input_shape) -> int:
        return 2 * self._make_inner().flops(input_shape)

    def build(self, input_shape) -> None:
        if self.built:
            return
        self.compute_output_shape(input_shape)
        self.forward_layer = self._make_inner("forward_")
        self.backward_layer = self._make_inner("backward_")
        for inner in (self.forward_layer, self.backward_layer):
            inner.zero_output_for_mask = self.return_sequences  # as Keras's Bidirectional
        self._adopt(
            [("forward_", self.forward_layer), ("backward_", self.backward_layer)], input_shape
        )

    def call(self, inputs, training=False, mask=None):
        forward = self.forward_layer.call_masked(inputs, training=training, mask=mask)
        reverse_mask = None if mask is None else backend.xp.flip(mask, axis=1)
        backward = self.backward_layer.call_masked(
            reverse_time(inputs), training=training, mask=reverse_mask
        )
        if self.return_sequences:
            backward = reverse_time(backward)
        if self.merge_mode == "concat":
            return ops.concat([forward, backward], axis=-1)
        return self._merge(forward, backward)

    def _merge(self, forward, backward):
        if self.merge_mode == "sum":
            return forward + backward
        if self.merge_mode == "mul":
            return forward * backward
        return (forward + backward) * 0.5

    def compute_mask(self, inputs, mask=None):
        """Every step's output keeps the mask; the last states alone have none (Keras)."""
        return mask if self.return_sequences else None


@register
class TimeDistributed(_Wrapper):
    """Applies one layer to every time step of a sequence ``(T, ...)``, with shared weights.

    Weights: the wrapped layer's (``Dense``: ``kernel (in, units)``, ``bias``; ``Conv2D``:
    ``kernel (filters, in_channels, kh, kw)``, ``bias``).
    """

    type_name = "TimeDistributed"
    display_name = "Time Distributed"
    category = "Recurrent"
    description = "Applies the same layer to every step of a sequence (time folded into batch)."
    wrapped_types = DISTRIBUTED_TYPES
    supports_masking = True  # the steps stay where they are
    weight_penalties = {
        "kernel": ("kernel_regularizer", "kernel_constraint"),
        "bias": ("bias_regularizer", "bias_constraint"),
    }

    def weight_rank(self, weight: str) -> int | None:
        return LAYER_TYPES[self.layer].weight_ranks.get(weight)

    params = (
        Param(
            "layer",
            "choice",
            default="Dense",
            choices=DISTRIBUTED_TYPES,
            help="The layer applied to each step",
        ),
        *_inner_params(DISTRIBUTED_TYPES),
    )
    examples = (
        {"config": {"layer": "Dense", "units": 3}, "input_shape": (4, 2)},
        {
            "config": {"layer": "Conv2D", "filters": 2, "kernel_size": 2, "activation": "relu"},
            "input_shape": (2, 1, 4, 4),
        },
        {"config": {"layer": "MaxPooling2D"}, "input_shape": (3, 2, 4, 4)},
        {"config": {"layer": "AveragePooling2D", "strides": 1}, "input_shape": (2, 1, 3, 3)},
        {"config": {"layer": "Flatten"}, "input_shape": (3, 2, 2)},
        {
            "config": {
                "layer": "Dense",
                "units": 2,
                "bias_regularizer": "l1",
                "kernel_constraint": "non_neg",
            },
            "input_shape": (3, 2),
        },
        {
            "config": {"layer": "Conv2D", "filters": 2, "kernel_constraint": "max_norm"},
            "input_shape": (2, 1, 3, 3),
        },
    )

    def _step_shape(self, input_shape) -> tuple:
        shape = tuple(input_shape)
        if len(shape) < 2:
            raise ShapeError(
                f"TimeDistributed expects a sequence (timesteps, ...), got {shape}",
                f"insert Reshape to ({shape[0] if shape else 1}, 1) to make each value a step",
            )
        return shape[1:]

    def compute_output_shape(self, input_shape):
        step = self._step_shape(input_shape)
        try:
            out = self._make_inner().compute_output_shape(step)
        except ShapeError as exc:
            raise ShapeError(
                f"TimeDistributed({self.layer}) applies {self.layer} to each step of shape "
                f"{step}: {exc.message}",
                exc.fix,
            ) from None
        return (input_shape[0], *out)

    def weight_specs(self, input_shape):
        return self._make_inner().weight_specs(self._step_shape(input_shape))

    def flops(self, input_shape) -> int:
        return input_shape[0] * self._make_inner().flops(self._step_shape(input_shape))

    def build(self, input_shape) -> None:
        if self.built:
            return
        self.compute_output_shape(input_shape)
        self.inner_layer = self._make_inner()
        self._adopt([("", self.inner_layer)], self._step_shape(input_shape))
        self.input_shape = tuple(input_shape)

    def call(self, inputs, training=False):
        batch, steps = inputs.shape[0], inputs.shape[1]
        folded = ops.reshape(inputs, (batch * steps, *inputs.shape[2:]))
        out = self.inner_layer.call(folded, training=training)
        return ops.reshape(out, (batch, steps, *out.shape[1:]))
