"""One small module per layer family mapping Keras layer classes to engine layer types and
back; :mod:`engine.keras_io.layers.registry` is the table they fill. :func:`load_mappings`
imports them all once (import and export call it before reading the table)."""

from __future__ import annotations

import importlib

_MODULES = (
    "core",
    "convolutional",
    "convolutional_more",
    "pooling",
    "normalization",
    "recurrent",
    "merging",
    "reshaping",
    "activations",
    "embedding",
    "resampling",
    "wrappers",
    "attention",
)

_loaded = False


def load_mappings() -> None:
    global _loaded
    if _loaded:
        return
    for module in _MODULES:
        importlib.import_module(f"engine.keras_io.layers.{module}")
    _loaded = True
