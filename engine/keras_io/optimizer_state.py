"""The optimizer's variables as Keras stores them, so a compiled export resumes training in
Keras where LayerCanvas stopped (and Keras does not warn that it skips them).

Keras's optimizer holds ``iterations`` and ``learning_rate``, then its slots, made by
``add_optimizer_variables`` calls: one call's slots are interleaved per model variable
(Adam: ``momentum_0, velocity_0, momentum_1, ...``), successive calls follow each other
(RMSprop: every ``velocity``, then every ``momentum``). Model variables come in the order of
``model.layers`` and, in each layer, its trainable weights. The engine keeps the same slots
under its own names, indexed by its own variable order, in its own weight layouts; each
slot array goes through the layer's ``weights_to_keras`` as the weights do.

Supported: SGD, Adam, AdamW and RMSprop without EMA or gradient accumulation (Keras adds
variables of its own for those). A model that has not been trained gets Keras's fresh state
(zero slots), which is what Keras would build.
"""

from __future__ import annotations

import numpy as np

from engine.keras_io.layers.registry import EXPORTS

__all__ = ["keras_optimizer_variables"]


def _adam(config):
    groups = [(("momentum", "m"), ("velocity", "v"))]
    if config.get("amsgrad"):
        groups.append((("velocity_hat", "vhat"),))
    return groups


# Keras optimizer class -> its add_optimizer_variables calls: ((Keras slot, engine slot), ...)
_GROUPS = {
    "SGD": lambda c: [(("momentum", "momentum"),)] if c.get("momentum", 0) > 0 else [],
    "Adam": _adam,
    "AdamW": _adam,
    "RMSprop": lambda c: (
        [(("velocity", "velocity"),)]
        + ([(("momentum", "momentum"),)] if c.get("momentum", 0) > 0 else [])
        + ([(("average_gradient", "average_gradient"),)] if c.get("centered") else [])
    ),
}


def keras_optimizer_variables(model, order: list[str], training: dict | None):
    """The arrays of Keras's ``optimizer/vars`` group, or None when they cannot be written
    (no training settings, or an optimizer this module does not know)."""
    from engine import optimizers  # noqa: PLC0415

    if not training or training.get("loss") is None:
        return None
    spec = training.get("optimizer") or {"name": "adam"}
    try:
        target = optimizers.get(spec)
    except (ValueError, KeyError, TypeError):
        return None
    config = target.get_config()
    groups = _GROUPS.get(type(target).__name__)
    if groups is None or config.get("use_ema") or config.get("gradient_accumulation_steps"):
        return None
    groups = groups(config)
    current = getattr(model, "optimizer", None)
    state, index = {}, {}
    if current is not None and type(current) is type(target):
        state = current.get_state()
        index = {id(w): i for i, w in enumerate(model.trainable_weights)}
    lr = state.get("learning_rate", config["learning_rate"])
    if not isinstance(lr, int | float | np.ndarray | np.generic):
        return None  # a schedule object: Keras keeps no learning_rate variable then
    per_slot: dict[str, list[np.ndarray]] = {}
    layers = {layer.name: layer for layer in model.layers}
    for name in order:
        layer = layers[name]
        if not layer.weights or not layer.trainable:
            continue
        for group in groups:
            for _, engine_slot in group:
                arrays = [_slot(state, engine_slot, index.get(id(w)), w) for w in layer.weights]
                keras_arrays = EXPORTS[layer.type_name].weights_to_keras(layer, arrays)
                kept = [a for a, w in zip(keras_arrays, layer.weights, strict=True) if w.trainable]
                per_slot.setdefault(engine_slot, []).extend(kept)
    out = [
        np.asarray(int(np.asarray(state.get("iterations", 0))), dtype=np.int64),
        np.asarray(float(np.asarray(lr)), dtype=np.float32),
    ]
    for group in groups:
        columns = [per_slot.get(engine_slot, []) for _, engine_slot in group]
        for row in zip(*columns, strict=True):
            out.extend(np.asarray(a, dtype=np.float32) for a in row)
    return out


def _slot(state, slot: str, index: int | None, weight) -> np.ndarray:
    value = state.get(f"{slot}/{index}") if index is not None else None
    if value is None or tuple(np.shape(value)) != tuple(weight.shape):
        return np.zeros(weight.shape, dtype=np.float32)
    return np.asarray(value, dtype=np.float32)
