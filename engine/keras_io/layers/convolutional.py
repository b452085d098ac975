"""``Conv2D``: Keras keeps its kernel as ``(kh, kw, in, filters)`` whatever its
``data_format``; the engine's is ``(filters, in, kh, kw)``. A channels-last Keras
convolution reads its input channels first in the engine (the importer inserts the
transpose), a ``channels_first`` one reads it as it is. Exported convolutions are
``channels_first``, the engine's own layout, so the Keras model computes on the same arrays.
"""

from __future__ import annotations

import numpy as np

from engine.keras_io.errors import KerasExportError
from engine.keras_io.layers.common import (
    choices,
    engine_activation,
    initializer,
    ints,
    keras_penalties,
    penalties,
)
from engine.keras_io.layers.registry import EngineNode, KerasMapping, register
from engine.keras_io.layouts import channels_first, identity

CONV_PENALTIES = (
    "kernel_regularizer",
    "bias_regularizer",
    "activity_regularizer",
    "kernel_constraint",
    "bias_constraint",
)


def spatial_layouts(config, inputs):
    """``(needs, output)`` for a layer with Keras's ``data_format``."""
    rank = inputs[0].rank
    if config.get("data_format", "channels_last") == "channels_first":
        return [identity(rank)], identity(rank)
    return [channels_first(rank)], channels_first(rank)


def _conv2d(config, inputs):
    needs, output = spatial_layouts(config, inputs)
    params = {
        "filters": int(config["filters"]),
        "kernel_size": ints(config["kernel_size"], 2, "kernel_size"),
        "strides": ints(config.get("strides", 1), 2, "strides"),
        "padding": config.get("padding", "valid"),
        "dilation_rate": ints(config.get("dilation_rate", 1), 2, "dilation_rate"),
        **({"groups": int(config["groups"])} if config.get("groups", 1) != 1 else {}),
        "activation": engine_activation(config, "Conv2D"),
        "use_bias": bool(config.get("use_bias", True)),
        **initializer(config, "kernel_initializer", choices("Conv2D", "kernel_initializer")),
        **penalties(config, CONV_PENALTIES),
    }
    return EngineNode("Conv2D", params, needs, output)


def keras_padding(layer) -> str:
    """Keras has only 'valid' and 'same'; explicit pads need a ZeroPadding2D in front."""
    padding = layer.config["padding"]
    if padding not in ("valid", "same"):
        raise KerasExportError(
            f"layer {layer.name!r} ({layer.type_name}) pads explicitly ({padding!r}); Keras "
            "layers pad only 'valid' or 'same': put a ZeroPadding2D before it and use 'valid'"
        )
    return padding


def _conv2d_to_keras(layer):
    c = layer.config
    return {
        "filters": c["filters"],
        "kernel_size": list(c["kernel_size"]),
        "strides": list(c["strides"]),
        "padding": keras_padding(layer),
        "data_format": "channels_first",
        "dilation_rate": list(c["dilation_rate"]),
        "groups": c.get("groups", 1),
        "activation": c["activation"],
        "use_bias": c["use_bias"],
        "kernel_initializer": c["kernel_initializer"],
        **keras_penalties(layer, CONV_PENALTIES),
    }


def kernel_to_engine(config, arrays):
    """Keras ``(k..., in, filters)`` -> engine ``(filters, in, k...)``."""
    kernel, *rest = arrays
    rank = kernel.ndim
    order = (rank - 1, rank - 2, *range(rank - 2))
    return [np.ascontiguousarray(kernel.transpose(order)), *rest]


def kernel_to_keras(layer, arrays):
    kernel, *rest = arrays
    rank = kernel.ndim
    order = (*range(2, rank), 1, 0)
    return [np.ascontiguousarray(kernel.transpose(order)), *rest]


register(
    KerasMapping("Conv2D", "Conv2D", _conv2d, _conv2d_to_keras, kernel_to_engine, kernel_to_keras)
)
