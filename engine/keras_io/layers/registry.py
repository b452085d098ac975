"""The table that import and export both read: one :class:`KerasMapping` per Keras layer
class, registered by the small modules of this package (one per layer family, mirroring
``engine/onnx/mappings``).

A mapping says, for its Keras class:

- ``to_engine(config, inputs)``: the engine node (type and params) a Keras layer config
  becomes, the layout it needs each input in and the layout of its output
  (:class:`EngineNode`; layouts: :mod:`engine.keras_io.layouts`). It raises
  :class:`Unsupported` with a user-facing reason for an option the engine lacks.
- ``weights_to_engine(config, arrays)``: Keras's weight arrays (in Keras's order and layout)
  as the engine layer's ``set_weights`` list;
- ``to_keras(layer)``: the Keras config of an engine layer (the class name and its
  arguments), and ``weights_to_keras(layer, arrays)`` its weights in Keras's layout.

Keras classes that are another name for an engine type (``ReLU`` as ``Activation``) are
import-only mappings; each engine type has exactly one export mapping.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from engine.keras_io.layouts import Layout, identity

__all__ = [
    "CALL_OPTIONS",
    "EXPORTS",
    "IMPORTS",
    "EngineNode",
    "InputInfo",
    "KerasMapping",
    "Unsupported",
    "register",
]


#: The key under which ``to_engine`` finds the call's keyword arguments (``use_causal_mask``).
CALL_OPTIONS = "__call_options__"


class Unsupported(ValueError):
    """A Keras layer option LayerCanvas cannot represent (the message says which)."""


@dataclass(frozen=True)
class InputInfo:
    """What the importer knows about one input of a layer: its engine shape (batch
    excluded) and its layout (batch included)."""

    shape: tuple[int, ...]
    layout: Layout

    @property
    def rank(self) -> int:  # batch included, as Keras axes count
        return len(self.shape) + 1


@dataclass
class EngineNode:
    """What a Keras layer becomes: ``needs[i]`` is the layout input ``i`` must be in (None:
    any), ``output`` the layout of the result (None: the first input's layout)."""

    type: str
    params: dict[str, Any] = field(default_factory=dict)
    needs: list[Layout | None] | None = None
    output: Layout | None = None
    notes: list[str] = field(default_factory=list)  # what changed, for the import report
    # Weights shaped like the input (PReLU's alpha): the layout to transpose them by.
    weights_layout: Layout | None = None


def _same(config, arrays):
    return list(arrays)


def _same_layer(layer, arrays):
    return list(arrays)


@dataclass(frozen=True)
class KerasMapping:
    keras_class: str
    engine_type: str
    to_engine: Callable[[dict, list[InputInfo]], EngineNode] | None  # None: export only
    to_keras: Callable[[Any], dict] | None = None
    weights_to_engine: Callable[[dict, list], list] = _same
    weights_to_keras: Callable[[Any, list], list] = _same_layer
    export_class: str | None = None  # the Keras class written on export (default keras_class)
    # Where Keras 3 keeps the weights under the layer's group, in order (an RNN in its
    # "cell"); the arrays are split evenly between them. Empty: the layer's own "vars".
    weight_groups: tuple[str, ...] = ()
    # Export: the call's keyword arguments, and whether several inputs are separate
    # positional arguments (attention's query, value, key) rather than one list (Add).
    call_kwargs: Callable[[Any], dict] | None = None
    separate_inputs: bool = False


IMPORTS: dict[str, KerasMapping] = {}
EXPORTS: dict[str, KerasMapping] = {}


def register(mapping: KerasMapping, export: bool = True) -> KerasMapping:
    if mapping.keras_class in IMPORTS:
        raise TypeError(f"Keras class {mapping.keras_class!r} is mapped twice")
    if mapping.to_engine is not None:
        IMPORTS[mapping.keras_class] = mapping
    if export and mapping.to_keras is not None:
        if mapping.engine_type in EXPORTS:
            raise TypeError(f"engine type {mapping.engine_type!r} is exported twice")
        EXPORTS[mapping.engine_type] = mapping
    return mapping


def need_identity(inputs: list[InputInfo]) -> list[Layout | None]:
    return [identity(i.rank) for i in inputs]
