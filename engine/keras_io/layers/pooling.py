"""Pooling, 2-D and 1-D, window and global: no weights, only the layout of the channels
(2-D layers are channels first in the engine, 1-D ones keep Keras's sequence layout)."""

from __future__ import annotations

from engine.keras_io.layers.common import ints
from engine.keras_io.layers.convolutional import keras_padding, spatial_layouts
from engine.keras_io.layers.convolutional_more import sequence_layouts
from engine.keras_io.layers.registry import EngineNode, KerasMapping, register
from engine.keras_io.layouts import identity


def _window(engine_type):
    def to_engine(config, inputs):
        needs, output = spatial_layouts(config, inputs)
        strides = config.get("strides")
        params = {
            "pool_size": ints(config.get("pool_size", 2), 2, "pool_size"),
            "strides": None if strides is None else ints(strides, 2, "strides"),
            "padding": config.get("padding", "valid"),
        }
        return EngineNode(engine_type, params, needs, output)

    return to_engine


def _window_to_keras(layer):
    c = layer.config
    strides = c.get("strides")
    return {
        "pool_size": list(c["pool_size"]),
        "strides": list(strides) if strides is not None else None,
        "padding": keras_padding(layer),
        "data_format": "channels_first",
    }


def _global(engine_type):
    def to_engine(config, inputs):
        needs, output = spatial_layouts(config, inputs)
        keepdims = bool(config.get("keepdims", False))
        return EngineNode(
            engine_type,
            {"keepdims": keepdims} if keepdims else {},
            needs,
            output if keepdims else identity(2),
        )

    return to_engine


def _global_to_keras(layer):
    return {"data_format": "channels_first", "keepdims": layer.config["keepdims"]}


for _name in ("MaxPooling2D", "AveragePooling2D"):
    register(KerasMapping(_name, _name, _window(_name), _window_to_keras))
for _name in ("GlobalAveragePooling2D", "GlobalMaxPooling2D"):
    register(KerasMapping(_name, _name, _global(_name), _global_to_keras))


def _window_1d(engine_type):
    def to_engine(config, inputs):
        needs, output = sequence_layouts(config, inputs)
        strides = config.get("strides")
        params = {
            "pool_size": ints(config.get("pool_size", 2), 1, "pool_size"),
            "strides": None if strides is None else ints(strides, 1, "strides"),
            "padding": config.get("padding", "valid"),
        }
        return EngineNode(engine_type, params, needs, output)

    return to_engine


def _window_1d_to_keras(layer):
    c = layer.config
    strides = c.get("strides")
    return {
        "pool_size": list(c["pool_size"]),
        "strides": list(strides) if strides is not None else None,
        "padding": c["padding"],
        "data_format": "channels_last",
    }


def _global_1d(engine_type):
    def to_engine(config, inputs):
        needs, output = sequence_layouts(config, inputs)
        keepdims = bool(config.get("keepdims", False))
        return EngineNode(
            engine_type,
            {"keepdims": keepdims} if keepdims else {},
            needs,
            output if keepdims else identity(2),
        )

    return to_engine


for _name in ("MaxPooling1D", "AveragePooling1D"):
    register(KerasMapping(_name, _name, _window_1d(_name), _window_1d_to_keras))
for _name in ("GlobalAveragePooling1D", "GlobalMaxPooling1D"):
    register(
        KerasMapping(
            _name,
            _name,
            _global_1d(_name),
            lambda layer: {"data_format": "channels_last", "keepdims": layer.config["keepdims"]},
        )
    )
