"""Preparing what a loss compares: targets shaped like the predictions, integer class labels,
and the logits a fused kernel can run on.

Targets of shape ``(N,)`` fit predictions ``(N, 1)`` and the other way round; any other
shape mismatch is an error with a message saying what to change, never a silent broadcast.
"""

from __future__ import annotations

import warnings

import numpy as np

from engine import backend
from engine.autodiff import kernels_loss, ops
from engine.autodiff.tensor import Tensor, _as_array

__all__ = ["EPSILON", "align_targets", "sparse_labels", "rank_at_least_2", "logits_for"]

# Keras's backend epsilon: probabilities are clipped to [EPSILON, 1 - EPSILON] before a log.
EPSILON = 1e-7


def shape_text(shape) -> str:
    return "(" + ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


def align_targets(y_true, y_pred: Tensor, loss_name: str) -> Tensor:
    """``y_true`` as a Tensor in ``y_pred``'s dtype and shape (``(N,)`` and ``(N, 1)`` fit).

    Raises ``ValueError`` when the shapes cannot fit, rather than broadcasting ``(N,)``
    against ``(N, 1)`` into an ``(N, N)`` loss.
    """
    target = ops.as_tensor(y_true, like=y_pred)
    if target.dtype != y_pred.dtype:
        target = Tensor(backend.xp.astype(target.data, y_pred.dtype))
    t_shape, p_shape = target.shape, y_pred.shape
    if t_shape == p_shape:
        return target
    if len(t_shape) == len(p_shape) - 1 and p_shape[-1] == 1 and t_shape == p_shape[:-1]:
        return ops.reshape(target, p_shape)
    if len(t_shape) == len(p_shape) + 1 and t_shape[-1] == 1 and t_shape[:-1] == p_shape:
        return ops.reshape(target, p_shape)
    raise ValueError(
        f"{loss_name}: targets of shape {shape_text(t_shape)} do not fit predictions of shape "
        f"{shape_text(p_shape)}: {_mismatch_hint(loss_name, t_shape, p_shape)}"
    )


def _mismatch_hint(loss_name: str, t_shape, p_shape) -> str:
    if t_shape[:1] != p_shape[:1]:
        return "targets and inputs must have the same number of samples"
    if loss_name in ("categorical_crossentropy", "categorical_focal_crossentropy"):
        if len(t_shape) == len(p_shape) - 1 or (len(t_shape) == len(p_shape) and t_shape[-1] == 1):
            return (
                "these look like integer class labels; use sparse_categorical_crossentropy, "
                f"or one-hot encode them with {p_shape[-1]} columns"
            )
        return (
            f"categorical labels have {t_shape[-1]} columns but the model predicts "
            f"{p_shape[-1]} classes; give the output layer {t_shape[-1]} units or one-hot "
            f"encode the labels with {p_shape[-1]} columns"
        )
    binary = ("binary_crossentropy", "binary_focal_crossentropy")
    if loss_name in binary and p_shape[-1] != 1 and len(t_shape) < len(p_shape):
        return (
            f"{loss_name} needs one probability per target; give the output layer "
            "1 unit with a sigmoid, or use sparse_categorical_crossentropy for class labels"
        )
    return "the output layer must produce one value per target column"


def _is_integer(dtype) -> bool:
    isdtype = getattr(backend.xp, "isdtype", None)
    if isdtype is not None:
        return bool(isdtype(dtype, "integral"))
    return np.dtype(dtype).kind in "iu"


def sparse_labels(y_true, y_pred: Tensor, axis: int = -1):
    """Integer class labels as an int64 backend array of ``y_pred``'s shape without ``axis``.

    Accepts ``(N,)`` or ``(N, 1)`` for ``(N, C)`` predictions (and the same with a time
    axis); checks every label is a valid class.
    """
    xp = backend.xp
    labels = y_true.data if isinstance(y_true, Tensor) else _as_array(y_true)
    if not _is_integer(labels.dtype):
        labels = xp.astype(labels, xp.int64)
    p_shape = y_pred.shape
    axis %= len(p_shape)
    expected = p_shape[:axis] + p_shape[axis + 1 :]
    shape = tuple(labels.shape)
    if shape != expected and len(shape) == len(p_shape) and shape[axis] == 1:
        labels = xp.reshape(labels, expected)
        shape = expected
    if shape != expected:
        if shape == p_shape:
            hint = (
                "these look like one-hot labels; use categorical_crossentropy, or give "
                "integer class labels"
            )
        elif shape[:1] != p_shape[:1]:
            hint = "targets and inputs must have the same number of samples"
        else:
            hint = f"give one integer class label per prediction, shape {shape_text(expected)}"
        raise ValueError(
            f"sparse_categorical_crossentropy: labels of shape {shape_text(shape)} do not fit "
            f"predictions of shape {shape_text(p_shape)}: {hint}"
        )
    kernels_loss.check_sparse_labels(labels, p_shape[axis])
    return labels


def rank_at_least_2(y_pred: Tensor) -> Tensor:
    """A ``(N,)`` prediction is treated as ``(N, 1)`` so every sample keeps its own loss
    (its logits, if it carries them, are reshaped alike)."""
    if y_pred.ndim != 1:
        return y_pred
    column = (y_pred.shape[0], 1)
    out = ops.reshape(y_pred, column)
    if y_pred.logits is not None:
        out.logits = ops.reshape(y_pred.logits, column)
        out.logits_activation = y_pred.logits_activation
    return out


def prepare(y_true, y_pred, loss_name: str) -> tuple[Tensor, Tensor]:
    """Predictions as a Tensor of rank 2 or more, and targets aligned to them."""
    y_pred = rank_at_least_2(ops.as_tensor(y_pred))
    return align_targets(y_true, y_pred, loss_name), y_pred


def warn_if_probabilities(y_pred: Tensor, loss_name: str, stacklevel: int = 5) -> None:
    """``from_logits=True`` on the output of a sigmoid/softmax activation is a mistake."""
    made_by = getattr(y_pred, "logits_activation", None)
    if y_pred.logits is not None and made_by is not None:
        warnings.warn(
            f"{loss_name} got from_logits=True, but the predictions come out of a "
            f"{made_by} activation, so they are probabilities: use from_logits=False, or "
            "remove the activation from the output layer",
            UserWarning,
            stacklevel=stacklevel,
        )


def logits_for(y_pred: Tensor, from_logits: bool, activation: str, loss_name: str):
    """The logits to feed a fused kernel, or ``None`` for the clipped-probability path."""
    if from_logits:
        warn_if_probabilities(y_pred, loss_name)
        return y_pred
    if y_pred.logits is not None and getattr(y_pred, "logits_activation", None) == activation:
        return y_pred.logits
    return None


def check_label_smoothing(value, loss_name: str) -> float:
    """``label_smoothing`` as a float in [0, 1], or a ValueError naming it."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise ValueError(
            f"{loss_name}: label_smoothing must be a number from 0 to 1, got {value!r}"
        )
    return float(value)


def check_axis(axis, loss_name: str) -> int:
    """``axis`` as an int (Keras refuses a bool too), or a ValueError naming it."""
    if isinstance(axis, bool) or not isinstance(axis, int | np.integer):
        raise ValueError(f"{loss_name}: axis must be an integer, got {axis!r}")
    return int(axis)
