"""Model surgery for transfer learning: cut a trained model at a layer, freeze part of it,
and put a new head on it.

These are the Functional API moves Keras users write by hand
(``keras.Model(base.input, base.get_layer("features").output)``), packaged because a
LayerCanvas model keeps its graph as :class:`~engine.layers.base.KerasTensor` calls rather
than ``layer.output`` attributes. Every function returns a NEW Functional
:class:`~engine.models.functional.Model` that SHARES the layers (and so the trained weights)
of the model it came from, as in Keras: training the new model changes those layers in the
old one too, and ``layer.trainable = False`` on a shared layer freezes it in both.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from engine.layers.base import KerasTensor, Layer
from engine.models.functional import Model
from engine.models.plan import GraphError

__all__ = ["feature_extractor", "freeze", "layer_output", "replace_head"]


def layer_output(model: Model, layer_name: str) -> KerasTensor:
    """The symbolic output of the layer called ``layer_name`` in ``model`` (Keras's
    ``model.get_layer(name).output``). A layer called more than once has no single output."""
    layer = model.get_layer(layer_name)  # a clear error listing the layers if unknown
    produced = [t for t in model.graph_nodes() if t.layer is layer]
    if len(produced) != 1:
        raise GraphError(
            f"layer {layer_name!r} is called {len(produced)} times in model {model.name!r}, so "
            "it has no single output to cut at; choose a layer used once"
        )
    return produced[0]


def feature_extractor(model: Model, layer_name: str, name: str | None = None) -> Model:
    """The part of ``model`` from its inputs up to (and including) ``layer_name``.

    The result shares its layers with ``model``; its inputs are those of ``model`` that the
    cut depends on (all of them in the usual case: everything before the head)."""
    output = layer_output(model, layer_name)
    inputs = _inputs_reaching(model, output)
    return Model(
        inputs[0] if len(inputs) == 1 else inputs,
        output,
        name=name or f"{model.name}_{layer_name}",
    )


def replace_head(
    model: Model,
    cut_at: str,
    new_head: Layer | Sequence[Layer],
    name: str | None = None,
) -> Model:
    """``model`` up to ``cut_at``, followed by the layer(s) ``new_head`` applied in order.

    Everything after ``cut_at`` (the old head) is left out. The new layers are built here,
    with fresh weights drawn from the engine's seeded generator; their names must differ
    from the kept layers' names."""
    head = [new_head] if isinstance(new_head, Layer) else list(new_head)
    if not head:
        raise ValueError("replace_head needs at least one new layer")
    for layer in head:
        if not isinstance(layer, Layer):
            raise TypeError(f"replace_head expects layers, got {type(layer).__name__}")
        takes_one = layer.min_inputs <= 1 and (layer.max_inputs is None or layer.max_inputs >= 1)
        if not takes_one:
            raise TypeError(f"{layer.type_name} cannot be stacked on one tensor in a head")
    base = layer_output(model, cut_at)
    tensor = base
    for layer in head:
        tensor = layer(tensor)
    inputs = _inputs_reaching(model, base)
    return Model(
        inputs[0] if len(inputs) == 1 else inputs,
        tensor,
        name=name or f"{model.name}_new_head",
    )


def freeze(
    model: Model, up_to: str | None = None, layers: Iterable[str] | None = None
) -> list[str]:
    """Set ``trainable = False`` on layers of ``model`` and return their names.

    ``up_to``: the layer ``up_to`` and every layer it depends on (the base below a cut);
    ``layers``: exactly these names; neither: every layer (``model.trainable = False``)."""
    if up_to is not None and layers is not None:
        raise ValueError("give up_to= or layers=, not both")
    if layers is not None:
        chosen = [model.get_layer(name) for name in layers]
    elif up_to is not None:
        below = _ancestors(layer_output(model, up_to))
        chosen = [layer for layer in model.layers if id(layer) in below]
    else:
        chosen = list(model.layers)
    for layer in chosen:
        layer.trainable = False
    return [layer.name for layer in chosen]


def _ancestors(tensor: KerasTensor) -> set[int]:
    """ids of the layers whose calls ``tensor`` depends on, its own layer included."""
    layers: set[int] = set()
    seen: set[int] = set()
    stack = [tensor]
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        layers.add(id(current.layer))
        stack.extend(current.inputs)
    return layers


def _inputs_reaching(model: Model, tensor: KerasTensor) -> list[KerasTensor]:
    """The model inputs ``tensor`` depends on, in the model's input order."""
    below = _ancestors(tensor)
    return [t for t in model.inputs if id(t.layer) in below]
