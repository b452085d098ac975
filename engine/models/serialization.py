"""Model configurations as JSON-ready dicts, and models rebuilt from them.

The format follows Keras's: a Sequential lists its layers (an ``Input`` first once
built); a Functional model lists every layer with its class name, its config and its
*inbound nodes* — for each call, the ``[layer_name, node_index, tensor_index]`` of each
input — plus the model's ``input_layers`` and ``output_layers``. Layers are rebuilt only
through the registry (``LAYER_TYPES[class_name].from_config(config)``): a configuration
names types, it never names code to import. A malformed configuration raises
:class:`ModelConfigError` (a ``ValueError``) saying what is wrong.
"""

from __future__ import annotations

import math
from typing import Any

import engine.layers  # noqa: F401 - imports every layer family, filling the registry
from engine.layers.base import LAYER_TYPES, InputLayer, KerasTensor, Layer, ShapeError

__all__ = [
    "ModelConfigError",
    "functional_config",
    "functional_from_config",
    "sequential_config",
    "sequential_from_config",
    "serialize_model",
    "deserialize_model",
]


class ModelConfigError(ValueError):
    """A model configuration that cannot be turned into a model."""


def _layer_entry(layer: Layer) -> dict[str, Any]:
    return {"class_name": layer.type_name, "name": layer.name, "config": layer.get_config()}


def functional_config(model) -> dict[str, Any]:
    nodes = model.graph_nodes()
    layers = []
    for layer in model.layers:
        entry = _layer_entry(layer)
        entry["inbound_nodes"] = [
            [[p.layer.name, model.node_index(p), 0] for p in t.inputs]
            for t in nodes
            if t.layer is layer and t.inputs
        ]
        layers.append(entry)
    ref = lambda t: [t.layer.name, model.node_index(t), 0]  # noqa: E731
    return {
        "name": model.name,
        "layers": layers,
        "input_layers": [ref(t) for t in model.inputs],
        "output_layers": [ref(t) for t in model.outputs],
    }


def sequential_config(model) -> dict[str, Any]:
    layers = []
    if model.built:
        layers.append(_layer_entry(model.input_layer))
    layers.extend(_layer_entry(layer) for layer in model.layers)
    return {"name": model.name, "layers": layers}


# -- rebuilding -----------------------------------------------------------------------------


def _expect(condition: bool, message: str) -> None:
    if not condition:
        raise ModelConfigError(message)


def _make_layer(entry, where: str) -> Layer:
    _expect(isinstance(entry, dict), f"{where} must be an object")
    class_name = entry.get("class_name")
    _expect(isinstance(class_name, str), f"{where} has no class_name")
    cls = LAYER_TYPES.get(class_name)
    _expect(cls is not None, f"{where}: unknown layer type {class_name!r}")
    config = entry.get("config")
    _expect(isinstance(config, dict), f"{where} ({class_name}) has no config object")
    _expect(all(isinstance(k, str) for k in config), f"{where} ({class_name}) has non-text keys")
    try:
        layer = cls.from_config(dict(config))
    except (ValueError, TypeError, KeyError) as exc:
        raise ModelConfigError(f"{where} ({class_name}): {exc}") from None
    if isinstance(layer, InputLayer):
        layer.built = True
        layer.input_shape = layer.shape
    return layer


class _Budget:
    """Refuses to create more weights than ``limit`` values (files bound what they hold)."""

    def __init__(self, limit: int | None):
        self.limit = limit
        self.used = 0

    def charge(self, layer: Layer, input_shape) -> None:
        if self.limit is None or layer.built:
            return
        try:
            specs = layer.weight_specs(input_shape)
        except ShapeError as exc:
            raise ModelConfigError(f"layer {layer.name!r}: {exc}") from None
        self.used += sum(math.prod(s.shape) for s in specs)
        if self.used > self.limit:
            raise ModelConfigError(
                f"the configuration asks for more weights ({self.used:,} values by layer "
                f"{layer.name!r}) than the file holds ({self.limit:,})"
            )


def _call(layer: Layer, inputs: list[KerasTensor], budget: _Budget) -> KerasTensor:
    single = layer.max_inputs == 1
    if single and len(inputs) != 1:
        raise ModelConfigError(f"layer {layer.name!r} takes one input, got {len(inputs)}")
    shapes = inputs[0].shape if single else [t.shape for t in inputs]
    budget.charge(layer, shapes)
    try:
        return layer(inputs[0] if single else inputs)
    except (ValueError, TypeError) as exc:
        raise ModelConfigError(f"layer {layer.name!r}: {exc}") from None


def _ref(value, where: str) -> tuple[str, int]:
    ok = (
        isinstance(value, list)
        and len(value) in (2, 3)
        and isinstance(value[0], str)
        and all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in value[1:])
    )
    _expect(ok, f"{where} must be [layer_name, node_index, tensor_index], got {value!r}")
    return value[0], value[1]


def functional_from_config(config: dict, param_budget: int | None = None):
    from engine.models.functional import Model  # noqa: PLC0415 - avoids a cycle

    _expect(isinstance(config, dict), "the model config must be an object")
    entries = config.get("layers")
    _expect(isinstance(entries, list) and entries, "the model config has no layers list")
    budget = _Budget(param_budget)
    layers: dict[str, Layer] = {}
    produced: dict[str, list[KerasTensor]] = {}
    pending: list[tuple[Layer, int, list]] = []
    for i, entry in enumerate(entries):
        layer = _make_layer(entry, f"layer {i}")
        _expect(layer.name not in layers, f"two layers are named {layer.name!r}")
        layers[layer.name] = layer
        produced[layer.name] = []
        if isinstance(layer, InputLayer):
            produced[layer.name].append(KerasTensor(layer.shape, layer, []))
            continue
        nodes = entry.get("inbound_nodes")
        _expect(isinstance(nodes, list) and nodes, f"layer {layer.name!r} has no inbound_nodes")
        for k, node in enumerate(nodes):
            _expect(isinstance(node, list) and node, f"layer {layer.name!r} node {k} is empty")
            refs = [_ref(r, f"layer {layer.name!r} node {k}") for r in node]
            pending.append((layer, k, refs))
    # Nodes may refer to nodes of later layers (shared layers): make them in passes.
    while pending:
        remaining = []
        for layer, k, refs in pending:
            ready = len(produced[layer.name]) == k and all(
                name in produced and index < len(produced[name]) for name, index in refs
            )
            if not ready:
                remaining.append((layer, k, refs))
                continue
            inputs = [produced[name][index] for name, index in refs]
            produced[layer.name].append(_call(layer, inputs, budget))
        if len(remaining) == len(pending):
            layer, k, refs = remaining[0]
            missing = [f"{n}[{i}]" for n, i in refs if n not in produced or i >= len(produced[n])]
            raise ModelConfigError(
                f"layer {layer.name!r} node {k} reads {', '.join(missing) or 'itself'}, which "
                "no layer of the config produces"
            )
        pending = remaining

    def lookup(key: str) -> list[KerasTensor]:
        refs = config.get(key)
        _expect(isinstance(refs, list) and refs, f"the model config has no {key}")
        tensors = []
        for r in refs:
            name, index = _ref(r, key)
            _expect(
                name in produced and index < len(produced[name]),
                f"{key} names {name!r}[{index}], which the config does not produce",
            )
            tensors.append(produced[name][index])
        return tensors

    name = config.get("name")
    _expect(name is None or isinstance(name, str), "the model name must be text")
    inputs, outputs = lookup("input_layers"), lookup("output_layers")
    try:
        return Model(
            inputs[0] if len(inputs) == 1 else inputs,
            outputs[0] if len(outputs) == 1 else outputs,
            name=name,
        )
    except ValueError as exc:
        raise ModelConfigError(str(exc)) from None


def sequential_from_config(config: dict, param_budget: int | None = None):
    from engine.models.sequential import Sequential  # noqa: PLC0415 - avoids a cycle

    _expect(isinstance(config, dict), "the model config must be an object")
    entries = config.get("layers")
    _expect(isinstance(entries, list), "the model config has no layers list")
    name = config.get("name")
    _expect(name is None or isinstance(name, str), "the model name must be text")
    budget = _Budget(param_budget)
    model = Sequential(name=name)
    for i, entry in enumerate(entries):
        layer = _make_layer(entry, f"layer {i}")
        if model.built and not isinstance(layer, InputLayer):
            budget.charge(layer, model.outputs[0].shape)
        try:
            model.add(layer)
        except (ValueError, TypeError) as exc:
            raise ModelConfigError(f"layer {i} ({layer.name!r}): {exc}") from None
    return model


_BUILDERS = {
    "Sequential": sequential_from_config,
    "Functional": functional_from_config,
}


def serialize_model(model) -> dict[str, Any]:
    """``{"class_name": "Sequential" | "Functional", "config": ...}``."""
    from engine.models.sequential import Sequential  # noqa: PLC0415

    kind = "Sequential" if isinstance(model, Sequential) else "Functional"
    return {"class_name": kind, "config": model.get_config()}


def deserialize_model(data: dict, param_budget: int | None = None):
    """The inverse of :func:`serialize_model`; ``param_budget`` bounds the weights created."""
    _expect(isinstance(data, dict), "the model entry must be an object")
    kind = data.get("class_name")
    _expect(kind in _BUILDERS, f"unknown model class {kind!r}: expected Sequential or Functional")
    return _BUILDERS[kind](data.get("config"), param_budget)
