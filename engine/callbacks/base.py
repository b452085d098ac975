"""The callback base class, the helpers the built-in callbacks share, and ``LambdaCallback``.

See the package docstring (``engine/callbacks/__init__.py``) for the hooks and the ``logs``
they receive.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

__all__ = ["Callback", "LambdaCallback"]


class Callback:
    """Base class: every hook does nothing. ``self.model`` and ``self.params`` are set by
    the ``CallbackList`` before training starts."""

    def __init__(self):
        self.model = None
        self.params: dict[str, Any] = {}

    def set_model(self, model) -> None:
        self.model = model

    def set_params(self, params: dict[str, Any] | None) -> None:
        self.params = dict(params or {})

    def on_train_begin(self, logs=None) -> None: ...
    def on_train_end(self, logs=None) -> None: ...
    def on_epoch_begin(self, epoch: int, logs=None) -> None: ...
    def on_epoch_end(self, epoch: int, logs=None) -> None: ...

    # Keras's older names; the train-batch hooks call them so overriding either works.
    def on_batch_begin(self, batch: int, logs=None) -> None: ...
    def on_batch_end(self, batch: int, logs=None) -> None: ...

    def on_train_batch_begin(self, batch: int, logs=None) -> None:
        self.on_batch_begin(batch, logs)

    def on_train_batch_end(self, batch: int, logs=None) -> None:
        self.on_batch_end(batch, logs)

    def on_test_begin(self, logs=None) -> None: ...
    def on_test_end(self, logs=None) -> None: ...
    def on_test_batch_begin(self, batch: int, logs=None) -> None: ...
    def on_test_batch_end(self, batch: int, logs=None) -> None: ...
    def on_predict_begin(self, logs=None) -> None: ...
    def on_predict_end(self, logs=None) -> None: ...
    def on_predict_batch_begin(self, batch: int, logs=None) -> None: ...
    def on_predict_batch_end(self, batch: int, logs=None) -> None: ...


def _print(message: str) -> None:
    print(message, flush=True)


def _monitor_is_max(monitor: str, mode: str, owner: str) -> bool:
    """``mode`` "max"/"min", or "auto": maximise names containing "acc", minimise others."""
    if mode not in ("auto", "min", "max"):
        raise ValueError(f"{owner} mode must be 'auto', 'min' or 'max', got {mode!r}")
    if mode == "auto":
        return "acc" in monitor.lower()
    return mode == "max"


def _monitored(logs: dict, monitor: str, owner: str) -> float | None:
    """``logs[monitor]`` as a float, or ``None`` with a warning naming what is available."""
    value = logs.get(monitor)
    if value is None:
        warnings.warn(
            f"{owner} monitors {monitor!r}, which is not in the logs (available: "
            f"{', '.join(logs) or 'none'}); pass validation data to fit() for val_ values, "
            "or choose another monitor",
            RuntimeWarning,
            stacklevel=3,
        )
        return None
    return float(value)


def _plain(value):
    """Numbers as Python floats (numpy scalars and 0-d arrays included)."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return value


class LambdaCallback(Callback):
    """A callback from functions: ``LambdaCallback(on_epoch_end=lambda epoch, logs: ...)``.
    Any hook name is accepted (``on_train_begin``, ``on_train_batch_end``, ...)."""

    _HOOKS = frozenset(
        name
        for name in dir(Callback)
        if name.startswith("on_") and callable(getattr(Callback, name))
    )

    def __init__(self, **hooks: Callable):
        super().__init__()
        for name, fn in hooks.items():
            if name not in self._HOOKS:
                raise ValueError(
                    f"LambdaCallback has no hook {name!r}; choose from "
                    f"{', '.join(sorted(self._HOOKS))}"
                )
            if fn is not None:
                setattr(self, name, fn)
