"""``Bidirectional`` and ``TimeDistributed``: Keras nests the wrapped layer's config under
``layer``; the engine's wrapper holds the same arguments flat beside its own.

The wrapped layer is converted by its own mapping (so a TimeDistributed ``Conv2D`` transposes
its kernel and reads channels first, with the time axis kept second), and its weights sit
where Keras keeps them: ``forward_layer/cell`` then ``backward_layer/cell`` for
Bidirectional (the engine's ``forward_*`` then ``backward_*``), ``layer`` for
TimeDistributed.
"""

from __future__ import annotations

from engine.keras_io.layers.registry import (
    EXPORTS,
    IMPORTS,
    EngineNode,
    InputInfo,
    KerasMapping,
    Unsupported,
    register,
)
from engine.keras_io.layouts import Layout


def _inner_entry(config) -> tuple[str, dict]:
    inner = config.get("layer")
    if not isinstance(inner, dict) or not isinstance(inner.get("config"), dict):
        raise Unsupported("the wrapped layer has no config")
    return str(inner.get("class_name")), inner["config"]


def _schema_params(engine_type: str, params: dict, inner_type: str) -> dict:
    from engine.layers.base import get_layer_class  # noqa: PLC0415

    allowed = {p.name: p for p in get_layer_class(engine_type).params}
    inner_defaults = {p.name: p.default for p in get_layer_class(inner_type).params}
    out = {}
    for key, value in params.items():
        if key in allowed:
            out[key] = value
        elif value != inner_defaults.get(key):
            raise Unsupported(f"{engine_type}({inner_type}) does not take {key}={value!r}")
    return out


def _bidirectional(config, inputs):
    class_name, inner = _inner_entry(config)
    if class_name not in ("LSTM", "GRU", "SimpleRNN"):
        raise Unsupported(f"Bidirectional({class_name}) is not supported")
    backward = config.get("backward_layer")
    if isinstance(backward, dict):
        b = backward.get("config") or {}
        if backward.get("class_name") != class_name or b.get("units") != inner.get("units"):
            raise Unsupported("a backward layer unlike the forward one is not supported")
    merge_mode = config.get("merge_mode", "concat")
    if merge_mode not in ("concat", "sum", "mul", "ave"):
        raise Unsupported(f"merge_mode={merge_mode!r} is not supported (one output per node)")
    node = IMPORTS[class_name].to_engine({**inner, "go_backwards": False}, inputs)
    params = _schema_params("Bidirectional", node.params, class_name)
    params.update({"layer": class_name, "merge_mode": merge_mode})
    return EngineNode("Bidirectional", params, node.needs, notes=node.notes)


def _inner_layer(layer):
    from engine.layers.base import get_layer_class  # noqa: PLC0415

    return get_layer_class(layer.config["layer"])(
        name=f"{layer.name}_inner", **layer.inner_config()
    )


def _wrapped_config(layer) -> dict:
    inner = _inner_layer(layer)
    mapping = EXPORTS[inner.type_name]
    return {
        "module": "keras.layers",
        "class_name": mapping.export_class or mapping.keras_class,
        "config": {"name": inner.name, "dtype": "float32", **mapping.to_keras(inner)},
        "registered_name": None,
    }


def _bidirectional_to_keras(layer):
    return {"layer": _wrapped_config(layer), "merge_mode": layer.config["merge_mode"]}


def _lift(layout: Layout | None) -> Layout | None:
    """A per-step layout with the time axis (axis 1) put back, kept in place."""
    if layout is None:
        return None
    return (0, 1, *(a + 1 for a in layout[1:]))


def _time_distributed(config, inputs):
    class_name, inner = _inner_entry(config)
    mapping = IMPORTS.get(class_name)
    if mapping is None or class_name not in (
        "Dense",
        "Conv2D",
        "MaxPooling2D",
        "AveragePooling2D",
        "Flatten",
    ):
        raise Unsupported(f"TimeDistributed({class_name}) is not supported")
    outer = inputs[0]
    step_layout = (0, *(a - 1 for a in outer.layout[2:])) if outer.layout[1] == 1 else None
    if step_layout is None:
        raise Unsupported("the time axis must stay second")
    node = mapping.to_engine(inner, [InputInfo(outer.shape[1:], step_layout)])
    params = _schema_params("TimeDistributed", node.params, class_name)
    params["layer"] = class_name
    needs = [_lift(n) for n in node.needs] if node.needs is not None else None
    return EngineNode("TimeDistributed", params, needs, _lift(node.output), notes=node.notes)


def _time_distributed_to_keras(layer):
    return {"layer": _wrapped_config(layer)}


def _time_distributed_weights(config, arrays):
    class_name, inner = _inner_entry(config)
    return IMPORTS[class_name].weights_to_engine(inner, arrays)


def _time_distributed_weights_to_keras(layer, arrays):
    inner = _inner_layer(layer)
    return EXPORTS[inner.type_name].weights_to_keras(inner, arrays)


register(
    KerasMapping(
        "Bidirectional",
        "Bidirectional",
        _bidirectional,
        _bidirectional_to_keras,
        weight_groups=("forward_layer/cell", "backward_layer/cell"),
    )
)
register(
    KerasMapping(
        "TimeDistributed",
        "TimeDistributed",
        _time_distributed,
        _time_distributed_to_keras,
        _time_distributed_weights,
        _time_distributed_weights_to_keras,
        weight_groups=("layer",),
    )
)
