"""``Model``: the Functional API (``keras.Model(inputs, outputs)``).

A model is the graph of layer calls between its ``Input`` tensors and its outputs, found by
walking :attr:`KerasTensor.inputs` back from the outputs. A layer called on two inputs
appears once in :attr:`Model.layers` and keeps one set of weights; each of its calls is one
*node* of the graph. The graph is compiled once into a static
:class:`~engine.models.plan.ExecutionPlan` on first use; training, evaluation and
prediction (:mod:`engine.models.training`) run that plan.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import numpy as np

from engine.layers.base import KerasTensor, Layer
from engine.models import validation
from engine.models.plan import ExecutionPlan, GraphError, graph_nodes
from engine.models.training import TrainingMixin

__all__ = ["Model", "unique_model_name"]

_model_counters: dict[str, itertools.count] = defaultdict(itertools.count)


def unique_model_name(prefix: str) -> str:
    """``functional``, ``functional_1``, ... as Keras names models."""
    k = next(_model_counters[prefix])
    return prefix if k == 0 else f"{prefix}_{k}"


class Model(TrainingMixin):
    """A model defined by its inputs and outputs (``keras.Model``).

    Args:
        inputs: one ``engine.Input(...)`` tensor or a list of them.
        outputs: one symbolic tensor (the result of calling layers) or a list of them.
        name: the model's name (``functional``, ``functional_1``, ... by default).
    """

    def __init__(self, inputs, outputs, name: str | None = None):
        self.name = name or unique_model_name("functional")
        self.metadata: dict[str, Any] = {}
        self._set_graph(inputs, outputs)
        self._init_training_state()

    # -- graph ------------------------------------------------------------------------------

    def _set_graph(self, inputs, outputs) -> None:
        self._single_input = isinstance(inputs, KerasTensor)
        self._single_output = isinstance(outputs, KerasTensor)
        inputs = [inputs] if self._single_input else list(_as_list(inputs, "inputs"))
        outputs = [outputs] if self._single_output else list(_as_list(outputs, "outputs"))
        if not inputs:
            raise GraphError("a model needs at least one input")
        if not outputs:
            raise GraphError("a model needs at least one output")
        nodes = graph_nodes(inputs, outputs)
        layers: list[Layer] = []
        seen: set[int] = set()
        node_index: dict[int, int] = {}
        calls: dict[int, int] = defaultdict(int)
        for tensor in nodes:
            layer = tensor.layer
            node_index[id(tensor)] = calls[id(layer)]
            calls[id(layer)] += 1
            if id(layer) not in seen:
                seen.add(id(layer))
                layers.append(layer)
        names = [layer.name for layer in layers]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise GraphError(
                f"two different layers are named {duplicates[0]!r}; layer names in a model "
                "must be unique (pass name=... when creating them)"
            )
        self._inputs = inputs
        self._outputs = outputs
        self._nodes = nodes
        self._node_index = node_index
        self._layers = layers
        self._plan: ExecutionPlan | None = None

    @property
    def inputs(self) -> list[KerasTensor]:
        return list(self._inputs)

    @property
    def outputs(self) -> list[KerasTensor]:
        return list(self._outputs)

    @property
    def layers(self) -> list[Layer]:
        """Every layer once, in execution order (``Input`` layers first)."""
        return list(self._layers)

    @property
    def input_names(self) -> list[str]:
        return [t.layer.name for t in self.inputs]

    @property
    def output_names(self) -> list[str]:
        """Names of the layers producing the outputs (keys of loss and metric dicts)."""
        return [t.layer.name for t in self.outputs]

    @property
    def input_shapes(self) -> list[tuple]:
        return [(None, *t.shape) for t in self.inputs]

    @property
    def output_shapes(self) -> list[tuple]:
        return [(None, *t.shape) for t in self.outputs]

    @property
    def input_shape(self):
        """``(None, *shape)``, or a list of them for several inputs (as in Keras)."""
        shapes = self.input_shapes
        return shapes[0] if len(shapes) == 1 else shapes

    @property
    def output_shape(self):
        shapes = self.output_shapes
        return shapes[0] if len(shapes) == 1 else shapes

    @property
    def built(self) -> bool:
        return True

    def plan(self) -> ExecutionPlan:
        """The compiled execution plan (made once, on first use)."""
        if self._plan is None:
            self._plan = ExecutionPlan(self.inputs, self.outputs)
        return self._plan

    def node_index(self, tensor: KerasTensor) -> int:
        """Which call of its layer produced ``tensor`` (0 for the first)."""
        return self._node_index[id(tensor)]

    def graph_nodes(self) -> list[KerasTensor]:
        """Every tensor of the graph, inputs first, each after the tensors it reads."""
        return list(self._nodes)

    def get_layer(self, name: str | None = None, index: int | None = None) -> Layer:
        """A layer by name or by position in :attr:`layers`."""
        layers = self.layers
        if (name is None) == (index is None):
            raise ValueError("give exactly one of name= or index=")
        if index is not None:
            if not -len(layers) <= index < len(layers):
                raise ValueError(
                    f"index {index} is out of range: the model has {len(layers)} layers"
                )
            return layers[index]
        for layer in layers:
            if layer.name == name:
                return layer
        known = ", ".join(layer.name for layer in layers)
        raise ValueError(f"no layer named {name!r}; the model's layers are: {known}")

    # -- weights ----------------------------------------------------------------------------

    @property
    def weights(self) -> list:
        return [w for layer in self.layers for w in layer.weights]

    @property
    def trainable_weights(self) -> list:
        return [w for layer in self.layers for w in layer.trainable_weights]

    @property
    def non_trainable_weights(self) -> list:
        return [w for layer in self.layers for w in layer.non_trainable_weights]

    @property
    def losses(self) -> list:
        """Every layer's regularization penalties (``Layer.losses``: the activity terms of
        the last forward pass, then the weight terms), as scalar Tensors; the training
        step sums them apart from the data loss."""
        return [loss for layer in self.layers for loss in layer.losses]

    @property
    def trainable(self) -> bool:
        return all(layer.trainable for layer in self.layers)

    @trainable.setter
    def trainable(self, value: bool) -> None:
        for layer in self.layers:
            layer.trainable = value

    def get_weights(self) -> list[np.ndarray]:
        """Every layer's ``get_weights()``, concatenated in layer order."""
        return [array for layer in self.layers for array in layer.get_weights()]

    def set_weights(self, weights: Sequence) -> None:
        """The inverse of :meth:`get_weights` (same number, order and shapes of arrays)."""
        weights = list(weights)
        expected = sum(len(layer.weights) for layer in self.layers)
        if len(weights) != expected:
            raise ValueError(
                f"model {self.name!r} has {expected} weight arrays, got {len(weights)}"
            )
        start = 0
        for layer in self.layers:
            n = len(layer.weights)
            if n:
                layer.set_weights(weights[start : start + n])
            start += n

    def count_params(self) -> int:
        return int(sum(w.size for w in self.weights))

    # -- description ------------------------------------------------------------------------

    def summary(self, line_length: int | None = None, print_fn=None) -> None:
        """Print a Keras-style table of layers, output shapes and parameter counts."""
        from engine.models.summary import summary_text  # noqa: PLC0415 - avoids a cycle

        (print_fn or print)(summary_text(self, line_length=line_length))

    # -- files ------------------------------------------------------------------------------

    def save(self, path, overwrite: bool = True) -> None:
        """Write one ``.lcmodel`` file: architecture, weights, compile and optimizer state."""
        from engine import io  # noqa: PLC0415 - io imports models

        io.save_model(self, path, overwrite=overwrite)

    def save_weights(self, path, overwrite: bool = True) -> None:
        """Write only the weights (a zip of ``.npy`` arrays, in ``get_weights`` order)."""
        from engine import io  # noqa: PLC0415

        io.save_weights(self, path, overwrite=overwrite)

    def load_weights(self, path) -> None:
        """Read weights written by :meth:`save_weights` (or a ``.lcmodel`` file)."""
        from engine import io  # noqa: PLC0415

        io.load_weights(self, path)

    def get_config(self) -> dict:
        from engine.models.serialization import functional_config  # noqa: PLC0415

        return functional_config(self)

    @classmethod
    def from_config(cls, config: dict) -> Model:
        from engine.models.serialization import functional_from_config  # noqa: PLC0415

        return functional_from_config(config)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}>"

    # -- calling ----------------------------------------------------------------------------

    def __call__(self, inputs, training: bool = False):
        """Run the model eagerly on data (arrays or Tensors); returns Tensor(s).

        Tensors keep their gradient history, so ``GradientTape`` works through the call.
        """
        if isinstance(inputs, KerasTensor) or (
            isinstance(inputs, list | tuple) and any(isinstance(t, KerasTensor) for t in inputs)
        ):
            raise NotImplementedError(
                "using a model as a layer of another model is not supported; build one "
                "model from the layers instead (model.layers)"
            )
        self._ensure_built_for(inputs)
        tensors = validation.input_tensors(self, inputs)
        outputs = self.plan().run(tensors, training=training)
        return outputs[0] if self._single_output else outputs

    def _ensure_built_for(self, x) -> None:
        """Functional models are built when made; Sequential overrides this."""


def _as_list(value, what: str) -> list:
    if isinstance(value, list | tuple):
        return list(value)
    if isinstance(value, dict):
        raise GraphError(f"{what} as a dict is not supported; pass a list")
    raise GraphError(f"{what} must be a symbolic tensor or a list of them, got {value!r}")
