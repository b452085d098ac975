"""``BatchNormalization`` and ``LayerNormalization``: the weights are the same vectors in
both (``gamma``, ``beta``, then BatchNormalization's moving mean and variance); the ``axis``
is mapped to where the engine holds that Keras axis (the channels of an image moved first:
Keras's ``-1`` becomes the engine's ``1``)."""

from __future__ import annotations

from engine.keras_io.layers.common import keras_penalties, penalties, refuse_unless
from engine.keras_io.layers.registry import EngineNode, KerasMapping, Unsupported, register
from engine.keras_io.layouts import engine_axis, is_identity

NORM_PENALTIES = ("beta_regularizer", "gamma_regularizer", "beta_constraint", "gamma_constraint")


def _axis(config, inputs, default):
    axis = config.get("axis", default)
    if isinstance(axis, list | tuple):
        if len(axis) != 1:
            raise Unsupported(f"normalising over several axes {list(axis)} is not supported")
        axis = axis[0]
    if not isinstance(axis, int):
        raise Unsupported(f"axis {axis!r} is not an integer")
    layout = inputs[0].layout
    if is_identity(layout):
        return axis
    try:
        return engine_axis(axis, layout)
    except ValueError as err:
        raise Unsupported(str(err)) from None


def _batch_norm(config, inputs):
    refuse_unless(config, "renorm", (False,), "batch renormalization (renorm) is not supported")
    params = {
        "axis": _axis(config, inputs, -1),
        "momentum": float(config.get("momentum", 0.99)),
        "epsilon": float(config.get("epsilon", 1e-3)),
        "center": bool(config.get("center", True)),
        "scale": bool(config.get("scale", True)),
        **penalties(config, NORM_PENALTIES),
    }
    return EngineNode("BatchNormalization", params)


def _norm_to_keras(layer):
    c = layer.config
    out = {
        "axis": c["axis"],
        "epsilon": c["epsilon"],
        "center": c["center"],
        "scale": c["scale"],
        **keras_penalties(layer, NORM_PENALTIES),
    }
    if "momentum" in c:
        out["momentum"] = c["momentum"]
    return out


def _layer_norm(config, inputs):
    refuse_unless(config, "rms_scaling", (False,), "RMS scaling (rms_scaling) is not supported")
    params = {
        "axis": _axis(config, inputs, -1),
        "epsilon": float(config.get("epsilon", 1e-3)),
        "center": bool(config.get("center", True)),
        "scale": bool(config.get("scale", True)),
        **penalties(config, NORM_PENALTIES),
    }
    return EngineNode("LayerNormalization", params)


register(KerasMapping("BatchNormalization", "BatchNormalization", _batch_norm, _norm_to_keras))
register(KerasMapping("LayerNormalization", "LayerNormalization", _layer_norm, _norm_to_keras))


def _group_norm(config, inputs):
    params = {
        "groups": int(config.get("groups", 32)),
        "axis": _axis(config, inputs, -1),
        "epsilon": float(config.get("epsilon", 1e-3)),
        "center": bool(config.get("center", True)),
        "scale": bool(config.get("scale", True)),
        **penalties(config, NORM_PENALTIES),
    }
    return EngineNode("GroupNormalization", params)


def _group_norm_to_keras(layer):
    return {"groups": layer.config["groups"], **_norm_to_keras(layer)}


register(
    KerasMapping("GroupNormalization", "GroupNormalization", _group_norm, _group_norm_to_keras)
)
