"""``InputLayer``, ``Dense``, ``Activation`` and ``Dropout``.

``Dense`` acts on the last axis, so its input is put back in Keras's own axis order first
(an identity for the usual flat input). Its kernel is ``(in, units)`` in both.
"""

from __future__ import annotations

from engine.keras_io.layers.common import (
    choices,
    engine_activation,
    initializer,
    keras_penalties,
    penalties,
)
from engine.keras_io.layers.registry import (
    EngineNode,
    KerasMapping,
    Unsupported,
    need_identity,
    register,
)
from engine.keras_io.layouts import identity

DENSE_PENALTIES = (
    "kernel_regularizer",
    "bias_regularizer",
    "activity_regularizer",
    "kernel_constraint",
    "bias_constraint",
)


def _input(config, inputs):
    shape = config.get("batch_shape")
    if not isinstance(shape, list) or len(shape) < 2:
        raise Unsupported(f"input shape {shape!r} has no per-sample dimensions")
    dims = shape[1:]
    if not all(isinstance(d, int) and d > 0 for d in dims):
        raise Unsupported(
            f"input shape {shape!r} has unknown dimensions; LayerCanvas needs fixed sizes "
            "(give the Input a full shape)"
        )
    dtype = config.get("dtype", "float32")
    if isinstance(dtype, dict):
        dtype = (dtype.get("config") or {}).get("name", "float32")
    engine_dtype = "int64" if str(dtype).startswith(("int", "uint")) else "float32"
    params = {"shape": list(dims)}
    if engine_dtype != "float32":
        params["dtype"] = engine_dtype
    return EngineNode("Input", params, [], identity(len(shape)))


def _input_to_keras(layer):
    return {"batch_shape": [None, *layer.config["shape"]], "dtype": layer.config.get("dtype")}


register(KerasMapping("InputLayer", "Input", _input, _input_to_keras))


def _dense(config, inputs):
    if config.get("lora_rank"):
        raise Unsupported("LoRA (lora_rank) is not supported")
    params = {
        "units": int(config["units"]),
        "activation": engine_activation(config, "Dense"),
        "use_bias": bool(config.get("use_bias", True)),
        **initializer(config, "kernel_initializer", choices("Dense", "kernel_initializer")),
        **penalties(config, DENSE_PENALTIES),
    }
    return EngineNode("Dense", params, need_identity(inputs))


def _dense_to_keras(layer):
    c = layer.config
    return {
        "units": c["units"],
        "activation": c["activation"],
        "use_bias": c["use_bias"],
        "kernel_initializer": c["kernel_initializer"],
        **keras_penalties(layer, DENSE_PENALTIES),
    }


register(KerasMapping("Dense", "Dense", _dense, _dense_to_keras))


def _activation(config, inputs):
    return EngineNode("Activation", {"activation": engine_activation(config, "Activation")})


register(
    KerasMapping(
        "Activation",
        "Activation",
        _activation,
        lambda layer: {"activation": layer.config["activation"]},
    )
)


def _dropout(config, inputs):
    if config.get("noise_shape") is not None:
        raise Unsupported("noise_shape is not supported")
    params = {"rate": float(config.get("rate", 0.5))}
    if config.get("seed") is not None:
        params["seed"] = int(config["seed"])
    return EngineNode("Dropout", params)


register(
    KerasMapping(
        "Dropout",
        "Dropout",
        _dropout,
        lambda layer: {"rate": layer.config["rate"], "seed": layer.config.get("seed")},
    )
)


def _noise(engine_type: str, key: str):
    """Layers that act only while training (the identity at inference)."""

    def to_engine(config, inputs):
        params = {key: float(config.get(key, 0.5))}
        if config.get("seed") is not None:
            params["seed"] = int(config["seed"])
        return EngineNode(engine_type, params)

    def to_keras(layer):
        return {key: layer.config[key], "seed": layer.config.get("seed")}

    return to_engine, to_keras


register(KerasMapping("GaussianNoise", "GaussianNoise", *_noise("GaussianNoise", "stddev")))
register(KerasMapping("GaussianDropout", "GaussianDropout", *_noise("GaussianDropout", "rate")))
register(KerasMapping("SpatialDropout1D", "SpatialDropout1D", *_noise("SpatialDropout1D", "rate")))


def _spatial_dropout_2d(config, inputs):
    from engine.keras_io.layers.convolutional import spatial_layouts  # noqa: PLC0415

    needs, output = spatial_layouts(config, inputs)  # whole channels are dropped
    node = _noise("SpatialDropout2D", "rate")[0](config, inputs)
    return EngineNode("SpatialDropout2D", node.params, needs, output)


register(
    KerasMapping(
        "SpatialDropout2D",
        "SpatialDropout2D",
        _spatial_dropout_2d,
        lambda layer: {
            "rate": layer.config["rate"],
            "seed": layer.config.get("seed"),
            "data_format": "channels_first",
        },
    )
)


def _activity_regularization(config, inputs):
    return EngineNode(
        "ActivityRegularization",
        {"l1": float(config.get("l1", 0.0)), "l2": float(config.get("l2", 0.0))},
    )


register(
    KerasMapping(
        "ActivityRegularization",
        "ActivityRegularization",
        _activity_regularization,
        lambda layer: {"l1": layer.config["l1"], "l2": layer.config["l2"]},
    )
)
