"""``Sequential``: a plain stack of single-input layers (``keras.Sequential``).

It is a :class:`~engine.models.functional.Model` whose graph is a chain. The chain starts
at an ``engine.Input(...)`` (or an ``InputLayer``) given first, or, without one, at an
input made from the first data the model sees (``build(input_shape)``), as in Keras.
Adding or removing layers rebuilds the chain of symbolic calls; the execution plan is
compiled again on next use.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from engine.layers.base import Input, InputLayer, KerasTensor, Layer
from engine.models.functional import Model, unique_model_name
from engine.models.plan import GraphError

__all__ = ["Sequential"]


class Sequential(Model):
    """A linear stack of layers.

    Args:
        layers: layers to add in order; the first may be ``engine.Input(shape)``.
        name: the model's name (``sequential``, ``sequential_1``, ... by default).
    """

    def __init__(self, layers=None, name: str | None = None):
        self.name = name or unique_model_name("sequential")
        self.metadata: dict[str, Any] = {}
        self._stack: list[Layer] = []
        self._input: KerasTensor | None = None
        self._plan = None
        self._init_training_state()
        for layer in layers or ():
            self.add(layer)

    # -- building the stack -------------------------------------------------------------------

    def add(self, layer) -> None:
        """Append a layer (or, first of all, an ``Input``)."""
        if isinstance(layer, KerasTensor | InputLayer):
            self._add_input(layer)
            return
        if isinstance(layer, Model):
            raise TypeError(
                "adding a model to a Sequential is not supported; add its layers instead"
            )
        if not isinstance(layer, Layer):
            raise TypeError(f"Sequential.add expects a layer, got {type(layer).__name__}")
        if not layer.min_inputs <= 1 <= (layer.max_inputs or 1):
            raise TypeError(
                f"{layer.type_name} takes {layer.min_inputs}+ inputs; a Sequential model "
                "passes one tensor from layer to layer: use the Functional API (engine.Model)"
            )
        if any(layer is other for other in self._stack):
            raise ValueError(f"layer {layer.name!r} is already in this model")
        self._stack.append(layer)
        if self._input is not None:
            try:
                self._rebuild_chain()
            except Exception:
                self._stack.pop()
                self._rebuild_chain()
                raise
        self._plan = None

    def _add_input(self, value) -> None:
        if self._input is not None or self._stack:
            raise ValueError("an Input can only be the first element of a Sequential model")
        if isinstance(value, InputLayer):
            value.built = True
            value.input_shape = value.shape
            value = KerasTensor(value.shape, value, [])
        if not isinstance(value.layer, InputLayer):
            raise TypeError(
                "the first element may be engine.Input(shape); a symbolic tensor made by "
                "another layer cannot start a Sequential model"
            )
        self._input = value
        self._rebuild_chain()

    def pop(self) -> Layer:
        """Remove and return the last layer."""
        if not self._stack:
            raise ValueError("there is no layer to remove: the model is empty")
        layer = self._stack.pop()
        if self._input is not None:
            self._rebuild_chain()
        self._plan = None
        return layer

    def build(self, input_shape=None, dtype: str = "float32") -> None:
        """Create the input (``input_shape`` without batch; a leading ``None`` is dropped)
        and every layer's weights."""
        if self._input is not None:
            return
        if input_shape is None:
            raise ValueError("build() needs an input_shape, e.g. (1, 8, 8)")
        shape = tuple(input_shape)
        if shape and shape[0] is None:
            shape = shape[1:]
        self._input = Input(shape, dtype=dtype)
        try:
            self._rebuild_chain()
        except Exception:
            self._input = None
            raise

    def _rebuild_chain(self) -> None:
        tensor = self._input
        for layer in self._stack:
            tensor = layer(tensor)
        self._set_graph(self._input, tensor)

    def _ensure_built_for(self, x) -> None:
        """Build from the first data seen: its shape (without batch) becomes the input."""
        if self._input is not None:
            return
        if not self._stack:
            raise ValueError("the model has no layers: add some with model.add(layer)")
        if isinstance(x, list | tuple):
            if len(x) != 1:
                raise ValueError(f"a Sequential model takes one input array, got {len(x)}")
            x = x[0]
        shape = tuple(getattr(x, "shape", np.shape(x)))
        if len(shape) < 2:
            raise ValueError(
                f"cannot build the model from data of shape {shape}: expected a batch of "
                "samples, (batch, features...)"
            )
        dtype = (
            "int64"
            if np.issubdtype(np.dtype(str(getattr(x, "dtype", "float32"))), np.integer)
            and self._first_takes_ids()
            else "float32"
        )
        self.build(shape[1:], dtype=dtype)

    def _first_takes_ids(self) -> bool:
        """Embedding-like first layers read integer ids, so the input keeps int64."""
        return bool(self._stack) and hasattr(self._stack[0], "input_dim")

    # -- the graph, once built ------------------------------------------------------------------

    @property
    def built(self) -> bool:
        return self._input is not None

    def _require_built(self) -> None:
        if self._input is None:
            raise ValueError(
                f"model {self.name!r} has no input yet: start it with engine.Input(shape), "
                "call model.build(input_shape), or call it on data"
            )

    @property
    def inputs(self) -> list[KerasTensor]:
        self._require_built()
        return super().inputs

    @property
    def outputs(self) -> list[KerasTensor]:
        self._require_built()
        return super().outputs

    @property
    def layers(self) -> list[Layer]:
        """The stacked layers (without the input, as in Keras)."""
        return list(self._stack)

    def plan(self):
        self._require_built()
        return super().plan()

    def graph_nodes(self):
        self._require_built()
        return super().graph_nodes()

    @property
    def input_layer(self) -> InputLayer | None:
        return None if self._input is None else self._input.layer

    def get_config(self) -> dict:
        from engine.models.serialization import sequential_config  # noqa: PLC0415

        return sequential_config(self)

    @classmethod
    def from_config(cls, config: dict) -> Sequential:
        from engine.models.serialization import sequential_from_config  # noqa: PLC0415

        return sequential_from_config(config)

    def _set_graph(self, inputs, outputs) -> None:
        if not isinstance(outputs, KerasTensor):
            raise GraphError("a Sequential model has one output")
        super()._set_graph(inputs, outputs)
