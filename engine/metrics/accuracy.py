"""Accuracy metrics: exact, binary, categorical, sparse categorical and top-k.

Each is the mean over samples of a per-sample 0/1 value, so it accumulates exactly over
batches (:class:`~engine.metrics.base.MeanMetricWrapper`). The per-sample functions take
backend arrays (or Tensors) and run on the device.
"""

from __future__ import annotations

from engine import backend
from engine.metrics.base import MeanMetricWrapper, Metric, _array

__all__ = [
    "Accuracy",
    "AutoAccuracy",
    "BinaryAccuracy",
    "CategoricalAccuracy",
    "SparseCategoricalAccuracy",
    "SparseTopKCategoricalAccuracy",
    "TopKCategoricalAccuracy",
]


def _aligned(y_true, y_pred):
    """Targets and predictions as arrays of one shape (``(N,)`` and ``(N, 1)`` fit)."""
    xp = backend.xp
    pred = _array(y_pred)
    true = _array(y_true)
    if len(pred.shape) == 1:
        pred = xp.reshape(pred, (pred.shape[0], 1))
    if tuple(true.shape) != tuple(pred.shape):
        t, p = tuple(true.shape), tuple(pred.shape)
        if (len(t) == len(p) - 1 and t == p[:-1] and p[-1] == 1) or (
            len(t) == len(p) + 1 and t[-1] == 1 and t[:-1] == p
        ):
            true = xp.reshape(true, p)
        else:
            raise ValueError(f"targets of shape {t} do not fit predictions of shape {p}")
    return true, pred


def accuracy(y_true, y_pred):
    """1 where the prediction equals the target exactly, averaged over the last axis."""
    xp = backend.xp
    true, pred = _aligned(y_true, y_pred)
    return xp.mean(xp.astype(true == xp.astype(pred, true.dtype), xp.float32), axis=-1)


def binary_accuracy(y_true, y_pred, threshold: float = 0.5):
    """1 where ``y_pred > threshold`` agrees with the 0/1 target, averaged over the last axis."""
    xp = backend.xp
    true, pred = _aligned(y_true, y_pred)
    predicted = pred > threshold
    actual = xp.astype(true, pred.dtype) > 0.5
    return xp.mean(xp.astype(predicted == actual, xp.float32), axis=-1)


def categorical_accuracy(y_true, y_pred):
    """1 where the predicted class (argmax) is the one-hot target's class."""
    xp = backend.xp
    true, pred = _array(y_true), _array(y_pred)
    if tuple(true.shape) != tuple(pred.shape):
        raise ValueError(
            f"categorical accuracy needs one-hot targets of shape {tuple(pred.shape)}, "
            f"got {tuple(true.shape)}"
        )
    return xp.astype(xp.argmax(true, axis=-1) == xp.argmax(pred, axis=-1), xp.float32)


def sparse_categorical_accuracy(y_true, y_pred):
    """1 where the predicted class (argmax) is the integer label (``(N,)`` or ``(N, 1)``)."""
    xp = backend.xp
    true, pred = _array(y_true), _array(y_pred)
    expected = tuple(pred.shape[:-1])
    if tuple(true.shape) != expected and tuple(true.shape) == expected + (1,):
        true = xp.reshape(true, expected)
    if tuple(true.shape) != expected:
        raise ValueError(
            f"sparse categorical accuracy needs integer labels of shape {expected}, "
            f"got {tuple(true.shape)}"
        )
    predicted = xp.argmax(pred, axis=-1)
    return xp.astype(predicted == xp.astype(true, predicted.dtype), xp.float32)


def _check_k(k) -> int:
    if not isinstance(k, int) or isinstance(k, bool) or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    return k


def _in_top_k(labels, pred, k: int):
    """1.0 where the label's score is among the ``k`` highest of its row, as Keras's
    ``ops.in_top_k``: a score tied with the k-th highest counts as in the top k. A label
    outside the classes is never in the top k."""
    xp = backend.xp
    c = pred.shape[-1]
    if k > c:
        raise ValueError(
            f"k={k} is larger than the {c} classes of the predictions; choose k from 1 to {c}"
        )
    pred = xp.reshape(pred, (-1, c))
    labels = xp.reshape(xp.astype(labels, xp.int64), (-1, 1))
    if labels.shape[0] != pred.shape[0]:
        raise ValueError(
            f"top-k accuracy got {labels.shape[0]} labels for {pred.shape[0]} predictions"
        )
    onehot = labels == xp.reshape(xp.arange(c, dtype=xp.int64), (1, c))
    target = xp.sum(xp.where(onehot, pred, xp.zeros_like(pred)), axis=-1, keepdims=True)
    above = xp.sum(xp.astype(pred > target, xp.int64), axis=-1)
    valid = xp.any(onehot, axis=-1)
    return xp.astype((above < k) & valid, xp.float32)


def top_k_categorical_accuracy(y_true, y_pred, k: int = 5):
    """1 where the one-hot target's class is among the ``k`` highest predictions."""
    xp = backend.xp
    true, pred = _array(y_true), _array(y_pred)
    if tuple(true.shape) != tuple(pred.shape):
        raise ValueError(
            f"top-k categorical accuracy needs one-hot targets of shape {tuple(pred.shape)}, "
            f"got {tuple(true.shape)}; for integer labels use sparse_top_k_categorical_accuracy"
        )
    return _in_top_k(xp.argmax(true, axis=-1), pred, k)


def sparse_top_k_categorical_accuracy(y_true, y_pred, k: int = 5, from_sorted_ids=False):
    """1 where the integer label is among the ``k`` highest predictions (or, with
    ``from_sorted_ids``, among the first ``k`` ids of ``y_pred``, best first)."""
    xp = backend.xp
    true, pred = _array(y_true), _array(y_pred)
    if not from_sorted_ids:
        return _in_top_k(true, pred, k)
    ids = xp.reshape(pred, (-1, pred.shape[-1]))[:, :k]
    labels = xp.reshape(xp.astype(true, ids.dtype), (-1, 1))
    return xp.astype(xp.any(ids == labels, axis=-1), xp.float32)


# -- metric classes ----------------------------------------------------------------------------


class Accuracy(MeanMetricWrapper):
    """How often predictions equal targets exactly (for integer-valued outputs)."""

    def __init__(self, name: str = "accuracy"):
        super().__init__(accuracy, name=name)


class BinaryAccuracy(MeanMetricWrapper):
    """How often ``y_pred > threshold`` matches a 0/1 target."""

    def __init__(self, name: str = "binary_accuracy", threshold: float = 0.5):
        super().__init__(binary_accuracy, name=name, threshold=float(threshold))


class CategoricalAccuracy(MeanMetricWrapper):
    """How often the argmax of the prediction is the one-hot target's class."""

    def __init__(self, name: str = "categorical_accuracy"):
        super().__init__(categorical_accuracy, name=name)


class SparseCategoricalAccuracy(MeanMetricWrapper):
    """How often the argmax of the prediction is the integer label."""

    def __init__(self, name: str = "sparse_categorical_accuracy"):
        super().__init__(sparse_categorical_accuracy, name=name)


class TopKCategoricalAccuracy(MeanMetricWrapper):
    """How often the one-hot target's class is among the ``k`` highest predictions."""

    def __init__(self, k=5, name="top_k_categorical_accuracy", dtype=None):
        super().__init__(top_k_categorical_accuracy, name=name, k=_check_k(k))


class SparseTopKCategoricalAccuracy(MeanMetricWrapper):
    """How often the integer label is among the ``k`` highest predictions."""

    def __init__(
        self, k=5, name="sparse_top_k_categorical_accuracy", dtype=None, from_sorted_ids=False
    ):
        super().__init__(
            sparse_top_k_categorical_accuracy,
            name=name,
            k=_check_k(k),
            from_sorted_ids=bool(from_sorted_ids),
        )


class AutoAccuracy(Metric):
    """``"accuracy"`` when the loss does not say which: the first batch's shapes decide, as
    in Keras (one output unit: binary; integer labels: sparse; else categorical)."""

    def __init__(self, name: str = "accuracy"):
        self._inner: Metric | None = None
        super().__init__(name)

    def reset_state(self) -> None:
        if self._inner is not None:
            self._inner.reset_state()

    def _choose(self, y_true, y_pred) -> Metric:
        t, p = tuple(_array(y_true).shape), tuple(_array(y_pred).shape)
        if len(p) < 2 or p[-1] == 1:
            return BinaryAccuracy(name=self.name)
        if len(t) == len(p) - 1 or (len(t) == len(p) and t[-1] == 1):
            return SparseCategoricalAccuracy(name=self.name)
        return CategoricalAccuracy(name=self.name)

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        if self._inner is None:
            self._inner = self._choose(y_true, y_pred)
        self._inner.update_state(y_true, y_pred, sample_weight)

    def result(self) -> float:
        return 0.0 if self._inner is None else self._inner.result()
