"""Metrics counted from a confusion matrix at thresholds: Precision, Recall and AUC.

Same names, arguments, defaults and numbers as ``keras.metrics.Precision``, ``Recall`` and
``AUC``. The counts are summed over every batch since the last ``reset_state`` (float64
device arrays), so the value after several batches is the value over all of them, not a
mean of per-batch values.
"""

from __future__ import annotations

import math
from typing import Any

from engine import backend
from engine.metrics._confusion_counts import (
    EPSILON,
    NEG_INF,
    confusion_counts,
    divide_no_nan,
    evenly_distributed,
)
from engine.metrics.base import Metric, _array, _to_host

__all__ = ["AUC", "Precision", "Recall"]


def _is_number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _parse_thresholds(thresholds, default: float) -> list[float]:
    """Keras's ``parse_init_thresholds``: one value or a list, each within [0, 1]."""
    if thresholds is None:
        return [default]
    values = list(thresholds) if isinstance(thresholds, list | tuple) else [thresholds]
    if not values:
        raise ValueError("thresholds is an empty list; give at least one value in [0, 1]")
    bad = [t for t in values if not _is_number(t) or not 0.0 <= t <= 1.0]
    if bad:
        raise ValueError(f"thresholds must be numbers in [0, 1], got {bad[0]!r}")
    return [float(t) for t in values]


def _check_optional_int(name: str, value, low: int) -> int | None:
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < low:
        raise ValueError(f"{name} must be an integer >= {low} or None, got {value!r}")
    return value


class _PrecisionRecall(Metric):
    """Shared by Precision and Recall: counts at thresholds, optionally top_k and class_id."""

    _second = "fp"  # the count beside true positives in the denominator

    def __init__(self, thresholds=None, top_k=None, class_id=None, name=None, dtype=None):
        self.init_thresholds = thresholds
        self.top_k = _check_optional_int("top_k", top_k, 1)
        self.class_id = _check_optional_int("class_id", class_id, 0)
        default = 0.5 if top_k is None else NEG_INF
        self.thresholds = _parse_thresholds(thresholds, default)
        self._evenly = evenly_distributed(self.thresholds)
        super().__init__(name)

    def reset_state(self) -> None:
        self._tp = None  # float64 device arrays of shape (len(thresholds),) once updated
        self._other = None

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        counts = confusion_counts(
            y_true,
            y_pred,
            self.thresholds,
            evenly=self._evenly,
            top_k=self.top_k,
            class_id=self.class_id,
            sample_weight=sample_weight,
            want=("tp", self._second),
        )
        tp, other = counts["tp"], counts[self._second]
        self._tp = tp if self._tp is None else self._tp + tp
        self._other = other if self._other is None else self._other + other

    def result(self):
        if self._tp is None:
            if len(self.thresholds) == 1:
                return 0.0
            xp = backend.xp
            return _to_host(xp.zeros((len(self.thresholds),), dtype=xp.float64), self.name)
        value = divide_no_nan(self._tp, self._tp + self._other)
        return _to_host(value[0] if len(self.thresholds) == 1 else value, self.name)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "thresholds": self.init_thresholds,
            "top_k": self.top_k,
            "class_id": self.class_id,
        }


class Precision(_PrecisionRecall):
    """How many of the predicted positives are positive: ``tp / (tp + fp)``.

    A prediction is positive where ``y_pred > threshold`` (0.5 by default; a list of
    thresholds gives one value per threshold). ``top_k`` counts only each sample's k highest
    predictions as positive; ``class_id`` looks at one class column of multi-class data.
    """

    _second = "fp"


class Recall(_PrecisionRecall):
    """How many of the positives are found: ``tp / (tp + fn)`` (arguments as Precision)."""

    _second = "fn"


_CURVES = ("ROC", "PR")
_SUMMATIONS = ("interpolation", "minoring", "majoring")


class AUC(Metric):
    """Area under the ROC or precision-recall curve, by a Riemann sum over thresholds.

    ``num_thresholds`` evenly spaced thresholds (or the given ``thresholds`` plus ``-eps``
    and ``1 + eps``) split the predictions; ``summation_method="interpolation"`` uses the
    trapezoid rule for ROC and Davis & Goadrich's interpolation for PR. ``multi_label``
    keeps one curve per label and averages the areas (weighted by ``label_weights``);
    ``from_logits`` applies a sigmoid to the predictions first.
    """

    def __init__(
        self,
        num_thresholds=200,
        curve="ROC",
        summation_method="interpolation",
        name=None,
        dtype=None,
        thresholds=None,
        multi_label=False,
        num_labels=None,
        label_weights=None,
        from_logits=False,
    ):
        curve_key = str(curve).upper()
        if curve_key not in _CURVES:
            raise ValueError(f"curve must be one of {', '.join(_CURVES)}, got {curve!r}")
        method = str(summation_method).lower()
        if method not in _SUMMATIONS:
            raise ValueError(
                f"summation_method must be one of {', '.join(_SUMMATIONS)}, "
                f"got {summation_method!r}"
            )
        self._init_from_thresholds = thresholds is not None
        if thresholds is not None:
            inner = sorted(_parse_thresholds(thresholds, 0.5))
            self.num_thresholds = len(inner) + 2
            self._evenly = evenly_distributed([0.0, *inner, 1.0])
        else:
            if (
                not isinstance(num_thresholds, int)
                or isinstance(num_thresholds, bool)
                or (num_thresholds <= 1)
            ):
                raise ValueError(f"num_thresholds must be an integer > 1, got {num_thresholds!r}")
            self.num_thresholds = num_thresholds
            inner = [(i + 1) * 1.0 / (num_thresholds - 1) for i in range(num_thresholds - 2)]
            self._evenly = True
        self._thresholds = [0.0 - EPSILON, *inner, 1.0 + EPSILON]
        self.curve = curve_key
        self.summation_method = method
        self.multi_label = bool(multi_label)
        if num_labels is not None and not self.multi_label:
            raise ValueError("num_labels is needed only when multi_label is True")
        self.num_labels = _check_optional_int("num_labels", num_labels, 1)
        if label_weights is not None:
            label_weights = [float(w) for w in label_weights]
            if any(w < 0 or math.isnan(w) for w in label_weights):
                raise ValueError(f"label_weights must be non-negative, got {label_weights}")
        self.label_weights = label_weights
        self.from_logits = bool(from_logits)
        super().__init__(name)

    @property
    def thresholds(self) -> list[float]:
        """The thresholds the curve is evaluated at, including ``-eps`` and ``1 + eps``."""
        return list(self._thresholds)

    def reset_state(self) -> None:
        self._counts: dict | None = None

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        xp = backend.xp
        pred = _array(y_pred)
        if self.from_logits:
            pred = xp.astype(pred, xp.float32)
            pred = 1.0 / (1.0 + xp.exp(-pred))
        counts = confusion_counts(
            y_true,
            pred,
            self._thresholds,
            evenly=self._evenly,
            sample_weight=sample_weight,
            multi_label=self.multi_label,
            label_weights=None if self.multi_label else self.label_weights,
        )
        if self._counts is None:
            self._counts = counts
        else:
            self._counts = {k: self._counts[k] + counts[k] for k in counts}

    def _interpolate_pr_auc(self, tp, fp, fn):
        """Davis & Goadrich's interpolation of the PR curve between thresholds (Keras's
        closed form: precision varies as TP and TP + FP vary linearly)."""
        xp = backend.xp
        dtp = tp[:-1] - tp[1:]
        p = tp + fp
        dp = p[:-1] - p[1:]
        slope = divide_no_nan(dtp, xp.maximum(dp, xp.zeros_like(dp)))
        intercept = tp[1:] - slope * p[1:]
        both = (p[:-1] > 0) & (p[1:] > 0)
        ratio = xp.where(
            both,
            divide_no_nan(p[:-1], xp.maximum(p[1:], xp.zeros_like(dp))),
            xp.ones_like(dp),
        )
        ratio = xp.where(ratio > 0, ratio, xp.ones_like(ratio))  # log of 0 is never taken
        positives = tp[1:] + fn[1:]
        return divide_no_nan(
            slope * (dtp + intercept * xp.log(ratio)),
            xp.maximum(positives, xp.zeros_like(positives)),
        )

    def _terms(self):
        xp = backend.xp
        c = self._counts
        tp, fp, tn, fn = c["tp"], c["fp"], c["tn"], c["fn"]
        if self.curve == "PR" and self.summation_method == "interpolation":
            return self._interpolate_pr_auc(tp, fp, fn)
        recall = divide_no_nan(tp, tp + fn)
        if self.curve == "ROC":
            x, y = divide_no_nan(fp, fp + tn), recall
        else:
            x, y = recall, divide_no_nan(tp, tp + fp)
        if self.summation_method == "interpolation":
            heights = (y[:-1] + y[1:]) / 2.0
        elif self.summation_method == "minoring":
            heights = xp.minimum(y[:-1], y[1:])
        else:
            heights = xp.maximum(y[:-1], y[1:])
        return (x[:-1] - x[1:]) * heights

    def result(self) -> float:
        if self._counts is None:
            return 0.0
        xp = backend.xp
        terms = self._terms()
        if not self.multi_label:
            return _to_host(xp.sum(terms), self.name)
        by_label = xp.sum(terms, axis=0)
        if self.label_weights is None:
            return _to_host(xp.mean(by_label), self.name)
        weights = backend.asarray(self.label_weights, dtype=xp.float64)
        return _to_host(divide_no_nan(xp.sum(by_label * weights), xp.sum(weights)))

    def get_config(self) -> dict[str, Any]:
        config = {
            **super().get_config(),
            "num_thresholds": self.num_thresholds,
            "curve": self.curve,
            "summation_method": self.summation_method,
            "multi_label": self.multi_label,
            "num_labels": self.num_labels,
            "label_weights": self.label_weights,
            "from_logits": self.from_logits,
        }
        if self._init_from_thresholds:
            config["thresholds"] = self._thresholds[1:-1]
        return config
