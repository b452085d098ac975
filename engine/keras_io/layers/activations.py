"""Activation layers with parameters: ``LeakyReLU``, ``ELU``, ``Softmax``, and Keras's
``ReLU`` layer, which becomes ``Activation("relu")`` (or ``relu6``, or ``LeakyReLU``) when its
options match one of those and is refused otherwise."""

from __future__ import annotations

from engine.keras_io.layers.registry import EngineNode, KerasMapping, Unsupported, register
from engine.keras_io.layouts import engine_axis, is_identity


def _leaky(config, inputs):
    # Keras 3 names it negative_slope, Keras 2 alpha.
    slope = config.get("negative_slope", config.get("alpha", 0.3))
    return EngineNode("LeakyReLU", {"negative_slope": float(slope)})


def _elu(config, inputs):
    return EngineNode("ELU", {"alpha": float(config.get("alpha", 1.0))})


def _softmax(config, inputs):
    axis = config.get("axis", -1)
    if isinstance(axis, list | tuple):
        if len(axis) != 1:
            raise Unsupported(f"softmax over several axes {list(axis)} is not supported")
        axis = axis[0]
    layout = inputs[0].layout
    if not is_identity(layout):
        axis = engine_axis(int(axis), layout)
    return EngineNode("Softmax", {"axis": int(axis)})


def _relu(config, inputs):
    max_value = config.get("max_value")
    slope = float(config.get("negative_slope", 0.0) or 0.0)
    threshold = float(config.get("threshold", 0.0) or 0.0)
    if threshold != 0.0:
        raise Unsupported(f"threshold={threshold} is not supported")
    if max_value is None and slope == 0.0:
        return EngineNode("Activation", {"activation": "relu"})
    if max_value is not None and float(max_value) == 6.0 and slope == 0.0:
        return EngineNode("Activation", {"activation": "relu6"})
    if max_value is None:
        return EngineNode("LeakyReLU", {"negative_slope": slope})
    raise Unsupported(f"max_value={max_value} (other than 6) is not supported")


register(
    KerasMapping(
        "LeakyReLU",
        "LeakyReLU",
        _leaky,
        lambda layer: {"negative_slope": layer.config["negative_slope"]},
    )
)
register(KerasMapping("ELU", "ELU", _elu, lambda layer: {"alpha": layer.config["alpha"]}))
register(KerasMapping("Softmax", "Softmax", _softmax, lambda layer: {"axis": layer.config["axis"]}))
register(KerasMapping("ReLU", "Activation", _relu), export=False)
