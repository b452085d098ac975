"""Keras 3 on PyTorch as the independent reference for the loss parity tests.

Keras and torch are imported once here, with the warnings their imports raise silenced for
these imports only (pytest turns every other warning into an error). Every helper takes
plain numpy arrays and returns numpy arrays, so the tests never touch a torch tensor.
"""

import os
import warnings

import numpy as np

os.environ.setdefault("KERAS_BACKEND", "torch")
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import keras
    import torch

__all__ = ["keras", "keras_values", "keras_reduced", "keras_gradient"]


def _loss(class_name: str, config: dict, reduction, dtype: str):
    return getattr(keras.losses, class_name)(**config, reduction=reduction, dtype=dtype)


def _tensor(array, requires_grad=False):
    array = np.asarray(array)
    tensor = torch.tensor(array)
    if requires_grad:
        tensor.requires_grad_(True)
    return tensor


def keras_values(class_name: str, config: dict, y_true, y_pred) -> np.ndarray:
    """Keras's per-sample losses (``reduction=None``) in ``y_pred``'s dtype."""
    dtype = str(np.asarray(y_pred).dtype)
    loss = _loss(class_name, config, None, dtype)
    with torch.no_grad():
        out = loss(_tensor(y_true), _tensor(y_pred))
    return out.numpy()


def keras_reduced(class_name: str, config: dict, y_true, y_pred, sample_weight, reduction):
    """Keras's reduced loss (its reductions return float32 on the torch backend)."""
    dtype = str(np.asarray(y_pred).dtype)
    loss = _loss(class_name, config, reduction, dtype)
    weight = None if sample_weight is None else _tensor(sample_weight)
    with torch.no_grad():
        out = loss(_tensor(y_true), _tensor(y_pred), sample_weight=weight)
    return out.numpy()


def keras_gradient(class_name: str, config: dict, y_true, y_pred, weights) -> np.ndarray:
    """d sum(weights * per-sample loss) / d y_pred by torch autograd through Keras's loss,
    in float64 throughout (the per-sample path never leaves ``y_pred``'s dtype)."""
    loss = _loss(class_name, config, None, "float64")
    pred = _tensor(np.asarray(y_pred, np.float64), requires_grad=True)
    values = loss(_tensor(y_true), pred)
    weights = np.asarray(weights, np.float64).reshape((-1,) + (1,) * (values.ndim - 1))
    (values * _tensor(weights)).sum().backward()
    return pred.grad.numpy()
