"""``Flatten``, ``Reshape`` and ``Permute`` read values in Keras's own axis order, so their
input is put back in that order first (the importer inserts a ``Permute`` after a
channels-first part of the graph). Keras's ``Flatten(data_format="channels_first")`` moves
the channels last before flattening; that too is a layout the importer provides.

On export, ``Flatten`` says ``channels_last`` explicitly: the engine flattens its array as
it is, which is what Keras does with that setting whatever the model's default."""

from __future__ import annotations

from engine.keras_io.layers.registry import (
    EngineNode,
    KerasMapping,
    Unsupported,
    need_identity,
    register,
)
from engine.keras_io.layouts import identity, moved_channels_last


def _flatten(config, inputs):
    rank = inputs[0].rank
    if config.get("data_format") == "channels_first":
        return EngineNode("Flatten", {}, [moved_channels_last(rank)], identity(2))
    return EngineNode("Flatten", {}, need_identity(inputs), identity(2))


def _reshape(config, inputs):
    target = config.get("target_shape")
    if not isinstance(target, list | tuple) or not all(isinstance(d, int) for d in target):
        raise Unsupported(f"target_shape {target!r} is not a list of integers")
    return EngineNode(
        "Reshape", {"target_shape": list(target)}, need_identity(inputs), identity(len(target) + 1)
    )


def _permute(config, inputs):
    dims = config.get("dims")
    if not isinstance(dims, list | tuple) or not all(isinstance(d, int) for d in dims):
        raise Unsupported(f"dims {dims!r} is not a list of integers")
    return EngineNode(
        "Permute", {"dims": list(dims)}, need_identity(inputs), identity(len(dims) + 1)
    )


register(
    KerasMapping("Flatten", "Flatten", _flatten, lambda layer: {"data_format": "channels_last"})
)
register(
    KerasMapping(
        "Reshape",
        "Reshape",
        _reshape,
        lambda layer: {"target_shape": list(layer.config["target_shape"])},
    )
)
register(
    KerasMapping("Permute", "Permute", _permute, lambda layer: {"dims": list(layer.config["dims"])})
)


def _repeat(config, inputs):
    return EngineNode("RepeatVector", {"n": int(config["n"])}, need_identity(inputs), identity(3))


register(
    KerasMapping("RepeatVector", "RepeatVector", _repeat, lambda layer: {"n": layer.config["n"]})
)
