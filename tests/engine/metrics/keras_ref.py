"""Keras 3 (torch backend) as the independent reference of the metric parity tests,
imported once with its import-time warnings silenced (pytest turns warnings into errors,
and these come from Keras and PyTorch, not from the engine), and a helper that feeds the
same batches to a Keras metric and to the engine's."""

from __future__ import annotations

import os
import warnings

import numpy as np
import pytest

from engine.autodiff.tensor import Tensor

os.environ.setdefault("KERAS_BACKEND", "torch")

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    keras = pytest.importorskip("keras")


def uneven_batches(n: int, sizes=(5, 1, 13, 7)):
    """Slices that cover ``range(n)`` in batches of uneven sizes (the last takes the rest)."""
    start, out = 0, []
    for size in sizes:
        if start >= n:
            break
        out.append(slice(start, min(n, start + size)))
        start += size
    if start < n:
        out.append(slice(start, n))
    return out


def both(ours, theirs, y_true, y_pred, sample_weight=None, batches=None):
    """Feed the same batches to the engine's metric and Keras's; return both results as
    float64 numpy values."""
    batches = batches or [slice(0, len(y_true))]
    ours.reset_state()
    theirs.reset_state()
    for part in batches:
        weight = None if sample_weight is None else sample_weight[part]
        ours.update_state(y_true[part], Tensor(y_pred[part]), sample_weight=weight)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            theirs.update_state(y_true[part], y_pred[part], sample_weight=weight)
    return np.asarray(ours.result(), dtype=np.float64), keras_value(theirs.result())


def keras_value(value) -> np.ndarray:
    """A Keras result as a float64 numpy value (torch's numpy conversion warns)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return np.asarray(keras.ops.convert_to_numpy(value), dtype=np.float64)
