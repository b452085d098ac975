"""Hinge losses (``keras.losses``): hinge, squared hinge and categorical hinge, for models
that output scores (no activation) rather than probabilities.

``hinge`` and ``squared_hinge`` expect targets of -1 or 1; as in Keras, targets that are all
0 or 1 are read as 0 -> -1, 1 -> 1 (a batch-wide test, so a batch of only zeros becomes all
-1). ``categorical_hinge`` takes one-hot rows.
"""

from __future__ import annotations

from engine import backend
from engine.autodiff import ops
from engine.autodiff.tensor import Tensor
from engine.losses.base import LossFunctionWrapper
from engine.losses.probabilistic import needs_class_axis
from engine.losses.targets import align_targets, prepare

__all__ = [
    "hinge",
    "squared_hinge",
    "categorical_hinge",
    "Hinge",
    "SquaredHinge",
    "CategoricalHinge",
]


def _signed_labels(y_true: Tensor) -> Tensor:
    """0/1 targets as -1/1 (Keras's ``convert_binary_labels_to_hinge``); others unchanged.

    Costs one scalar device-to-host transfer per batch.
    """
    y = y_true.data
    if bool(backend.xp.all((y == 0) | (y == 1))):
        return 2.0 * y_true - 1.0
    return y_true


def _margin(y_true, y_pred, loss_name: str) -> Tensor:
    """``max(1 - y_true * y_pred, 0)`` elementwise, with -1/1 targets."""
    y_true, y_pred = prepare(y_true, y_pred, loss_name)
    y_true = _signed_labels(y_true)
    return ops.maximum(1.0 - y_true * y_pred, 0.0)


def hinge(y_true, y_pred) -> Tensor:
    """``mean(max(1 - y_true * y_pred, 0))`` over the last axis, per sample."""
    return ops.mean(_margin(y_true, y_pred, "hinge"), axis=-1)


def squared_hinge(y_true, y_pred) -> Tensor:
    """``mean(max(1 - y_true * y_pred, 0) ** 2)`` over the last axis, per sample."""
    return ops.mean(ops.square(_margin(y_true, y_pred, "squared_hinge")), axis=-1)


def categorical_hinge(y_true, y_pred) -> Tensor:
    """``max(neg - pos + 1, 0)`` per sample, with ``pos = sum(y_true * y_pred)`` (the true
    class's score) and ``neg = max((1 - y_true) * y_pred)`` (the best other score)."""
    y_pred = needs_class_axis(y_pred, "categorical_hinge")
    y_true = align_targets(y_true, y_pred, "categorical_hinge")
    pos = ops.sum_(y_true * y_pred, axis=-1)
    neg = ops.max_((1.0 - y_true) * y_pred, axis=-1)
    return ops.maximum(neg - pos + 1.0, 0.0)


class Hinge(LossFunctionWrapper):
    """Hinge loss for -1/1 (or 0/1) targets and score outputs."""

    def __init__(self, reduction: str = "sum_over_batch_size", name: str = "hinge"):
        super().__init__(hinge, name=name, reduction=reduction)


class SquaredHinge(LossFunctionWrapper):
    """Squared hinge loss for -1/1 (or 0/1) targets and score outputs."""

    def __init__(self, reduction: str = "sum_over_batch_size", name: str = "squared_hinge"):
        super().__init__(squared_hinge, name=name, reduction=reduction)


class CategoricalHinge(LossFunctionWrapper):
    """Multi-class hinge loss for one-hot targets and one score per class."""

    def __init__(self, reduction: str = "sum_over_batch_size", name: str = "categorical_hinge"):
        super().__init__(categorical_hinge, name=name, reduction=reduction)
