"""Activation layers with parameters: ``LeakyReLU``, ``ELU``, ``Softmax``, ``ReLU``,
``PReLU`` (its ``shared_axes`` mapped to the engine's axes; the weights of a PReLU on a
channels-last image are transposed by the importer's layout) and ``GELU`` (export only: Keras
writes it as ``Activation("gelu")``)."""

from __future__ import annotations

from engine.keras_io.errors import KerasExportError
from engine.keras_io.layers.common import keras_penalties, penalties
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
    params = {
        "max_value": None if max_value is None else float(max_value),
        "negative_slope": float(config.get("negative_slope", 0.0) or 0.0),
        "threshold": float(config.get("threshold", 0.0) or 0.0),
    }
    return EngineNode("ReLU", {k: v for k, v in params.items() if v})


def _relu_to_keras(layer):
    c = layer.config
    return {
        "max_value": c.get("max_value"),
        "negative_slope": c.get("negative_slope", 0.0),
        "threshold": c.get("threshold", 0.0),
    }


def _prelu(config, inputs):
    layout = inputs[0].layout
    shared = config.get("shared_axes")
    params = {}
    if shared:
        axes = [shared] if isinstance(shared, int) else list(shared)
        params["shared_axes"] = sorted(engine_axis(int(a), layout) for a in axes)
    params.update(penalties(config, ("alpha_regularizer", "alpha_constraint")))
    return EngineNode("PReLU", params, weights_layout=layout)


def _prelu_to_keras(layer):
    shared = layer.config.get("shared_axes")
    return {
        "shared_axes": list(shared) if shared else None,
        **keras_penalties(layer, ("alpha_regularizer", "alpha_constraint")),
    }


def _gelu_to_keras(layer):
    if layer.config.get("approximate"):
        raise KerasExportError(
            f"layer {layer.name!r} (GELU): Keras has no layer for the tanh-approximate GELU; "
            "use approximate=False"
        )
    return {"activation": "gelu"}


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
register(KerasMapping("ReLU", "ReLU", _relu, _relu_to_keras))
register(KerasMapping("PReLU", "PReLU", _prelu, _prelu_to_keras))
# Keras has no GELU layer: the engine's exact GELU is written as Activation("gelu").
register(KerasMapping("GELU", "GELU", None, _gelu_to_keras, export_class="Activation"))
