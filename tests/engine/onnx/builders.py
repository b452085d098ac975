"""Models for the ONNX tests: one layer type's example wrapped as ``Input -> layer -> output``,
with every weight moved away from its initial value (a BatchNormalization with zero mean and
unit variance would hide a wrong mapping)."""

from __future__ import annotations

import numpy as np

from engine.layers.base import Input


def functional_model(inputs, outputs, name=None):
    from engine.models.functional import Model  # noqa: PLC0415

    return Model(inputs, outputs, name=name)


def randomize_weights(model, seed: int = 0) -> None:
    """Fill every layer's weights with random values; variances stay positive."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        new = []
        for var, value in zip(layer.weights, layer.get_weights(), strict=True):
            if "variance" in var.name:
                new.append(rng.uniform(0.5, 1.5, size=value.shape))
            else:
                new.append(rng.normal(0.0, 0.5, size=value.shape))
        if new:
            layer.set_weights([v.astype(np.float32) for v in new])


def example_model(cls, example: dict, seed: int = 0):
    """``Input(s) -> cls(**config) -> output`` for one entry of ``cls.examples``."""
    shapes = example["input_shape"]
    multi = cls.max_inputs != 1
    shapes = [tuple(s) for s in shapes] if multi else [tuple(shapes)]
    dtype = example.get("input_dtype", "float32")
    inputs = [Input(s, dtype=dtype) for s in shapes]
    layer = cls(**example["config"])
    out = layer(inputs if multi else inputs[0])
    model = functional_model(inputs if multi else inputs[0], out, name=f"{cls.type_name}_example")
    randomize_weights(model, seed)
    return model


def example_cases(layer_types: dict) -> list[tuple[str, type, int, dict]]:
    """(type name, class, index, example) for every example of every registered type."""
    return [
        (name, cls, i, example)
        for name, cls in sorted(layer_types.items())
        for i, example in enumerate(cls.examples)
    ]
