"""Probabilistic losses (``keras.losses``): the cross-entropies, KL divergence and Poisson.

Cross-entropies on logits use the fused kernels of :mod:`engine.autodiff.kernels_loss`.
With ``from_logits=False`` a prediction made by :func:`engine.activations.softmax` /
``sigmoid`` carries its logits (``y_pred.logits``), and the fused kernel runs on those, as
Keras does: exact and stable, and equal (up to rounding) to clipping the probabilities to
``[1e-7, 1 - 1e-7]``, which is what happens for any other probability tensor.
"""

from __future__ import annotations

from engine import backend
from engine.autodiff import kernels_loss, ops
from engine.autodiff.tensor import Tensor
from engine.losses.base import LossFunctionWrapper
from engine.losses.targets import (
    EPSILON,
    align_targets,
    check_axis,
    check_label_smoothing,
    logits_for,
    prepare,
    shape_text,
    sparse_labels,
)

__all__ = [
    "binary_crossentropy",
    "categorical_crossentropy",
    "sparse_categorical_crossentropy",
    "kl_divergence",
    "poisson",
    "BinaryCrossentropy",
    "CategoricalCrossentropy",
    "SparseCategoricalCrossentropy",
    "KLDivergence",
    "Poisson",
]


def binary_crossentropy(
    y_true, y_pred, from_logits: bool = False, label_smoothing: float = 0.0, axis: int = -1
) -> Tensor:
    """Binary cross-entropy per element, averaged over ``axis`` per sample.

    Labels are 0/1 (or soft); ``label_smoothing`` pulls them towards 0.5 as in Keras.
    """
    y_true, y_pred = prepare(y_true, y_pred, "binary_crossentropy")
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + 0.5 * label_smoothing
    logits = logits_for(y_pred, from_logits, "sigmoid", "binary_crossentropy")
    if logits is not None:
        return ops.mean(kernels_loss.sigmoid_cross_entropy(y_true, logits), axis=axis)
    p = ops.clip(y_pred, EPSILON, 1.0 - EPSILON)
    elementwise = -(y_true * ops.log(p) + (1.0 - y_true) * ops.log(1.0 - p))
    return ops.mean(elementwise, axis=axis)


def categorical_from_probabilities(y_true: Tensor, y_pred: Tensor, axis: int) -> Tensor:
    """Keras's probability path: renormalise, clip to [eps, 1 - eps], ``-sum(y log p)``."""
    p = y_pred / ops.sum_(y_pred, axis=axis, keepdims=True)
    p = ops.clip(p, EPSILON, 1.0 - EPSILON)
    return -ops.sum_(y_true * ops.log(p), axis=axis)


def _is_last_axis(axis: int, ndim: int) -> bool:
    return axis % ndim == ndim - 1


def needs_class_axis(y_pred, loss_name: str) -> Tensor:
    """``y_pred`` as a Tensor with a class axis, or a ValueError saying how to get one."""
    y_pred = ops.as_tensor(y_pred)
    if y_pred.ndim < 2:
        raise ValueError(
            f"{loss_name} needs predictions with a class axis, got shape "
            f"{shape_text(y_pred.shape)}: end the model with a Dense layer of one unit per class"
        )
    return y_pred


def categorical_crossentropy(
    y_true, y_pred, from_logits: bool = False, label_smoothing: float = 0.0, axis: int = -1
) -> Tensor:
    """``-sum(y_true * log(p))`` over the class ``axis`` for one-hot (or soft) labels.

    ``label_smoothing`` mixes the labels with the uniform distribution over classes.
    """
    y_pred = needs_class_axis(y_pred, "categorical_crossentropy")
    y_true = align_targets(y_true, y_pred, "categorical_crossentropy")
    if label_smoothing:
        num_classes = y_pred.shape[axis]
        y_true = y_true * (1.0 - label_smoothing) + label_smoothing / num_classes
    if from_logits or _is_last_axis(axis, y_pred.ndim):
        logits = logits_for(y_pred, from_logits, "softmax", "categorical_crossentropy")
    else:
        logits = None  # the softmax shortcut is over the last axis only
    if logits is not None:
        return kernels_loss.softmax_cross_entropy(y_true, logits, axis)
    return categorical_from_probabilities(y_true, y_pred, axis)


def sparse_categorical_crossentropy(
    y_true, y_pred, from_logits: bool = False, axis: int = -1
) -> Tensor:
    """Categorical cross-entropy with integer class labels (``(N,)`` or ``(N, 1)``)."""
    y_pred = needs_class_axis(y_pred, "sparse_categorical_crossentropy")
    labels = sparse_labels(y_true, y_pred, axis)
    if from_logits or _is_last_axis(axis, y_pred.ndim):
        logits = logits_for(y_pred, from_logits, "softmax", "sparse_categorical_crossentropy")
    else:
        logits = None
    if logits is not None:
        return kernels_loss.sparse_softmax_cross_entropy(labels, logits, axis)
    xp = backend.xp
    ndim = y_pred.ndim
    axis %= ndim
    class_shape = [1] * ndim
    class_shape[axis] = y_pred.shape[axis]
    classes = xp.reshape(xp.arange(y_pred.shape[axis], dtype=labels.dtype), tuple(class_shape))
    expanded = xp.reshape(labels, tuple(y_pred.shape[:axis]) + (1,) + y_pred.shape[axis + 1 :])
    onehot = Tensor(xp.astype(expanded == classes, y_pred.dtype))
    return categorical_from_probabilities(onehot, y_pred, axis)


def kl_divergence(y_true, y_pred) -> Tensor:
    """``sum(y_true * log(y_true / y_pred))`` over the last axis, per sample.

    Both are probability distributions; as in Keras both are clipped to ``[1e-7, 1]`` first,
    so a zero target adds (almost) nothing and a zero prediction costs ``log(1e7)``.
    """
    y_true, y_pred = prepare(y_true, y_pred, "kl_divergence")
    y_true = ops.clip(y_true, EPSILON, 1.0)
    y_pred = ops.clip(y_pred, EPSILON, 1.0)
    return ops.sum_(y_true * ops.log(y_true / y_pred), axis=-1)


def poisson(y_true, y_pred) -> Tensor:
    """``mean(y_pred - y_true * log(y_pred + 1e-7))`` over the last axis, per sample: the
    negative log-likelihood of counts ``y_true`` under a Poisson rate ``y_pred`` (up to a
    term that does not depend on the prediction)."""
    y_true, y_pred = prepare(y_true, y_pred, "poisson")
    return ops.mean(y_pred - y_true * ops.log(y_pred + EPSILON), axis=-1)


class BinaryCrossentropy(LossFunctionWrapper):
    """Binary cross-entropy for 0/1 targets (one sigmoid unit per target)."""

    def __init__(
        self,
        from_logits: bool = False,
        label_smoothing: float = 0.0,
        axis: int = -1,
        reduction: str = "sum_over_batch_size",
        name: str = "binary_crossentropy",
    ):
        super().__init__(
            binary_crossentropy,
            name=name,
            reduction=reduction,
            from_logits=bool(from_logits),
            label_smoothing=check_label_smoothing(label_smoothing, "BinaryCrossentropy"),
            axis=check_axis(axis, "BinaryCrossentropy"),
        )


class CategoricalCrossentropy(LossFunctionWrapper):
    """Cross-entropy for one-hot targets (a softmax output, one unit per class)."""

    def __init__(
        self,
        from_logits: bool = False,
        label_smoothing: float = 0.0,
        axis: int = -1,
        reduction: str = "sum_over_batch_size",
        name: str = "categorical_crossentropy",
    ):
        super().__init__(
            categorical_crossentropy,
            name=name,
            reduction=reduction,
            from_logits=bool(from_logits),
            label_smoothing=check_label_smoothing(label_smoothing, "CategoricalCrossentropy"),
            axis=check_axis(axis, "CategoricalCrossentropy"),
        )


class SparseCategoricalCrossentropy(LossFunctionWrapper):
    """Cross-entropy for integer class labels (a softmax output, one unit per class).

    Keras's version has no ``label_smoothing``; neither has this one."""

    def __init__(
        self,
        from_logits: bool = False,
        axis: int = -1,
        reduction: str = "sum_over_batch_size",
        name: str = "sparse_categorical_crossentropy",
    ):
        super().__init__(
            sparse_categorical_crossentropy,
            name=name,
            reduction=reduction,
            from_logits=bool(from_logits),
            axis=check_axis(axis, "SparseCategoricalCrossentropy"),
        )


class KLDivergence(LossFunctionWrapper):
    """Kullback-Leibler divergence from the target distribution to the predicted one."""

    def __init__(self, reduction: str = "sum_over_batch_size", name: str = "kl_divergence"):
        super().__init__(kl_divergence, name=name, reduction=reduction)


class Poisson(LossFunctionWrapper):
    """Poisson loss for count targets and positive predicted rates (e.g. an exp output)."""

    def __init__(self, reduction: str = "sum_over_batch_size", name: str = "poisson"):
        super().__init__(poisson, name=name, reduction=reduction)
