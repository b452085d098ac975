"""F-beta and F1 scores per class, micro, macro or weighted (``keras.metrics.F1Score``).

True positives, false positives, false negatives and the support (the sum of ``y_true``)
are summed per class over every batch since the last ``reset_state``; the score is computed
from those totals, so it is the score over all batches together.

Keras expects one-hot (or multi-hot) targets of shape ``(samples, classes)``. Integer labels
of shape ``(samples,)`` or ``(samples, 1)`` against several prediction columns are taken as
class ids and one-hot encoded here, so the metric also follows a model trained with
``sparse_categorical_crossentropy``.
"""

from __future__ import annotations

from typing import Any

from engine import backend
from engine.metrics._confusion_counts import EPSILON
from engine.metrics.base import Metric, _array, _to_host

__all__ = ["F1Score", "FBetaScore"]

_AVERAGES = (None, "micro", "macro", "weighted")


class FBetaScore(Metric):
    """``(1 + beta^2) * precision * recall / (beta^2 * precision + recall)``.

    ``threshold=None`` takes each sample's highest prediction as its predicted class;
    otherwise every prediction above ``threshold`` is positive (multi-label). ``average``:
    ``None`` gives one score per class, ``"micro"`` scores the pooled counts, ``"macro"``
    the unweighted mean of the class scores, ``"weighted"`` their mean weighted by support.
    """

    def __init__(self, average=None, beta=1.0, threshold=None, name="fbeta_score", dtype=None):
        if average not in _AVERAGES:
            raise ValueError(
                f"average must be one of None, 'micro', 'macro', 'weighted'; got {average!r}"
            )
        if not isinstance(beta, int | float) or isinstance(beta, bool) or not beta > 0:
            raise ValueError(f"beta must be a number > 0, got {beta!r}")
        if threshold is not None and (
            not isinstance(threshold, int | float)
            or isinstance(threshold, bool)
            or not 0.0 < threshold <= 1.0
        ):
            raise ValueError(f"threshold must be None or a number in (0, 1], got {threshold!r}")
        self.average = average
        self.beta = float(beta)
        self.threshold = None if threshold is None else float(threshold)
        super().__init__(name)

    def reset_state(self) -> None:
        self._totals = None  # (tp, fp, fn, support), float64 device arrays per class

    def _inputs(self, y_true, y_pred):
        xp = backend.xp
        pred = xp.astype(_array(y_pred), xp.float32)
        true = _array(y_true)
        if len(pred.shape) != 2:
            raise ValueError(
                f"{type(self).__name__} expects predictions of shape (samples, classes), "
                f"got {tuple(pred.shape)}"
            )
        n, c = pred.shape
        if c > 1 and (tuple(true.shape) == (n,) or tuple(true.shape) == (n, 1)):
            labels = xp.reshape(xp.astype(true, xp.int64), (n, 1))
            true = xp.astype(labels == xp.reshape(xp.arange(c, dtype=xp.int64), (1, c)), xp.float64)
        elif len(true.shape) == 1 and c == 1:
            true = xp.reshape(true, (n, 1))
        if tuple(true.shape) != (n, c):
            raise ValueError(
                f"{type(self).__name__} expects targets of shape {(n, c)} (one-hot) or {(n,)} "
                f"(class ids), got {tuple(true.shape)}"
            )
        return xp.astype(true, xp.float64), pred

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        xp = backend.xp
        true, pred = self._inputs(y_true, y_pred)
        if self.threshold is None:
            top = xp.max(pred, axis=-1, keepdims=True)
            positive = (pred >= top) & (xp.abs(pred) > 1e-9)
        else:
            positive = pred > self.threshold
        predicted = xp.astype(positive, xp.float64)
        weight = None
        if sample_weight is not None:
            weight = xp.reshape(xp.astype(_array(sample_weight), xp.float64), (-1, 1))
        axis = None if self.average == "micro" else 0

        def total(values):
            return xp.sum(values if weight is None else values * weight, axis=axis)

        parts = (
            total(predicted * true),
            total(predicted * (1.0 - true)),
            total((1.0 - predicted) * true),
            total(true),
        )
        if self._totals is None:
            self._totals = parts
        else:
            self._totals = tuple(a + b for a, b in zip(self._totals, parts))

    def result(self):
        if self._totals is None:
            return 0.0
        xp = backend.xp
        tp, fp, fn, support = self._totals
        precision = tp / (tp + fp + EPSILON)
        recall = tp / (tp + fn + EPSILON)
        b2 = self.beta**2
        score = (1.0 + b2) * precision * recall / (b2 * precision + recall + EPSILON)
        if self.average == "weighted":
            score = xp.sum(score * support / (xp.sum(support) + EPSILON))
        elif self.average is not None:
            score = xp.mean(score)
        return _to_host(score, self.name)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "average": self.average,
            "beta": self.beta,
            "threshold": self.threshold,
        }


class F1Score(FBetaScore):
    """The harmonic mean of precision and recall (``FBetaScore`` with ``beta=1``)."""

    def __init__(self, average=None, threshold=None, name="f1_score", dtype=None):
        super().__init__(average=average, beta=1.0, threshold=threshold, name=name, dtype=dtype)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        del config["beta"]
        return config
