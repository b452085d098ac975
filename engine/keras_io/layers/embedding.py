"""``Embedding``: the table is ``(input_dim, output_dim)`` in both. Keras 2's
``input_length`` only fixed the input shape, which the Input already gives."""

from __future__ import annotations

from engine.keras_io.layers.common import choices, initializer, keras_penalties, penalties
from engine.keras_io.layers.registry import (
    EngineNode,
    KerasMapping,
    Unsupported,
    need_identity,
    register,
)

EMBEDDING_PENALTIES = ("embeddings_regularizer", "activity_regularizer", "embeddings_constraint")


def _embedding(config, inputs):
    if config.get("lora_rank"):
        raise Unsupported("LoRA (lora_rank) is not supported")
    params = {
        "input_dim": int(config["input_dim"]),
        "output_dim": int(config["output_dim"]),
        "mask_zero": bool(config.get("mask_zero", False)),
        **initializer(
            config, "embeddings_initializer", choices("Embedding", "embeddings_initializer")
        ),
        **penalties(config, EMBEDDING_PENALTIES),
    }
    return EngineNode("Embedding", params, need_identity(inputs))


def _to_keras(layer):
    c = layer.config
    return {
        "input_dim": c["input_dim"],
        "output_dim": c["output_dim"],
        "mask_zero": c["mask_zero"],
        "embeddings_initializer": c["embeddings_initializer"],
        **keras_penalties(layer, EMBEDDING_PENALTIES),
    }


register(KerasMapping("Embedding", "Embedding", _embedding, _to_keras))
