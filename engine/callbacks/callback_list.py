"""``CallbackList``: how ``fit``, ``evaluate`` and ``predict`` call every callback's hooks."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from engine.callbacks.base import Callback
from engine.callbacks.history import History
from engine.callbacks.progbar import ProgbarLogger

__all__ = ["CallbackList"]


class CallbackList:
    """Calls each hook on every callback in order, with one shared ``logs`` dict.

    ``add_history`` appends a :class:`History` (last, so it records what other callbacks
    added to the logs) and ``add_progbar`` puts a :class:`ProgbarLogger` first, unless the
    list already has one.
    """

    def __init__(
        self,
        callbacks: Iterable[Callback] | None = None,
        model=None,
        params: dict[str, Any] | None = None,
        *,
        add_history: bool = False,
        add_progbar: bool = False,
    ):
        self.callbacks: list[Callback] = list(callbacks or [])
        if add_progbar and not any(isinstance(c, ProgbarLogger) for c in self.callbacks):
            self.callbacks.insert(0, ProgbarLogger())
        if add_history and not any(isinstance(c, History) for c in self.callbacks):
            self.callbacks.append(History())
        self.model = None
        self.params: dict[str, Any] = dict(params or {})
        if model is not None:
            self.set_model(model)
        self.set_params(self.params)

    @property
    def history(self) -> History | None:
        return next((c for c in self.callbacks if isinstance(c, History)), None)

    def append(self, callback: Callback) -> None:
        self.callbacks.append(callback)
        if self.model is not None:
            callback.set_model(self.model)
        callback.set_params(self.params)

    def set_model(self, model) -> None:
        self.model = model
        for c in self.callbacks:
            c.set_model(model)

    def set_params(self, params: dict[str, Any] | None) -> None:
        self.params = dict(params or {})
        for c in self.callbacks:
            c.set_params(self.params)

    def __iter__(self):
        return iter(self.callbacks)

    def __len__(self) -> int:
        return len(self.callbacks)

    def _call(self, hook: str, *args) -> None:
        for c in self.callbacks:
            getattr(c, hook)(*args)

    def on_train_begin(self, logs=None):
        self._call("on_train_begin", _logs(logs))

    def on_train_end(self, logs=None):
        self._call("on_train_end", _logs(logs))

    def on_epoch_begin(self, epoch, logs=None):
        self._call("on_epoch_begin", epoch, _logs(logs))

    def on_epoch_end(self, epoch, logs=None):
        self._call("on_epoch_end", epoch, _logs(logs))

    def on_train_batch_begin(self, batch, logs=None):
        self._call("on_train_batch_begin", batch, _logs(logs))

    def on_train_batch_end(self, batch, logs=None):
        self._call("on_train_batch_end", batch, _logs(logs))

    def on_test_begin(self, logs=None):
        self._call("on_test_begin", _logs(logs))

    def on_test_end(self, logs=None):
        self._call("on_test_end", _logs(logs))

    def on_test_batch_begin(self, batch, logs=None):
        self._call("on_test_batch_begin", batch, _logs(logs))

    def on_test_batch_end(self, batch, logs=None):
        self._call("on_test_batch_end", batch, _logs(logs))

    def on_predict_begin(self, logs=None):
        self._call("on_predict_begin", _logs(logs))

    def on_predict_end(self, logs=None):
        self._call("on_predict_end", _logs(logs))

    def on_predict_batch_begin(self, batch, logs=None):
        self._call("on_predict_batch_begin", batch, _logs(logs))

    def on_predict_batch_end(self, batch, logs=None):
        self._call("on_predict_batch_end", batch, _logs(logs))


def _logs(logs) -> dict:
    return logs if logs is not None else {}
