"""Stateful training metrics by Keras name (``keras.metrics``).

A metric accumulates over batches with ``update_state(y_true, y_pred)``, reports with
``result()`` and starts over with ``reset_state()``. The running totals stay on the device
(0-d float64 arrays of the current backend), so updating costs no transfer; ``result()``
makes the one host sync and returns a Python float.

``get("accuracy", loss=...)`` picks the accuracy that fits the loss, as ``model.compile``
does in Keras: binary, categorical or sparse categorical, still named ``"accuracy"`` so the
history keys are ``accuracy`` / ``val_accuracy``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from engine import backend, losses
from engine.autodiff.tensor import Tensor, _as_array

__all__ = [
    "Metric",
    "Mean",
    "MeanMetricWrapper",
    "Accuracy",
    "BinaryAccuracy",
    "CategoricalAccuracy",
    "SparseCategoricalAccuracy",
    "AutoAccuracy",
    "MeanSquaredError",
    "MeanAbsoluteError",
    "RootMeanSquaredError",
    "get",
]


def _array(value):
    """A backend array from a Tensor, a backend array or host data."""
    return value.data if isinstance(value, Tensor) else _as_array(value)


def _float64_sum(values):
    xp = backend.xp
    return xp.sum(xp.astype(values, xp.float64))


class Metric:
    """Base class: a running value over the batches seen since the last ``reset_state``."""

    def __init__(self, name: str | None = None):
        self.name = name or _default_name(type(self).__name__)
        self.reset_state()

    def reset_state(self) -> None:
        """Forget everything seen so far."""

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        raise NotImplementedError

    def result(self) -> float:
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name}

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}>"


def _default_name(name: str) -> str:
    """``"BinaryAccuracy"`` -> ``"binary_accuracy"``."""
    out = []
    for i, ch in enumerate(name):
        if ch.isupper() and i and not name[i - 1].isupper():
            out.append("_")
        out.append(ch.lower())
    return "".join(out)


class Mean(Metric):
    """The (weighted) mean of the values given to ``update_state(values)``; ``fit`` tracks
    the loss with one of these."""

    def reset_state(self) -> None:
        self._total = None  # a 0-d float64 device array once something has been seen
        self._count = 0.0  # host number, or a device array when sample weights are given

    def _accumulate(self, values, sample_weight=None) -> None:
        xp = backend.xp
        values = _array(values)
        if sample_weight is None:
            total = _float64_sum(values)
            count = float(math.prod(values.shape))
        else:
            weights = xp.astype(_array(sample_weight), xp.float64)
            if len(weights.shape) < len(values.shape):
                n = weights.shape[0] if len(weights.shape) else 1
                weights = xp.reshape(weights, (n,) + (1,) * (len(values.shape) - 1))
            weights = xp.broadcast_to(weights, tuple(values.shape))
            total = xp.sum(xp.astype(values, xp.float64) * weights)
            count = xp.sum(weights)
        self._total = total if self._total is None else self._total + total
        self._count = self._count + count

    def update_state(self, values, sample_weight=None) -> None:
        self._accumulate(values, sample_weight)

    def result(self) -> float:
        if self._total is None:
            return 0.0
        count = float(self._count)
        return float(self._total) / count if count else 0.0


class MeanMetricWrapper(Mean):
    """The mean over samples of ``fn(y_true, y_pred)`` (per-sample values)."""

    def __init__(self, fn: Callable, name: str | None = None, **kwargs: Any):
        self.fn = fn
        self.fn_kwargs = kwargs
        super().__init__(name or getattr(fn, "__name__", "metric"))

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        self._accumulate(self.fn(y_true, y_pred, **self.fn_kwargs), sample_weight)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), **self.fn_kwargs}


# -- per-sample metric functions on backend arrays (no autodiff) -------------------------------


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


def squared_error(y_true, y_pred):
    xp = backend.xp
    true, pred = _aligned(y_true, y_pred)
    diff = pred - xp.astype(true, pred.dtype)
    return xp.mean(diff * diff, axis=-1)


def absolute_error(y_true, y_pred):
    xp = backend.xp
    true, pred = _aligned(y_true, y_pred)
    return xp.mean(xp.abs(pred - xp.astype(true, pred.dtype)), axis=-1)


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


# -- lookup by name ----------------------------------------------------------------------------

_BY_NAME: dict[str, type[Metric]] = {
    "binary_accuracy": BinaryAccuracy,
    "categorical_accuracy": CategoricalAccuracy,
    "sparse_categorical_accuracy": SparseCategoricalAccuracy,
    "mse": MeanSquaredError,
    "mean_squared_error": MeanSquaredError,
    "mae": MeanAbsoluteError,
    "mean_absolute_error": MeanAbsoluteError,
    "rmse": RootMeanSquaredError,
    "root_mean_squared_error": RootMeanSquaredError,
    "mean": Mean,
}
for _cls in (
    Accuracy,
    BinaryAccuracy,
    CategoricalAccuracy,
    SparseCategoricalAccuracy,
    MeanSquaredError,
    MeanAbsoluteError,
    RootMeanSquaredError,
    Mean,
):
    _BY_NAME[_cls.__name__.lower()] = _cls

_ACCURACY_FOR_LOSS: dict[str, type[Metric]] = {
    "binary_crossentropy": BinaryAccuracy,
    "categorical_crossentropy": CategoricalAccuracy,
    "sparse_categorical_crossentropy": SparseCategoricalAccuracy,
}

METRIC_NAMES: tuple[str, ...] = ("accuracy", *sorted(n for n in _BY_NAME if "_" in n or len(n) < 5))


def _accuracy_for(loss, name: str) -> Metric:
    cls = _ACCURACY_FOR_LOSS.get(losses.loss_kind(loss))
    if cls is None:
        return AutoAccuracy(name=name)
    return cls(name=name)


def get(identifier, loss=None) -> Metric:
    """A ``Metric`` from a name (``"accuracy"``/``"acc"``, ``"mse"``, ``"mae"``, ``"rmse"``,
    ``"binary_accuracy"``, ...), a dict ``{"name": ..., **options}``, a ``Metric`` or a
    per-sample function ``fn(y_true, y_pred)``.

    A name given as a string is also the metric's name, so ``metrics=["mse"]`` logs
    ``mse`` / ``val_mse`` as in Keras. ``"accuracy"`` picks the accuracy that fits ``loss``.
    """
    if isinstance(identifier, Metric):
        return identifier
    if isinstance(identifier, str):
        key = identifier.lower()
        if key in ("accuracy", "acc"):
            return _accuracy_for(loss, identifier)
        cls = _BY_NAME.get(key)
        if cls is None:
            raise ValueError(
                f"unknown metric {identifier!r}; choose one of {', '.join(METRIC_NAMES)}"
            )
        return cls(name=identifier)
    if isinstance(identifier, dict):
        config = dict(identifier)
        if "name" not in config:
            raise ValueError(f"a metric given as a dict needs a 'name': {identifier!r}")
        key = str(config.pop("name"))
        if key.lower() in ("accuracy", "acc"):
            return _accuracy_for(loss, key)
        cls = _BY_NAME.get(key.lower())
        if cls is None:
            raise ValueError(f"unknown metric {key!r}; choose one of {', '.join(METRIC_NAMES)}")
        try:
            return cls(name=key, **config)
        except TypeError as exc:
            raise ValueError(f"bad options for metric {key!r}: {exc}") from None
    if callable(identifier):
        return MeanMetricWrapper(identifier)
    raise ValueError(f"cannot interpret {identifier!r} as a metric")
