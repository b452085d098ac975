"""Regression losses (``keras.losses``): squared, absolute, Huber, log-cosh and cosine.

Each per-sample function reduces the last axis (cosine similarity: ``axis``); each class is
the function wrapped as a :class:`~engine.losses.base.Loss` with Keras's name and defaults.
"""

from __future__ import annotations

import math

from engine.autodiff import ops
from engine.autodiff.tensor import Tensor
from engine.losses.base import LossFunctionWrapper
from engine.losses.targets import EPSILON, check_axis, prepare

__all__ = [
    "mean_squared_error",
    "mean_absolute_error",
    "huber",
    "log_cosh",
    "cosine_similarity",
    "MeanSquaredError",
    "MeanAbsoluteError",
    "Huber",
    "LogCosh",
    "CosineSimilarity",
]


def mean_squared_error(y_true, y_pred) -> Tensor:
    """``mean((y_pred - y_true) ** 2)`` over the last axis, per sample."""
    y_true, y_pred = prepare(y_true, y_pred, "mean_squared_error")
    return ops.mean(ops.square(y_pred - y_true), axis=-1)


def mean_absolute_error(y_true, y_pred) -> Tensor:
    """``mean(|y_pred - y_true|)`` over the last axis, per sample."""
    y_true, y_pred = prepare(y_true, y_pred, "mean_absolute_error")
    return ops.mean(ops.abs_(y_pred - y_true), axis=-1)


def huber(y_true, y_pred, delta: float = 1.0) -> Tensor:
    """Quadratic ``0.5 x^2`` for ``|x| <= delta``, linear ``delta (|x| - delta / 2)`` beyond;
    ``x = y_pred - y_true``, averaged over the last axis per sample."""
    y_true, y_pred = prepare(y_true, y_pred, "huber_loss")
    abs_error = ops.abs_(y_pred - y_true)
    # Splitting |x| into min(|x|, delta) + the rest gives one smooth expression, no branch.
    quadratic = ops.minimum(abs_error, ops.as_tensor(float(delta), like=abs_error))
    linear = abs_error - quadratic
    return ops.mean(0.5 * ops.square(quadratic) + float(delta) * linear, axis=-1)


def log_cosh(y_true, y_pred) -> Tensor:
    """``mean(log(cosh(y_pred - y_true)))`` over the last axis, per sample.

    Written as Keras does, ``x + softplus(-2x) - log(2)``, so a large error never overflows
    ``cosh``: about ``x^2 / 2`` near zero and ``|x| - log(2)`` far away.
    """
    y_true, y_pred = prepare(y_true, y_pred, "log_cosh")
    x = y_pred - y_true
    return ops.mean(x + ops.softplus(-2.0 * x) - math.log(2.0), axis=-1)


def _l2_normalize(x: Tensor, axis: int) -> Tensor:
    """``x / max(||x||, EPSILON)`` along ``axis`` (Keras's ``normalize``); a zero vector
    stays zero. The bound is taken on the squared norm, so ``sqrt`` never sees 0 and the
    gradient stays finite."""
    squared = ops.sum_(ops.square(x), axis=axis, keepdims=True)
    floor = ops.as_tensor(EPSILON * EPSILON, like=squared)
    return x / ops.sqrt(ops.maximum(squared, floor))


def cosine_similarity(y_true, y_pred, axis: int = -1) -> Tensor:
    """``-sum(l2_normalize(y_true) * l2_normalize(y_pred))`` along ``axis``, per sample.

    The negative similarity, as in Keras, so that minimising it aligns the vectors: -1 for
    the same direction, 0 for orthogonal vectors (or a zero vector), 1 for opposite ones.
    """
    y_true, y_pred = prepare(y_true, y_pred, "cosine_similarity")
    return -ops.sum_(_l2_normalize(y_true, axis) * _l2_normalize(y_pred, axis), axis=axis)


class MeanSquaredError(LossFunctionWrapper):
    def __init__(self, reduction: str = "sum_over_batch_size", name: str = "mean_squared_error"):
        super().__init__(mean_squared_error, name=name, reduction=reduction)


class MeanAbsoluteError(LossFunctionWrapper):
    def __init__(self, reduction: str = "sum_over_batch_size", name: str = "mean_absolute_error"):
        super().__init__(mean_absolute_error, name=name, reduction=reduction)


class Huber(LossFunctionWrapper):
    """Huber loss: squared error near zero, absolute error beyond ``delta``.

    Args:
        delta: The error size at which the loss turns from quadratic to linear.
    """

    def __init__(
        self, delta: float = 1.0, reduction: str = "sum_over_batch_size", name: str = "huber_loss"
    ):
        if delta <= 0:
            raise ValueError(f"Huber delta must be positive, got {delta}")
        super().__init__(huber, name=name, reduction=reduction, delta=float(delta))


class LogCosh(LossFunctionWrapper):
    """Log of the hyperbolic cosine of the error: like MSE near zero, like MAE far away."""

    def __init__(self, reduction: str = "sum_over_batch_size", name: str = "log_cosh"):
        super().__init__(log_cosh, name=name, reduction=reduction)


class CosineSimilarity(LossFunctionWrapper):
    """Negative cosine similarity between targets and predictions along ``axis``.

    Args:
        axis: The axis along which the similarity is computed.
    """

    def __init__(
        self,
        axis: int = -1,
        reduction: str = "sum_over_batch_size",
        name: str = "cosine_similarity",
    ):
        axis = check_axis(axis, "CosineSimilarity")
        super().__init__(cosine_similarity, name=name, reduction=reduction, axis=axis)
