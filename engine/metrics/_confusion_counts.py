"""Weighted true/false positive/negative counts at a list of thresholds, as Keras counts them.

This is ``keras.src.metrics.metrics_utils.update_confusion_matrix_variables`` on the
engine's array namespace. A prediction is positive at threshold ``t`` when ``y_pred > t``.
When the thresholds are spread evenly over ``[0, 1]`` (AUC's default), Keras puts each
prediction into a bucket ``ceil(y_pred * (T - 1)) - 1`` computed in float32 and counts a
bucket at every threshold up to it; the counts are done here the same way, so a prediction
that lies exactly on a threshold lands on the same side as in Keras.
"""

from __future__ import annotations

from engine import backend
from engine.metrics.base import _array

__all__ = ["NEG_INF", "confusion_counts", "evenly_distributed", "same_rank"]

#: What Keras gives the predictions that ``top_k`` leaves out (and its default threshold then).
NEG_INF = -1e10

# Keras's backend.epsilon(): AUC's outer thresholds are -eps and 1 + eps.
EPSILON = 1e-7


def evenly_distributed(thresholds) -> bool:
    """Keras's ``is_evenly_distributed_thresholds``: at least 3 values, ``i / (T - 1)``."""
    n = len(thresholds)
    if n < 3:
        return False
    return all(
        abs(float(t) - i / (n - 1)) <= EPSILON + 1e-5 * i / (n - 1)
        for i, t in enumerate(thresholds)
    )


def same_rank(x1, x2, expand_rank_1: bool = True):
    """Keras's ``squeeze_or_expand_to_same_rank``: when the ranks differ by one and the
    longer array ends in 1, drop that axis (or give a rank-1 partner one)."""
    xp = backend.xp
    r1, r2 = len(x1.shape), len(x2.shape)
    if r1 == r2 + 1 and x1.shape[-1] == 1:
        if r2 == 1 and expand_rank_1:
            x2 = xp.expand_dims(x2, axis=-1)
        else:
            x1 = xp.reshape(x1, tuple(x1.shape[:-1]))
    elif r2 == r1 + 1 and x2.shape[-1] == 1:
        if r1 == 1 and expand_rank_1:
            x1 = xp.expand_dims(x1, axis=-1)
        else:
            x2 = xp.reshape(x2, tuple(x2.shape[:-1]))
    return x1, x2


def _top_k_mask(pred, k: int):
    """True at the ``k`` largest entries of each row (the first of equal values wins, as a
    stable descending sort would pick them)."""
    xp = backend.xp
    c = pred.shape[-1]
    a = xp.expand_dims(pred, axis=-1)  # (..., C, 1): entry i
    b = xp.expand_dims(pred, axis=-2)  # (..., 1, C): entry j
    idx = xp.arange(c)
    earlier = xp.reshape(idx, (c, 1)) > xp.reshape(idx, (1, c))  # j < i
    beaten = (b > a) | ((b == a) & earlier)
    rank = xp.sum(xp.astype(beaten, xp.int32), axis=-1)
    return rank < k


def confusion_counts(
    y_true,
    y_pred,
    thresholds,
    *,
    evenly: bool = False,
    top_k: int | None = None,
    class_id: int | None = None,
    sample_weight=None,
    multi_label: bool = False,
    label_weights=None,
    want=("tp", "fp", "tn", "fn"),
) -> dict:
    """The weighted counts in ``want`` at each threshold: float64 device arrays of shape
    ``(T,)``, or ``(T, labels)`` with ``multi_label``."""
    xp = backend.xp
    pred = xp.astype(_array(y_pred), xp.float32)
    true = _array(y_true)
    true = true != xp.asarray(0, dtype=true.dtype)  # Keras casts y_true to bool
    pred, true = same_rank(pred, true)
    weight = None
    if sample_weight is not None:
        weight = xp.expand_dims(xp.astype(_array(sample_weight), xp.float64), axis=-1)
        _, weight = same_rank(true, weight, expand_rank_1=False)
    if tuple(true.shape) != tuple(pred.shape):
        raise ValueError(
            f"targets of shape {tuple(true.shape)} do not fit predictions of shape "
            f"{tuple(pred.shape)}"
        )
    if top_k is not None:
        if len(pred.shape) < 1 or top_k > pred.shape[-1]:
            raise ValueError(
                f"top_k={top_k} is larger than the {pred.shape[-1] if pred.shape else 0} "
                "values per sample in the predictions; use a top_k from 1 up to that"
            )
        keep = _top_k_mask(pred, top_k)
        pred = xp.where(keep, pred, xp.asarray(NEG_INF, dtype=xp.float32))
    if class_id is not None:
        if len(pred.shape) == 1:
            raise ValueError(
                "class_id needs predictions of shape (samples, classes), got shape "
                f"{tuple(pred.shape)}"
            )
        if not 0 <= class_id < pred.shape[-1]:
            raise ValueError(
                f"class_id={class_id} is not one of the {pred.shape[-1]} classes (0 to "
                f"{pred.shape[-1] - 1})"
            )
        pred = pred[..., class_id : class_id + 1]
        true = true[..., class_id : class_id + 1]
    weights = xp.ones(tuple(pred.shape), dtype=xp.float64)
    if weight is not None:
        weights = weights * weight
    if label_weights is not None and not multi_label:
        weights = weights * xp.asarray(backend.asarray(label_weights), dtype=xp.float64)
    n_thresholds = len(thresholds)
    if multi_label:
        if len(pred.shape) != 2:
            raise ValueError(
                f"multi_label=True needs predictions of rank 2, got shape {tuple(pred.shape)}"
            )
        shape = (n_thresholds, 1, 1)
    else:
        pred = xp.reshape(pred, (-1,))
        true = xp.reshape(true, (-1,))
        weights = xp.reshape(weights, (-1,))
        shape = (n_thresholds, 1)
    if evenly:
        # Keras's bucket counts, in float32 as Keras computes them: a prediction counts as
        # positive at every threshold index up to its bucket.
        clipped = xp.clip(pred, 0.0, 1.0)
        bucket = xp.ceil(clipped * xp.asarray(n_thresholds - 1, dtype=xp.float32)) - 1.0
        if thresholds[0] < 0.0 or thresholds[-1] > 1.0:
            bucket = xp.maximum(bucket, xp.asarray(0.0, dtype=xp.float32))
        index = xp.reshape(xp.arange(n_thresholds, dtype=xp.float32), shape)
        positive = xp.expand_dims(bucket, axis=0) >= index
    else:
        limits = xp.reshape(backend.asarray(list(thresholds), dtype=xp.float32), shape)
        positive = xp.expand_dims(pred, axis=0) > limits
    label = xp.expand_dims(true, axis=0)
    w = xp.expand_dims(weights, axis=0)
    zero = xp.asarray(0.0, dtype=xp.float64)
    cells = {
        "tp": lambda: label & positive,
        "fp": lambda: ~label & positive,
        "tn": lambda: ~label & ~positive,
        "fn": lambda: label & ~positive,
    }
    return {key: xp.sum(xp.where(cells[key](), w, zero), axis=1) for key in want}


def divide_no_nan(a, b):
    """``a / b``, and 0 where ``b`` is 0 (without a division warning)."""
    xp = backend.xp
    zero = b == 0
    return xp.where(zero, xp.zeros_like(a), a / xp.where(zero, xp.ones_like(b), b))
