"""Keras 3 (torch backend) as the independent reference of the regularizer and constraint
tests, imported once with its import-time warnings silenced (pytest turns warnings into
errors, and these come from Keras and PyTorch, not from the engine)."""

from __future__ import annotations

import os
import warnings

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "torch")

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    keras = pytest.importorskip("keras")


def to_numpy(value) -> np.ndarray:
    """A Keras (torch) tensor as a float64 numpy value (``.numpy()`` directly: Keras's
    ``convert_to_numpy`` goes through ``np.array(tensor)``, which warns on NumPy 2)."""
    if hasattr(value, "detach"):
        return value.detach().cpu().numpy().astype(np.float64)
    return np.asarray(value, dtype=np.float64)


def keras_tensor(array: np.ndarray):
    return keras.ops.convert_to_tensor(np.asarray(array, dtype=np.float32))
