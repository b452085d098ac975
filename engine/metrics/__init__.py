"""Stateful training metrics by Keras name (``keras.metrics``).

A metric accumulates over batches with ``update_state(y_true, y_pred)``, reports with
``result()`` and starts over with ``reset_state()``. The running totals stay on the device
(float64 arrays of the current backend), so updating costs no transfer; ``result()`` makes
the one host sync and returns a Python float (a numpy array for a metric configured to give
one value per threshold, class or output, e.g. ``F1Score(average=None)``).

Modules: :mod:`~engine.metrics.base` (Metric, Mean, MeanMetricWrapper),
:mod:`~engine.metrics.accuracy` (accuracies and top-k), :mod:`~engine.metrics.regression`
(MSE, MAE, RMSE, R2Score), :mod:`~engine.metrics.confusion` (Precision, Recall, AUC),
:mod:`~engine.metrics.f_score` (F1Score, FBetaScore), :mod:`~engine.metrics.iou` (MeanIoU).

``get("accuracy", loss=...)`` picks the accuracy that fits the loss, as ``model.compile``
does in Keras: binary, categorical or sparse categorical, still named ``"accuracy"`` so the
history keys are ``accuracy`` / ``val_accuracy``. :func:`available` lists the identifiers
with their classes for the app's metrics form.
"""

from __future__ import annotations

import inspect
from typing import Any

from engine import losses
from engine.metrics.accuracy import (
    Accuracy,
    AutoAccuracy,
    BinaryAccuracy,
    CategoricalAccuracy,
    SparseCategoricalAccuracy,
    SparseTopKCategoricalAccuracy,
    TopKCategoricalAccuracy,
)
from engine.metrics.base import Mean, MeanMetricWrapper, Metric
from engine.metrics.confusion import AUC, Precision, Recall
from engine.metrics.f_score import F1Score, FBetaScore
from engine.metrics.iou import MeanIoU
from engine.metrics.regression import (
    MeanAbsoluteError,
    MeanSquaredError,
    R2Score,
    RootMeanSquaredError,
)

__all__ = [
    "AUC",
    "Accuracy",
    "AutoAccuracy",
    "BinaryAccuracy",
    "CategoricalAccuracy",
    "F1Score",
    "FBetaScore",
    "Mean",
    "MeanAbsoluteError",
    "MeanIoU",
    "MeanMetricWrapper",
    "MeanSquaredError",
    "Metric",
    "Precision",
    "R2Score",
    "Recall",
    "RootMeanSquaredError",
    "SparseCategoricalAccuracy",
    "SparseTopKCategoricalAccuracy",
    "TopKCategoricalAccuracy",
    "arguments",
    "available",
    "get",
]

# -- lookup by name ----------------------------------------------------------------------------

#: The canonical identifier of each metric (Keras's snake-case names), in the order the app
#: lists them. ``"accuracy"`` resolves through the loss (see :func:`get`).
_CANONICAL: dict[str, type[Metric]] = {
    "accuracy": AutoAccuracy,
    "binary_accuracy": BinaryAccuracy,
    "categorical_accuracy": CategoricalAccuracy,
    "sparse_categorical_accuracy": SparseCategoricalAccuracy,
    "top_k_categorical_accuracy": TopKCategoricalAccuracy,
    "sparse_top_k_categorical_accuracy": SparseTopKCategoricalAccuracy,
    "precision": Precision,
    "recall": Recall,
    "f1_score": F1Score,
    "fbeta_score": FBetaScore,
    "auc": AUC,
    "mean_iou": MeanIoU,
    "mean_squared_error": MeanSquaredError,
    "mean_absolute_error": MeanAbsoluteError,
    "root_mean_squared_error": RootMeanSquaredError,
    "r2_score": R2Score,
}

_BY_NAME: dict[str, type[Metric]] = {
    **{k: v for k, v in _CANONICAL.items() if k != "accuracy"},
    "mse": MeanSquaredError,
    "mae": MeanAbsoluteError,
    "rmse": RootMeanSquaredError,
    "mean_io_u": MeanIoU,  # Keras's snake case of "MeanIoU"
    "mean": Mean,
}
for _cls in (*_CANONICAL.values(), Accuracy, Mean):
    if _cls is not AutoAccuracy:
        _BY_NAME[_cls.__name__.lower()] = _cls

_ACCURACY_FOR_LOSS: dict[str, type[Metric]] = {
    "binary_crossentropy": BinaryAccuracy,
    "categorical_crossentropy": CategoricalAccuracy,
    "sparse_categorical_crossentropy": SparseCategoricalAccuracy,
}

METRIC_NAMES: tuple[str, ...] = (
    "accuracy",
    *sorted(n for n in _BY_NAME if "_" in n or len(n) < 5),
)


def available() -> dict[str, type[Metric]]:
    """``{identifier: class}`` of every metric a project or ``compile`` may name (aliases
    such as ``"mse"`` left out), in the order the app lists them."""
    return dict(_CANONICAL)


def arguments(identifier: str) -> dict[str, Any]:
    """The constructor arguments of a metric and their defaults (``inspect.Parameter.empty``
    for a required one such as MeanIoU's ``num_classes``), without ``name`` and ``dtype``."""
    cls = _CANONICAL.get(identifier) or _BY_NAME.get(str(identifier).lower())
    if cls is None:
        raise ValueError(f"unknown metric {identifier!r}; choose one of {', '.join(METRIC_NAMES)}")
    return {
        p.name: p.default
        for p in inspect.signature(cls.__init__).parameters.values()
        if p.name not in ("self", "name", "dtype") and p.kind is p.POSITIONAL_OR_KEYWORD
    }


def _accuracy_for(loss, name: str) -> Metric:
    cls = _ACCURACY_FOR_LOSS.get(losses.loss_kind(loss))
    if cls is None:
        return AutoAccuracy(name=name)
    return cls(name=name)


def _build(cls: type[Metric], key: str, name: str, options: dict) -> Metric:
    try:
        return cls(name=name, **options)
    except TypeError as exc:
        allowed = ", ".join(arguments(key)) if cls is not Mean else ""
        raise ValueError(
            f"bad options for metric {key!r}: {exc}"
            + (f" (its arguments: {allowed})" if allowed else "")
        ) from None


def get(identifier, loss=None) -> Metric:
    """A ``Metric`` from a name (``"accuracy"``/``"acc"``, ``"mse"``, ``"precision"``,
    ``"auc"``, ``"f1_score"``, ...), a dict ``{"name": ..., **options}`` (or Keras's
    ``{"class_name": "AUC", "config": {...}}``), a ``Metric`` or a per-sample function
    ``fn(y_true, y_pred)``.

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
        if cls is MeanIoU:
            raise ValueError(
                f"metric {identifier!r} needs num_classes: give it as "
                f'{{"name": "{identifier}", "num_classes": 10}}'
            )
        return _build(cls, key, identifier, {})
    if isinstance(identifier, dict):
        config = dict(identifier)
        if "class_name" in config:  # Keras's serialised form, as model files may hold it
            options = config.get("config") or {}
            if not isinstance(options, dict):
                raise ValueError(f"a metric's 'config' must be an object: {identifier!r}")
            key = str(config["class_name"])
            cls = _BY_NAME.get(key.lower())
            if cls is None:
                raise ValueError(f"unknown metric {key!r}; choose one of {', '.join(METRIC_NAMES)}")
            options = dict(options)
            name = options.pop("name", None) or key
            return _build(cls, key.lower(), name, options)
        if "name" not in config:
            raise ValueError(f"a metric given as a dict needs a 'name': {identifier!r}")
        key = str(config.pop("name"))
        if key.lower() in ("accuracy", "acc"):
            return _accuracy_for(loss, key)
        cls = _BY_NAME.get(key.lower())
        if cls is None:
            raise ValueError(f"unknown metric {key!r}; choose one of {', '.join(METRIC_NAMES)}")
        return _build(cls, key.lower(), key, config)
    if callable(identifier):
        return MeanMetricWrapper(identifier)
    raise ValueError(f"cannot interpret {identifier!r} as a metric")
