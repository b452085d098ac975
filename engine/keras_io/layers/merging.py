"""``Add``, ``Subtract``, ``Multiply``, ``Average``, ``Maximum``, ``Minimum``, ``Dot`` and
``Concatenate``: every input is brought to the
first input's layout (a no-op unless branches differ), and Concatenate's ``axis`` is mapped
to where the engine holds it. ``Dot``'s axes count in Keras's order, so its inputs are
given in that order."""

from __future__ import annotations

from engine.keras_io.layers.registry import (
    EngineNode,
    KerasMapping,
    Unsupported,
    need_identity,
    register,
)
from engine.keras_io.layouts import engine_axis, is_identity


def _elementwise(engine_type):
    def to_engine(config, inputs):
        return EngineNode(engine_type, {}, [inputs[0].layout] * len(inputs))

    return to_engine


def _concatenate(config, inputs):
    axis = int(config.get("axis", -1))
    layout = inputs[0].layout
    if not is_identity(layout):
        try:
            axis = engine_axis(axis, layout)
        except ValueError as err:
            raise Unsupported(str(err)) from None
    return EngineNode("Concatenate", {"axis": axis}, [layout] * len(inputs))


def _dot(config, inputs):
    axes = config.get("axes", -1)
    axes = [axes, axes] if isinstance(axes, int) else list(axes)
    params = {"axes": axes, "normalize": bool(config.get("normalize", False))}
    return EngineNode("Dot", params, need_identity(inputs))


def _dot_to_keras(layer):
    return {"axes": list(layer.config["axes"]), "normalize": layer.config["normalize"]}


register(KerasMapping("Dot", "Dot", _dot, _dot_to_keras))

for _name in ("Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum"):
    register(KerasMapping(_name, _name, _elementwise(_name), lambda layer: {}))
register(
    KerasMapping(
        "Concatenate", "Concatenate", _concatenate, lambda layer: {"axis": layer.config["axis"]}
    )
)
