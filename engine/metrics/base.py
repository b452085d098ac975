"""The metric base classes: :class:`Metric`, :class:`Mean` and :class:`MeanMetricWrapper`.

A metric accumulates over batches with ``update_state(y_true, y_pred)``, reports with
``result()`` and starts over with ``reset_state()``. The running totals stay on the device
(float64 arrays of the current backend), so updating costs no transfer; ``result()`` makes
the one host sync and returns a Python float (or a numpy array for a metric that reports one
value per threshold or class).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from engine import backend
from engine.autodiff.tensor import Tensor, _as_array

__all__ = ["Mean", "MeanMetricWrapper", "Metric", "PerValueResult"]


def _array(value):
    """A backend array from a Tensor, a backend array or host data."""
    return value.data if isinstance(value, Tensor) else _as_array(value)


def _float64_sum(values):
    xp = backend.xp
    return xp.sum(xp.astype(values, xp.float64))


class PerValueResult(np.ndarray):
    """A metric result with one value per threshold, class or output: a plain numpy array,
    except that turning it into one number says how to configure the metric for one
    instead of numpy's "only 0-dimensional arrays can be converted"."""

    metric_name = ""

    def __float__(self) -> float:
        if self.size == 1:
            return float(self.reshape(()).view(np.ndarray))
        raise ValueError(
            f"metric {self.metric_name!r} gives {self.size} values (one per threshold, class "
            "or output), not one number (fit logs them as name_0, name_1, ...): for one "
            "number, configure it (F1Score/FBetaScore: average='macro', 'micro' or "
            "'weighted'; Precision/Recall: one threshold; R2Score: a class_aggregation)"
        )


def _to_host(value, name: str = ""):
    """The one device-to-host sync of ``result()``: a float for a 0-d array, else a numpy
    array (one value per threshold or class, a :class:`PerValueResult`)."""
    if backend.device == "gpu" and hasattr(value, "get"):
        # a raw CuPy array: backend.to_numpy reads ``.data``, which on CuPy is its pointer
        host = value.get()
    else:
        host = backend.to_numpy(value)
    if host.ndim == 0:
        return float(host)
    out = host.astype("float64").view(PerValueResult)
    out.metric_name = name
    return out


def _default_name(name: str) -> str:
    """``"BinaryAccuracy"`` -> ``"binary_accuracy"``, ``"MeanIoU"`` -> ``"mean_io_u"`` (Keras's
    snake case of the class name)."""
    out = []
    for i, ch in enumerate(name):
        if ch.isupper() and i and not name[i - 1].isupper():
            out.append("_")
        out.append(ch.lower())
    return "".join(out)


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

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Metric:
        return cls(**config)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}>"


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
