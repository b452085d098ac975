"""Finding weights that are not finite (NaN or infinity), and the warning that reports them.

A diverging training run can leave NaN or infinite weights; such a model predicts NaN for
every input. Loading one warns with :class:`NonFiniteWeightsWarning`, and the writers that
must never save or export one (training, ONNX export) ask :func:`nonfinite_weights` which
layers are affected.
"""

from __future__ import annotations

import numpy as np

from engine import backend

__all__ = ["NonFiniteWeightsWarning", "describe_nonfinite", "nonfinite_weights"]


class NonFiniteWeightsWarning(UserWarning):
    """A model whose weights hold NaN or infinite values (usually a diverged training run)."""


def nonfinite_weights(model) -> list[tuple[str, int]]:
    """``(layer_name, count)`` for every layer of ``model`` holding NaN or infinite weight
    values, in layer order; an empty list when every weight is finite."""
    found = []
    for layer in model.layers:
        count = 0
        for var in layer.weights:
            data = var.data
            xp = data.__array_namespace__() if hasattr(data, "__array_namespace__") else np
            # One fused pass on the array's own device; only a bad array comes to the host.
            if not bool(xp.all(xp.isfinite(data))):
                count += int(np.count_nonzero(~np.isfinite(backend.to_numpy(data))))
        if count:
            found.append((layer.name, count))
    return found


def describe_nonfinite(found: list[tuple[str, int]], limit: int = 4) -> str:
    """``found`` as text for a one-line message: ``dense_1 (12 values), dense_2 (3 values)``."""
    parts = [f"{name} ({count:,} value{'s' if count != 1 else ''})" for name, count in found]
    if len(parts) > limit:
        parts = [*parts[:limit], f"and {len(parts) - limit} more layer(s)"]
    return ", ".join(parts)
