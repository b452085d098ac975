"""Focal cross-entropies (``keras.losses.BinaryFocalCrossentropy`` and
``CategoricalFocalCrossentropy``; Lin et al., 2017, https://arxiv.org/abs/1708.02002).

A factor ``(1 - p_t) ** gamma`` scales each term of the cross-entropy down where the model
is already right (``p_t`` the probability it gives the true class), so training dwells on
the hard examples. ``gamma = 0`` gives back the plain cross-entropy (times ``alpha`` for the
categorical one).

They follow Keras's formulas step for step, logits included: ``from_logits=True`` turns the
logits into probabilities first (sigmoid / softmax), which are then clipped to
``[1e-7, 1 - 1e-7]`` like any other probabilities, so a logit of +-50 costs at most
``-log(1e-7)``, exactly as in Keras (unlike the plain cross-entropies, which run exact fused
kernels on logits).
"""

from __future__ import annotations

from collections.abc import Sequence

from engine import backend
from engine.autodiff import ops
from engine.autodiff.tensor import Tensor
from engine.losses.base import LossFunctionWrapper
from engine.losses.probabilistic import needs_class_axis
from engine.losses.targets import (
    EPSILON,
    align_targets,
    check_axis,
    check_label_smoothing,
    prepare,
    warn_if_probabilities,
)

__all__ = [
    "binary_focal_crossentropy",
    "categorical_focal_crossentropy",
    "BinaryFocalCrossentropy",
    "CategoricalFocalCrossentropy",
]


def _focal_factor(base: Tensor, gamma: float) -> Tensor | float:
    """``base ** gamma``; for ``gamma = 0`` the constant 1, whose gradient is 0 even where
    ``base`` is 0 (``0 * 0 ** -1`` would be NaN)."""
    return 1.0 if gamma == 0 else ops.power(base, gamma)


def binary_focal_crossentropy(
    y_true,
    y_pred,
    apply_class_balancing: bool = False,
    alpha: float = 0.25,
    gamma: float = 2.0,
    from_logits: bool = False,
    label_smoothing: float = 0.0,
    axis: int = -1,
) -> Tensor:
    """``(1 - p_t) ** gamma * bce`` per element, averaged over ``axis`` per sample.

    With ``apply_class_balancing`` each term is also weighted ``alpha`` for class 1 and
    ``1 - alpha`` for class 0.
    """
    y_true, y_pred = prepare(y_true, y_pred, "binary_focal_crossentropy")
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + 0.5 * label_smoothing
    if from_logits:
        warn_if_probabilities(y_pred, "binary_focal_crossentropy", stacklevel=4)
        y_pred = ops.sigmoid(y_pred)
    p = ops.clip(y_pred, EPSILON, 1.0 - EPSILON)
    bce = -(y_true * ops.log(p) + (1.0 - y_true) * ops.log(1.0 - p))
    # Keras measures p_t on the unclipped probabilities.
    p_t = y_true * y_pred + (1.0 - y_true) * (1.0 - y_pred)
    focal = _focal_factor(1.0 - p_t, gamma) * bce
    if apply_class_balancing:
        focal = (y_true * alpha + (1.0 - y_true) * (1.0 - alpha)) * focal
    return ops.mean(focal, axis=axis)


def _class_weights(alpha, like: Tensor, axis: int):
    """``alpha`` as a number, or a per-class array shaped to broadcast along ``axis``."""
    if isinstance(alpha, int | float):
        return float(alpha)
    xp = backend.xp
    classes = like.shape[axis]
    if len(alpha) != classes:
        raise ValueError(
            f"categorical_focal_crossentropy: alpha has {len(alpha)} class weights but the "
            f"model predicts {classes} classes; give one weight per class, or one number"
        )
    shape = [1] * like.ndim
    shape[axis] = classes
    return Tensor(xp.reshape(xp.asarray(list(alpha), dtype=like.dtype), tuple(shape)))


def categorical_focal_crossentropy(
    y_true,
    y_pred,
    alpha: float | Sequence[float] = 0.25,
    gamma: float = 2.0,
    from_logits: bool = False,
    label_smoothing: float = 0.0,
    axis: int = -1,
) -> Tensor:
    """``sum(alpha * (1 - p) ** gamma * -y_true * log(p))`` over the class ``axis``.

    ``alpha`` is one number or one weight per class (e.g. inverse class frequencies).
    """
    y_pred = needs_class_axis(y_pred, "categorical_focal_crossentropy")
    y_true = align_targets(y_true, y_pred, "categorical_focal_crossentropy")
    axis %= y_pred.ndim
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + label_smoothing / y_pred.shape[axis]
    if from_logits:
        warn_if_probabilities(y_pred, "categorical_focal_crossentropy", stacklevel=4)
        y_pred = ops.softmax(y_pred, axis=axis)
    p = y_pred / ops.sum_(y_pred, axis=axis, keepdims=True)
    p = ops.clip(p, EPSILON, 1.0 - EPSILON)
    cross_entropy = -y_true * ops.log(p)
    weighted = _focal_factor(1.0 - p, gamma) * _class_weights(alpha, y_pred, axis)
    return ops.sum_(weighted * cross_entropy, axis=axis)


def _check_gamma(gamma, loss_name: str) -> float:
    if isinstance(gamma, bool) or not isinstance(gamma, int | float) or not gamma >= 0:
        raise ValueError(f"{loss_name}: gamma must be a number >= 0, got {gamma!r}")
    return float(gamma)


def _check_alpha(alpha, loss_name: str, per_class: bool):
    """``alpha`` as a float (or, where ``per_class``, a list of floats), or a ValueError."""

    def number(value) -> bool:
        return isinstance(value, int | float) and not isinstance(value, bool) and value == value

    if number(alpha):
        return float(alpha)
    if per_class and isinstance(alpha, list | tuple) and alpha and all(map(number, alpha)):
        return [float(a) for a in alpha]
    allowed = "a number or a list of one number per class" if per_class else "a number"
    raise ValueError(f"{loss_name}: alpha must be {allowed}, got {alpha!r}")


class BinaryFocalCrossentropy(LossFunctionWrapper):
    """Binary cross-entropy scaled by ``(1 - p_t) ** gamma``, for imbalanced 0/1 targets.

    Args:
        apply_class_balancing: Whether to weight class 1 by alpha and class 0 by 1 - alpha.
        alpha: The weight of class 1 when apply_class_balancing is on (0.25 in the paper).
        gamma: The focusing parameter: how much easy examples are down-weighted (0: none).
        from_logits: Whether the predictions are logits rather than probabilities.
        label_smoothing: Squeeze the targets towards 0.5 by this much (0: no smoothing).
        axis: The axis along which the mean is taken.
    """

    def __init__(
        self,
        apply_class_balancing: bool = False,
        alpha: float = 0.25,
        gamma: float = 2.0,
        from_logits: bool = False,
        label_smoothing: float = 0.0,
        axis: int = -1,
        reduction: str = "sum_over_batch_size",
        name: str = "binary_focal_crossentropy",
    ):
        cls = "BinaryFocalCrossentropy"
        super().__init__(
            binary_focal_crossentropy,
            name=name,
            reduction=reduction,
            apply_class_balancing=bool(apply_class_balancing),
            alpha=_check_alpha(alpha, cls, per_class=False),
            gamma=_check_gamma(gamma, cls),
            from_logits=bool(from_logits),
            label_smoothing=check_label_smoothing(label_smoothing, cls),
            axis=check_axis(axis, cls),
        )


class CategoricalFocalCrossentropy(LossFunctionWrapper):
    """Categorical cross-entropy scaled by ``alpha * (1 - p) ** gamma`` per class.

    Args:
        alpha: A weight for every class (one number), or a list with one weight per class.
        gamma: The focusing parameter: how much easy examples are down-weighted (0: none).
        from_logits: Whether the predictions are logits rather than probabilities.
        label_smoothing: Mix the one-hot targets with the uniform distribution by this much.
        axis: The class axis.
    """

    def __init__(
        self,
        alpha: float | Sequence[float] = 0.25,
        gamma: float = 2.0,
        from_logits: bool = False,
        label_smoothing: float = 0.0,
        axis: int = -1,
        reduction: str = "sum_over_batch_size",
        name: str = "categorical_focal_crossentropy",
    ):
        cls = "CategoricalFocalCrossentropy"
        super().__init__(
            categorical_focal_crossentropy,
            name=name,
            reduction=reduction,
            alpha=_check_alpha(alpha, cls, per_class=True),
            gamma=_check_gamma(gamma, cls),
            from_logits=bool(from_logits),
            label_smoothing=check_label_smoothing(label_smoothing, cls),
            axis=check_axis(axis, cls),
        )
