"""Regression metrics: mean squared and absolute error, their root, and R² (``R2Score``).

Each sums over every batch since the last ``reset_state`` on the device and divides once in
``result()``, so the value over several batches is the value over all their samples.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

from engine import backend
from engine.metrics.accuracy import _aligned
from engine.metrics.base import Mean, MeanMetricWrapper, Metric, _array, _to_host

__all__ = ["MeanAbsoluteError", "MeanSquaredError", "R2Score", "RootMeanSquaredError"]


def squared_error(y_true, y_pred):
    xp = backend.xp
    true, pred = _aligned(y_true, y_pred)
    diff = pred - xp.astype(true, pred.dtype)
    return xp.mean(diff * diff, axis=-1)


def absolute_error(y_true, y_pred):
    xp = backend.xp
    true, pred = _aligned(y_true, y_pred)
    return xp.mean(xp.abs(pred - xp.astype(true, pred.dtype)), axis=-1)


class MeanSquaredError(MeanMetricWrapper):
    def __init__(self, name: str = "mean_squared_error"):
        super().__init__(squared_error, name=name)


class MeanAbsoluteError(MeanMetricWrapper):
    def __init__(self, name: str = "mean_absolute_error"):
        super().__init__(absolute_error, name=name)


class RootMeanSquaredError(Mean):
    """``sqrt`` of the mean squared error over everything seen (not a mean of roots)."""

    def __init__(self, name: str = "root_mean_squared_error"):
        super().__init__(name)

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        self._accumulate(squared_error(y_true, y_pred), sample_weight)

    def result(self) -> float:
        return math.sqrt(max(super().result(), 0.0))


_AGGREGATIONS = (None, "uniform_average", "variance_weighted_average")


class R2Score(Metric):
    """The coefficient of determination ``1 - SS_res / SS_tot`` per output column.

    ``class_aggregation``: ``"uniform_average"`` (the mean over columns), ``"variance_weighted_
    average"`` (weighted by each column's variance) or ``None`` (one score per column).
    ``num_regressors`` > 0 gives the adjusted R² ``1 - (1 - R²)(n - 1) / (n - p - 1)``, with
    ``n`` the number of target values seen. Targets must be ``(samples, outputs)``; a flat
    ``(samples,)`` target beside ``(samples, 1)`` predictions is accepted, as in Keras.
    """

    def __init__(
        self, class_aggregation="uniform_average", num_regressors=0, name="r2_score", dtype=None
    ):
        if class_aggregation not in _AGGREGATIONS:
            raise ValueError(
                "class_aggregation must be one of None, 'uniform_average', "
                f"'variance_weighted_average'; got {class_aggregation!r}"
            )
        if (
            not isinstance(num_regressors, int)
            or isinstance(num_regressors, bool)
            or num_regressors < 0
        ):
            raise ValueError(f"num_regressors must be an integer >= 0, got {num_regressors!r}")
        self.class_aggregation = class_aggregation
        self.num_regressors = num_regressors
        super().__init__(name)

    def reset_state(self) -> None:
        self._sums = None  # (sum, squared sum, residual, count) per column, float64, on device
        self._num_samples = 0

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        xp = backend.xp
        true = xp.astype(_array(y_true), xp.float64)
        pred = xp.astype(_array(y_pred), xp.float64)
        if len(true.shape) == 1 and len(pred.shape) == 2 and pred.shape[-1] == 1:
            true = xp.reshape(true, (-1, 1))
        elif len(pred.shape) == 1 and len(true.shape) == 2 and true.shape[-1] == 1:
            pred = xp.reshape(pred, (-1, 1))
        if len(true.shape) != 2 or tuple(true.shape) != tuple(pred.shape):
            raise ValueError(
                "R2Score expects targets and predictions of one shape (samples, outputs), got "
                f"{tuple(true.shape)} and {tuple(pred.shape)}"
            )
        if sample_weight is None:
            weight = xp.ones(tuple(true.shape), dtype=xp.float64)
        else:
            weight = xp.astype(_array(sample_weight), xp.float64)
            if len(weight.shape) == 1:
                weight = xp.reshape(weight, (-1, 1))
            weight = xp.broadcast_to(weight, tuple(true.shape))
        weighted = true * weight
        diff = true - pred
        parts = (
            xp.sum(weighted, axis=0),
            xp.sum(true * weighted, axis=0),
            xp.sum(diff * diff * weight, axis=0),
            xp.sum(weight, axis=0),
        )
        self._sums = (
            parts if self._sums is None else tuple(a + b for a, b in zip(self._sums, parts))
        )
        self._num_samples += math.prod(true.shape)

    def result(self):
        if self._sums is None:
            return 0.0
        xp = backend.xp
        total_sum, squared, residual, count = self._sums
        nan = xp.asarray(math.nan, dtype=xp.float64)
        mean = xp.where(count > 0, total_sum / xp.where(count > 0, count, xp.ones_like(count)), nan)
        total = squared - total_sum * mean
        # Keras: 1 - residual / total, where a constant target gives -inf -> 0 (and 0/0 NaN).
        safe = xp.where(total == 0, xp.ones_like(total), total)
        raw = xp.where(
            total == 0,
            xp.where(residual == 0, nan, xp.zeros_like(total)),
            1.0 - residual / safe,
        )
        if self.class_aggregation == "uniform_average":
            score = xp.mean(raw)
        elif self.class_aggregation == "variance_weighted_average":
            score = xp.sum(total * raw) / xp.sum(total)
        else:
            score = raw
        n, p = self._num_samples, self.num_regressors
        if p:
            if p > n - 1:
                warnings.warn(
                    "More independent predictors than datapoints in adjusted R2 score; "
                    "falling back to the standard R2 score.",
                    stacklevel=2,
                )
            elif p == n - 1:
                warnings.warn(
                    "Division by zero in adjusted R2 score; falling back to the standard R2 score.",
                    stacklevel=2,
                )
            else:
                score = 1.0 - (1.0 - score) * (n - 1.0) / (n - p - 1.0)
        return _to_host(score, self.name)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "class_aggregation": self.class_aggregation,
            "num_regressors": self.num_regressors,
        }
