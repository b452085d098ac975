"""``Conv1D``, ``Conv2DTranspose``, ``DepthwiseConv2D`` and ``SeparableConv2D``.

The engine keeps sequences as Keras does, ``(steps, features)``, so a channels-last
``Conv1D`` reads its input as it is (a ``channels_first`` one gets the transpose). The 2-D
layers are channels first as ``Conv2D`` is. Kernels move between Keras's layout and the
engine's (each layer's docstring in ``engine/layers`` gives it):

- Conv1D ``(k, in, filters)`` <-> ``(filters, in, k)``;
- Conv2DTranspose ``(kh, kw, filters, in)`` <-> ``(in, filters, kh, kw)``;
- depthwise kernels ``(kh, kw, C, M)`` <-> ``(C, M, kh, kw)``;
- SeparableConv2D's pointwise kernel ``(1, 1, C*M, filters)`` <-> ``(filters, C*M, 1, 1)``.
"""

from __future__ import annotations

import numpy as np

from engine.keras_io.layers.common import (
    choices,
    engine_activation,
    initializer,
    ints,
    keras_penalties,
    penalties,
    penalty_keys,
)
from engine.keras_io.layers.convolutional import (
    keras_padding,
    kernel_to_engine,
    kernel_to_keras,
    spatial_layouts,
)
from engine.keras_io.layers.registry import EngineNode, KerasMapping, register
from engine.keras_io.layouts import identity


def sequence_layouts(config, inputs):
    """``(needs, output)`` of a 1-D layer: Keras's channels-last sequences are the engine's."""
    if config.get("data_format", "channels_last") == "channels_first":
        return [(0, 2, 1)], (0, 2, 1)
    return [identity(3)], identity(3)


def _common(config, engine_type, n):
    params = {
        "kernel_size": ints(config["kernel_size"], n, "kernel_size"),
        "strides": ints(config.get("strides", 1), n, "strides"),
        "padding": config.get("padding", "valid"),
        "dilation_rate": ints(config.get("dilation_rate", 1), n, "dilation_rate"),
        "activation": engine_activation(config, engine_type),
        "use_bias": bool(config.get("use_bias", True)),
        **penalties(config, penalty_keys(engine_type)),
    }
    for key in ("kernel_initializer", "depthwise_initializer", "pointwise_initializer"):
        params.update(initializer(config, key, choices(engine_type, key)))
    return params


def _keras_common(layer, n):
    c = layer.config
    out = {
        "kernel_size": list(c["kernel_size"]),
        "strides": list(c["strides"]),
        "padding": keras_padding(layer) if n == 2 else c["padding"],
        "dilation_rate": list(c["dilation_rate"]),
        "activation": c["activation"],
        "use_bias": c["use_bias"],
        **keras_penalties(layer, penalty_keys(layer.type_name)),
    }
    for key in ("kernel_initializer", "depthwise_initializer", "pointwise_initializer"):
        if key in c:
            out[key] = c[key]
    return out


def _conv1d(config, inputs):
    needs, output = sequence_layouts(config, inputs)
    params = {"filters": int(config["filters"]), **_common(config, "Conv1D", 1)}
    if config.get("groups", 1) != 1:
        params["groups"] = int(config["groups"])
    return EngineNode("Conv1D", params, needs, output)


def _conv1d_to_keras(layer):
    return {
        "filters": layer.config["filters"],
        "groups": layer.config.get("groups", 1),
        "data_format": "channels_last",
        **_keras_common(layer, 1),
    }


def _transpose(config, inputs):
    needs, output = spatial_layouts(config, inputs)
    params = {"filters": int(config["filters"]), **_common(config, "Conv2DTranspose", 2)}
    if config.get("output_padding") is not None:
        params["output_padding"] = ints(config["output_padding"], 2, "output_padding")
    return EngineNode("Conv2DTranspose", params, needs, output)


def _transpose_to_keras(layer):
    padding = layer.config.get("output_padding")
    return {
        "filters": layer.config["filters"],
        "output_padding": list(padding) if padding is not None else None,
        "data_format": "channels_first",
        **_keras_common(layer, 2),
    }


def _depthwise(config, inputs):
    needs, output = spatial_layouts(config, inputs)
    params = {
        "depth_multiplier": int(config.get("depth_multiplier", 1)),
        **_common(config, "DepthwiseConv2D", 2),
    }
    return EngineNode("DepthwiseConv2D", params, needs, output)


def _depthwise_to_keras(layer):
    return {
        "depth_multiplier": layer.config["depth_multiplier"],
        "data_format": "channels_first",
        **_keras_common(layer, 2),
    }


def _separable(config, inputs):
    needs, output = spatial_layouts(config, inputs)
    params = {
        "filters": int(config["filters"]),
        "depth_multiplier": int(config.get("depth_multiplier", 1)),
        **_common(config, "SeparableConv2D", 2),
    }
    return EngineNode("SeparableConv2D", params, needs, output)


def _separable_to_keras(layer):
    return {
        "filters": layer.config["filters"],
        "depth_multiplier": layer.config["depth_multiplier"],
        "data_format": "channels_first",
        **_keras_common(layer, 2),
    }


def _depthwise_to_engine(config, arrays):
    kernel, *rest = arrays
    return [np.ascontiguousarray(kernel.transpose(2, 3, 0, 1)), *rest]


def _depthwise_to_keras_weights(layer, arrays):
    kernel, *rest = arrays
    return [np.ascontiguousarray(kernel.transpose(2, 3, 0, 1)), *rest]


def _separable_to_engine(config, arrays):
    depthwise, pointwise, *rest = arrays
    return [
        np.ascontiguousarray(depthwise.transpose(2, 3, 0, 1)),
        np.ascontiguousarray(pointwise.transpose(3, 2, 0, 1)),
        *rest,
    ]


def _separable_to_keras_weights(layer, arrays):
    depthwise, pointwise, *rest = arrays
    return [
        np.ascontiguousarray(depthwise.transpose(2, 3, 0, 1)),
        np.ascontiguousarray(pointwise.transpose(2, 3, 1, 0)),
        *rest,
    ]


register(
    KerasMapping("Conv1D", "Conv1D", _conv1d, _conv1d_to_keras, kernel_to_engine, kernel_to_keras)
)
register(
    KerasMapping(
        "Conv2DTranspose",
        "Conv2DTranspose",
        _transpose,
        _transpose_to_keras,
        kernel_to_engine,
        kernel_to_keras,
    )
)
register(
    KerasMapping(
        "DepthwiseConv2D",
        "DepthwiseConv2D",
        _depthwise,
        _depthwise_to_keras,
        _depthwise_to_engine,
        _depthwise_to_keras_weights,
    )
)
register(
    KerasMapping(
        "SeparableConv2D",
        "SeparableConv2D",
        _separable,
        _separable_to_keras,
        _separable_to_engine,
        _separable_to_keras_weights,
    )
)
