"""``ZeroPadding2D``, ``Cropping2D`` and ``UpSampling2D``: spatial layers with Keras's
``data_format`` (a channels-last one reads channels first in the engine, as a convolution
does), exported ``channels_first``. Keras's padding and cropping forms (``1``, ``(1, 2)``,
``((1, 1), (2, 2))``) become the engine's ``((top, bottom), (left, right))``."""

from __future__ import annotations

from engine.keras_io.layers.common import ints
from engine.keras_io.layers.convolutional import spatial_layouts
from engine.keras_io.layers.registry import EngineNode, KerasMapping, Unsupported, register


def _pairs(value, what: str) -> list[list[int]]:
    if isinstance(value, int):
        return [[value, value], [value, value]]
    if isinstance(value, list | tuple) and len(value) == 2:
        if all(isinstance(v, int) for v in value):
            return [[value[0], value[0]], [value[1], value[1]]]
        if all(isinstance(v, list | tuple) and len(v) == 2 for v in value):
            return [[int(a), int(b)] for a, b in value]
    raise Unsupported(f"{what} {value!r} is not understood")


def _padding_layer(engine_type: str, key: str):
    def to_engine(config, inputs):
        needs, output = spatial_layouts(config, inputs)
        return EngineNode(engine_type, {key: _pairs(config.get(key, 1), key)}, needs, output)

    def to_keras(layer):
        value = layer.config[key]
        pairs = value if isinstance(value, list | tuple) else _pairs(value, key)
        return {key: [list(p) for p in _pairs(pairs, key)], "data_format": "channels_first"}

    return to_engine, to_keras


def _upsampling(config, inputs):
    needs, output = spatial_layouts(config, inputs)
    interpolation = config.get("interpolation", "nearest")
    if interpolation not in ("nearest", "bilinear"):
        raise Unsupported(f"interpolation {interpolation!r} is not supported")
    params = {"size": ints(config.get("size", 2), 2, "size"), "interpolation": interpolation}
    return EngineNode("UpSampling2D", params, needs, output)


def _upsampling_to_keras(layer):
    return {
        "size": list(layer.config["size"]),
        "interpolation": layer.config["interpolation"],
        "data_format": "channels_first",
    }


register(
    KerasMapping("ZeroPadding2D", "ZeroPadding2D", *_padding_layer("ZeroPadding2D", "padding"))
)
register(KerasMapping("Cropping2D", "Cropping2D", *_padding_layer("Cropping2D", "cropping")))
register(KerasMapping("UpSampling2D", "UpSampling2D", _upsampling, _upsampling_to_keras))
