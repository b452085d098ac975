"""``MultiHeadAttention``: the engine keeps Keras's weight layout (``query``, ``key``,
``value`` projections ``(d, heads, dim)`` with ``(heads, dim)`` biases, then the output
projection ``(heads, value_dim, out)``), stored by Keras under ``query_dense``,
``key_dense``, ``value_dense`` and ``output_dense``. The inputs are Keras's call arguments
in order (query, value, key); ``use_causal_mask``, a call argument in Keras, is a parameter
of the engine's node."""

from __future__ import annotations

from engine.keras_io.layers.common import (
    choices,
    initializer,
    keras_penalties,
    penalties,
    penalty_keys,
)
from engine.keras_io.layers.registry import (
    CALL_OPTIONS,
    EngineNode,
    KerasMapping,
    Unsupported,
    need_identity,
    register,
)


def _attention(config, inputs):
    axes = config.get("attention_axes")
    axes = [axes] if isinstance(axes, int) else axes
    if axes is not None and [a % inputs[0].rank for a in axes] != [1]:
        raise Unsupported(f"attention_axes={axes!r}: attention over the sequence axis only")
    for key in ("use_gate", "sliding_window"):
        if config.get(key):
            raise Unsupported(f"{key}={config[key]!r} is not supported")
    options = dict(config.get(CALL_OPTIONS) or {})
    causal = bool(options.pop("use_causal_mask", False))
    options.pop("training", None)
    if options.pop("return_attention_scores", False):
        raise Unsupported("return_attention_scores=True (a second output) is not supported")
    if options:
        raise Unsupported(f"call arguments {sorted(options)} are not supported")
    output_shape = config.get("output_shape")
    if isinstance(output_shape, list | tuple):
        if len(output_shape) != 1:
            raise Unsupported(f"output_shape={output_shape!r}: one size only")
        output_shape = output_shape[0]
    params = {
        "num_heads": int(config["num_heads"]),
        "key_dim": int(config["key_dim"]),
        "value_dim": int(config.get("value_dim") or config["key_dim"]),
        "dropout": float(config.get("dropout", 0.0)),
        "use_bias": bool(config.get("use_bias", True)),
        "use_causal_mask": causal,
        **initializer(
            config, "kernel_initializer", choices("MultiHeadAttention", "kernel_initializer")
        ),
        **penalties(config, penalty_keys("MultiHeadAttention")),
    }
    if output_shape is not None:
        params["output_shape"] = int(output_shape)
    return EngineNode("MultiHeadAttention", params, need_identity(inputs))


def _attention_to_keras(layer):
    c = layer.config
    return {
        "num_heads": c["num_heads"],
        "key_dim": c["key_dim"],
        "value_dim": c.get("value_dim"),
        "dropout": c["dropout"],
        "use_bias": c["use_bias"],
        "output_shape": c.get("output_shape"),
        "kernel_initializer": c["kernel_initializer"],
        **keras_penalties(layer, penalty_keys("MultiHeadAttention")),
    }


register(
    KerasMapping(
        "MultiHeadAttention",
        "MultiHeadAttention",
        _attention,
        _attention_to_keras,
        weight_groups=("query_dense", "key_dense", "value_dense", "output_dense"),
        call_kwargs=lambda layer: (
            {"use_causal_mask": True} if layer.config.get("use_causal_mask") else {}
        ),
        separate_inputs=True,
    )
)
