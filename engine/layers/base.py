"""The layer contract, the layer-type registry, and symbolic tensors for the Functional API.

A layer type is one class that declares, in one place (DESIGN.md, "single source of truth"):

- ``type_name`` (the Keras class name, the registry key), ``category``, ``description``;
- ``params``: its parameter schema (:class:`~engine.layers.schema.Param`);
- ``min_inputs`` / ``max_inputs`` (``None`` = variadic, as in ``Add``);
- ``compute_output_shape(input_shape)``: shape inference without running anything, raising
  :class:`ShapeError` with a message and a suggested fix;
- ``weight_specs(input_shape)``: the weights it will create (name, shape, initializer,
  trainable), in the documented ``get_weights`` order — parameter counts come from here
  without allocating anything;
- ``flops(input_shape)``: an estimate of forward floating-point operations per sample;
- ``call(inputs, training)``: the forward pass on engine primitives;
- ``weight_penalties``: for each weight, the parameters naming its regularizer and its
  constraint (``{"kernel": ("kernel_regularizer", "kernel_constraint")}``), and
  ``weight_layouts``: for a weight not in Keras's layout, the engine axis of each Keras axis
  (so a constraint's ``axis`` means what it means in Keras; see :mod:`engine.constraints`).

Regularization (Keras's ``layer.losses``): :attr:`Layer.losses` lists, as scalar Tensors,
the activity penalty of the outputs of the layer's calls since the last forward pass began
(divided by the batch size, as in Keras) and the penalties of its trainable weights,
computed when read, so reading it inside a ``GradientTape`` makes them differentiable. A
model's execution plan records the activity penalties as it runs (``ExecutionPlan.run``).

Shapes never include the batch dimension. Single-input layers receive a tuple;
multi-input layers (``max_inputs != 1``) receive a list of tuples. ONNX mappings live in
``engine/onnx`` keyed by ``type_name``.
"""

from __future__ import annotations

import itertools
import math
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from engine import backend, constraints, initializers, regularizers
from engine.autodiff.tensor import Tensor, Variable
from engine.layers.schema import Param, ParameterError, validate_params

Shape = tuple[int, ...]

LAYER_TYPES: dict[str, type[Layer]] = {}


def register(cls: type[Layer]) -> type[Layer]:
    """Class decorator: make a layer type known to the palette, compiler, loader, exporter."""
    if not cls.type_name:
        raise TypeError(f"{cls.__name__} has no type_name")
    if cls.type_name in LAYER_TYPES and LAYER_TYPES[cls.type_name] is not cls:
        raise TypeError(f"layer type {cls.type_name!r} is registered twice")
    LAYER_TYPES[cls.type_name] = cls
    return cls


def get_layer_class(type_name: str) -> type[Layer]:
    try:
        return LAYER_TYPES[type_name]
    except KeyError:
        raise KeyError(f"unknown layer type {type_name!r}") from None


class ShapeError(ValueError):
    """An input shape a layer cannot accept; ``fix`` suggests what the user can do."""

    def __init__(self, message: str, fix: str | None = None):
        super().__init__(message if fix is None else f"{message}: {fix}")
        self.message = message
        self.fix = fix


@dataclass(frozen=True)
class WeightSpec:
    """One weight a layer will create, in ``get_weights`` order."""

    name: str
    shape: Shape
    initializer: str = "glorot_uniform"
    trainable: bool = True
    fan_in: int = 1
    fan_out: int = 1


_name_counters: dict[str, itertools.count] = defaultdict(lambda: itertools.count(1))


def _snake(name: str) -> str:
    s = re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name)
    return re.sub(r"(?<=[A-Z])([A-Z][a-z])", r"_\1", s).lower()


class Layer:
    """Base class of every layer type (``keras.layers.Layer``)."""

    type_name: ClassVar[str] = ""
    display_name: ClassVar[str] = ""
    category: ClassVar[str] = "Core"
    description: ClassVar[str] = ""
    params: ClassVar[tuple[Param, ...]] = ()
    min_inputs: ClassVar[int] = 1
    max_inputs: ClassVar[int | None] = 1
    # Layers whose behaviour differs between training and inference (Dropout, BatchNorm).
    uses_training_flag: ClassVar[bool] = False
    # Example uses, read by the generic layer test harness and the palette's tooltips:
    # each {"config": {...}, "input_shape": shape or [shapes], optional "input_dtype":
    # "int64" with "input_range": [low, high)}.
    examples: ClassVar[tuple[dict, ...]] = ()
    # weight name -> (its regularizer parameter, its constraint parameter), either None.
    weight_penalties: ClassVar[dict[str, tuple[str | None, str | None]]] = {}
    # weight name -> engine axis of each Keras axis, for weights whose layout differs.
    weight_layouts: ClassVar[dict[str, tuple[int, ...]]] = {}
    # weight name -> rank, so a constraint's axis is checked before anything is built.
    weight_ranks: ClassVar[dict[str, int]] = {}
    # Masks (Keras's): a boolean (N, T) array, True at the real steps of a padded sequence.
    # ``supports_masking`` layers pass their input's mask on; ``consumes_mask`` layers take
    # it as ``call(..., mask=...)`` (the execution plan carries masks between layers).
    supports_masking: ClassVar[bool] = False
    consumes_mask: ClassVar[bool] = False

    def __init__(self, *args: Any, name: str | None = None, trainable: bool = True, **kwargs: Any):
        # Positional arguments follow the schema's order, as in Keras (``Dense(64, "relu")``).
        if len(args) > len(self.params):
            raise TypeError(
                f"{self.type_name} takes at most {len(self.params)} positional "
                f"arguments, got {len(args)}"
            )
        for param, value in zip(self.params, args, strict=False):
            if param.name in kwargs:
                raise TypeError(f"{self.type_name} got {param.name!r} twice")
            kwargs[param.name] = value
        self.config: dict[str, Any] = validate_params(self.type_name, self.params, kwargs)
        for key, value in self.config.items():
            setattr(self, key, value)
        # Regularizer and constraint arguments are objects on the layer (as in Keras) and
        # canonical dicts in its config.
        for param in self.params:
            if param.kind == "regularizer":
                setattr(self, param.name, regularizers.get(self.config[param.name]))
            elif param.kind == "constraint":
                setattr(self, param.name, constraints.get(self.config[param.name]))
        self._activity_losses: list[Tensor] = []
        self._weight_regularizers: list[tuple[Variable, regularizers.Regularizer]] = []
        self.validate_config()
        self._check_constraint_axes()
        self.name = name or f"{_snake(self.type_name)}_{next(_name_counters[self.type_name])}"
        self._trainable = bool(trainable)
        self.built = False
        self.input_shape: Shape | list[Shape] | None = None
        self._weights: list[Variable] = []

    # -- declarations each type overrides ---------------------------------------------------

    def validate_config(self) -> None:
        """Check relations between parameters (raise ParameterError); single values are
        already checked by the schema."""

    def compute_output_shape(self, input_shape):
        return input_shape

    def weight_rank(self, weight: str) -> int | None:
        """The rank of a weight known from the configuration alone (``None``: unknown)."""
        return self.weight_ranks.get(weight)

    def weight_specs(self, input_shape) -> list[WeightSpec]:
        return []

    def flops(self, input_shape) -> int:
        """Forward FLOPs per sample (multiply-adds count two)."""
        return 0

    def call(self, inputs, training: bool = False) -> Tensor:
        raise NotImplementedError

    def creates_mask(self) -> bool:
        """Whether this layer starts a mask (``Embedding(mask_zero=True)``)."""
        return False

    def compute_mask(self, inputs, mask=None):
        """The mask of the output: the input's for ``supports_masking`` layers, else None."""
        if not self.supports_masking:
            return None
        return mask[0] if isinstance(mask, list) else mask

    def call_masked(self, inputs, training: bool = False, mask=None) -> Tensor:
        """``call``, handing ``mask`` to layers that consume one (when there is one)."""
        present = mask is not None and (
            not isinstance(mask, list) or any(m is not None for m in mask)
        )
        if present and self.consumes_mask:
            return self.call(inputs, training=training, mask=mask)
        return self.call(inputs, training=training)

    # -- weights --------------------------------------------------------------------------------

    def build(self, input_shape) -> None:
        """Create the weights for ``input_shape`` (called once, on first use)."""
        if self.built:
            return
        self.compute_output_shape(input_shape)  # fail early with a shape message
        self._weights = []
        self._weight_regularizers = []
        for spec in self.weight_specs(input_shape):
            init = initializers.get(spec.initializer)
            if initializers.drawing_skipped():  # the caller sets every weight next
                value = np.zeros(tuple(spec.shape), dtype=np.float32)
            else:
                value = init(tuple(spec.shape), spec.fan_in, spec.fan_out)
            var = Variable(
                backend.asarray(value),
                trainable=self._trainable and spec.trainable,
                name=f"{self.name}/{spec.name}",
            )
            self._attach_penalties(spec.name, var)
            setattr(self, spec.name, var)
            self._weights.append(var)
        self._weight_trainable = [spec.trainable for spec in self.weight_specs(input_shape)]
        self.input_shape = input_shape
        self.built = True

    def _check_constraint_axes(self) -> None:
        """A constraint whose axis the weight lacks is a bad parameter, found at once."""
        for weight, (_, constraint_param) in self.weight_penalties.items():
            constraint = getattr(self, constraint_param, None) if constraint_param else None
            rank = self.weight_rank(weight)
            if constraint is None or rank is None:
                continue
            try:
                constraint.for_layout(self.weight_layouts.get(weight), rank)
            except ValueError as exc:
                raise ParameterError(self.type_name, constraint_param, str(exc)) from None

    def _attach_penalties(self, weight: str, var: Variable) -> None:
        """Give ``var`` the layer's constraint (in the engine layout) and note its
        regularizer."""
        regularizer_param, constraint_param = self.weight_penalties.get(weight, (None, None))
        regularizer = getattr(self, regularizer_param) if regularizer_param else None
        if regularizer is not None:
            self._weight_regularizers.append((var, regularizer))
        constraint = getattr(self, constraint_param) if constraint_param else None
        if constraint is not None:
            try:
                var.constraint = constraint.for_layout(self.weight_layouts.get(weight), var.ndim)
            except ValueError as exc:
                raise ParameterError(self.type_name, constraint_param, str(exc)) from None

    # -- regularization losses ------------------------------------------------------------

    @property
    def losses(self) -> list[Tensor]:
        """Scalar penalties: activity (of the last forward pass) then trainable weights."""
        weight_terms = [reg(var) for var, reg in self._weight_regularizers if var.trainable]
        return list(self._activity_losses) + weight_terms

    def _clear_losses(self) -> None:
        self._activity_losses = []

    def _record_activity(self, outputs) -> None:
        """Add the activity penalty of ``outputs`` (divided by the batch size) to losses."""
        regularizer = getattr(self, "activity_regularizer", None)
        if regularizer is None:
            return
        for output in outputs if isinstance(outputs, list | tuple) else [outputs]:
            penalty = regularizer(output)
            if output.ndim > 0 and output.shape[0] > 0:
                penalty = penalty / output.shape[0]
            self._activity_losses.append(penalty)

    @property
    def weights(self) -> list[Variable]:
        return list(self._weights)

    @property
    def trainable(self) -> bool:
        return self._trainable

    @trainable.setter
    def trainable(self, value: bool) -> None:
        """Freezing (``layer.trainable = False``) stops its weights from being updated."""
        self._trainable = bool(value)
        for var, spec_trainable in zip(
            self._weights, getattr(self, "_weight_trainable", []), strict=False
        ):
            var.trainable = self._trainable and spec_trainable
            var.requires_grad = var.trainable

    @property
    def trainable_weights(self) -> list[Variable]:
        return [w for w in self._weights if w.trainable]

    @property
    def non_trainable_weights(self) -> list[Variable]:
        return [w for w in self._weights if not w.trainable]

    def get_weights(self) -> list[np.ndarray]:
        return [w.numpy().copy() for w in self._weights]

    def set_weights(self, weights: Sequence) -> None:
        if not self.built:
            raise ValueError(f"layer {self.name!r} is not built yet; call it on an input first")
        if len(weights) != len(self._weights):
            raise ValueError(
                f"layer {self.name!r} expects {len(self._weights)} weight arrays, "
                f"got {len(weights)}"
            )
        for var, value in zip(self._weights, weights, strict=True):
            value = np.asarray(value)
            if tuple(value.shape) != var.shape:
                raise ValueError(
                    f"layer {self.name!r}: weight {var.name} has shape {var.shape}, "
                    f"got {tuple(value.shape)}"
                )
            var.assign(backend.asarray(value.astype(np.float32)))

    def count_params(self, input_shape=None) -> int:
        """Number of weights (trainable and not), from the declared specs."""
        shape = self.input_shape if input_shape is None else input_shape
        if shape is None:
            raise ValueError(f"layer {self.name!r} has no input shape yet")
        return sum(math.prod(s.shape) for s in self.weight_specs(shape))

    # -- configuration --------------------------------------------------------------------------

    def get_config(self) -> dict[str, Any]:
        config = {"name": self.name, "trainable": self._trainable}
        for key, value in self.config.items():
            config[key] = list(value) if isinstance(value, tuple) else value
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Layer:
        return cls(**config)

    # -- calling -------------------------------------------------------------------------------

    def __call__(self, inputs, training: bool = False, mask=None):
        if _is_symbolic(inputs):
            return _call_symbolic(self, inputs)
        tensors = _as_tensors(inputs)
        self._check_arity(len(tensors) if isinstance(tensors, list) else 1)
        if not self.built:
            shapes = (
                [t.shape[1:] for t in tensors] if isinstance(tensors, list) else tensors.shape[1:]
            )
            self.build(shapes if self.max_inputs != 1 else _single(shapes))
        self._clear_losses()
        outputs = self.call_masked(tensors, training=training, mask=mask)
        self._record_activity(outputs)
        return outputs

    def _check_arity(self, n: int) -> None:
        if n < self.min_inputs or (self.max_inputs is not None and n > self.max_inputs):
            expected = (
                f"at least {self.min_inputs}"
                if self.max_inputs is None
                else str(self.min_inputs)
                if self.min_inputs == self.max_inputs
                else f"{self.min_inputs} to {self.max_inputs}"
            )
            raise ValueError(f"{self.type_name} {self.name!r} takes {expected} inputs, got {n}")

    def __repr__(self) -> str:
        return f"<{self.type_name} {self.name!r}>"


def _single(shapes):
    return shapes[0] if isinstance(shapes, list) else shapes


def _as_tensors(inputs):
    if isinstance(inputs, list | tuple):
        return [x if isinstance(x, Tensor) else Tensor(x) for x in inputs]
    return inputs if isinstance(inputs, Tensor) else Tensor(inputs)


# -- the Functional API's symbolic tensors ------------------------------------------------------


class KerasTensor:
    """A placeholder for data that will flow through a model (``keras.Input``'s result).

    It knows its shape (without batch) and the layer call that produces it; ``Model``
    walks these back from the outputs to find the graph. This is the seeds'
    ``tf.placeholder``.
    """

    def __init__(self, shape: Shape, layer: Layer, inputs: list[KerasTensor]):
        self.shape = tuple(shape)
        self.layer = layer
        self.inputs = inputs

    @property
    def name(self) -> str:
        return self.layer.name

    def __repr__(self) -> str:
        return (
            f"<KerasTensor shape=(None, {', '.join(map(str, self.shape))}) from {self.layer.name}>"
        )


def _is_symbolic(inputs) -> bool:
    if isinstance(inputs, KerasTensor):
        return True
    return isinstance(inputs, list | tuple) and any(isinstance(x, KerasTensor) for x in inputs)


def _call_symbolic(layer: Layer, inputs) -> KerasTensor:
    items = list(inputs) if isinstance(inputs, list | tuple) else [inputs]
    if not all(isinstance(x, KerasTensor) for x in items):
        raise TypeError(f"{layer.name}: cannot mix symbolic and eager inputs")
    layer._check_arity(len(items))
    shapes = [x.shape for x in items]
    shape_arg = shapes if layer.max_inputs != 1 else shapes[0]
    out_shape = layer.compute_output_shape(shape_arg)
    if layer.built:
        # A layer used twice shares its weights, so the second input must match the first.
        if layer.input_shape != shape_arg:
            raise ShapeError(
                f"{layer.name} was built for input {layer.input_shape}, got {shape_arg}",
                "a shared layer must see inputs of the same shape",
            )
    else:
        layer.build(shape_arg)
    return KerasTensor(out_shape, layer, items)


@register
class InputLayer(Layer):
    """The entry point of a model: data of ``shape`` (without batch) enters here."""

    type_name = "Input"
    display_name = "Input"
    category = "Core"
    description = "Where data enters the model; shape excludes the batch dimension."
    params = (
        Param(
            "shape",
            "shape",
            default=None,
            required=True,
            help="Shape of one sample, channels first, without the batch dimension",
        ),
        Param(
            "dtype",
            "choice",
            default="float32",
            choices=("float32", "int64"),
            help="float32 for features and images, int64 for token ids",
        ),
    )
    min_inputs = 0
    max_inputs = 0

    def validate_config(self) -> None:
        if any(d == -1 for d in self.shape):
            raise ParameterError(self.type_name, "shape", "Input dimensions must be known (no -1)")

    def compute_output_shape(self, input_shape=None):
        return tuple(self.shape)

    def call(self, inputs, training: bool = False) -> Tensor:
        return inputs


def Input(shape, name: str | None = None, dtype: str = "float32") -> KerasTensor:  # noqa: N802
    """``keras.Input``: a symbolic tensor to start a Functional model from."""
    layer = InputLayer(
        shape=tuple(shape) if not isinstance(shape, int) else (shape,), name=name, dtype=dtype
    )
    layer.built = True
    layer.input_shape = layer.shape
    return KerasTensor(layer.shape, layer, [])
