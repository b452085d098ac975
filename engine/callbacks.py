"""Training callbacks by Keras name (``keras.callbacks``).

``fit`` calls the hooks of every callback through a :class:`CallbackList`:

    on_train_begin(logs)                      on_train_end(logs)
    on_epoch_begin(epoch, logs)               on_epoch_end(epoch, logs)
    on_train_batch_begin(batch, logs)         on_train_batch_end(batch, logs)
    on_test_begin(logs) / on_test_end(logs)   on_test_batch_begin/end(batch, logs)
    on_predict_begin(logs) / on_predict_end(logs), on_predict_batch_begin/end(batch, logs)

Epochs and batches count from 0. ``logs`` is one dict shared by all callbacks of a call,
holding Python floats: at a train batch's end the running means of the epoch so far
(``loss``, metric names, optionally ``size`` = samples in this batch); at an epoch's end
the epoch's values plus ``val_``-prefixed validation values. A callback may add keys (the
learning-rate callbacks add ``learning_rate``) that later callbacks and the history see.

``params`` (``set_params``) describes the run: ``epochs``, ``steps`` (batches per epoch),
``verbose``, and, when known, ``samples`` and ``batch_size``.

The model a callback sees needs ``stop_training`` (set to stop after this epoch),
``optimizer`` (with a ``learning_rate``), ``get_weights()`` / ``set_weights()`` and
``save(path)`` / ``save_weights(path)`` for the callbacks that use them.
"""

from __future__ import annotations

import csv
import inspect
import math
import os
import sys
import time
import warnings
from collections.abc import Callable, Iterable
from typing import Any, TextIO

__all__ = [
    "Callback",
    "CallbackList",
    "History",
    "ProgbarLogger",
    "ModelCheckpoint",
    "EarlyStopping",
    "ReduceLROnPlateau",
    "LearningRateScheduler",
    "TerminateOnNaN",
    "LambdaCallback",
    "CSVLogger",
]


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


# -- History -----------------------------------------------------------------------------------


class History(Callback):
    """Records each epoch's logs: ``history.history["loss"]`` is a list with one value per
    epoch, ``history.epoch`` the epoch numbers. ``fit`` returns it; it is also
    ``model.history``."""

    def __init__(self):
        super().__init__()
        self.history: dict[str, list] = {}
        self.epoch: list[int] = []

    def set_model(self, model) -> None:
        super().set_model(model)
        if model is not None:
            model.history = self

    def on_train_begin(self, logs=None) -> None:
        self.epoch = []

    def on_epoch_end(self, epoch, logs=None) -> None:
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(_plain(value))
        if self.model is not None:
            self.model.history = self


def _plain(value):
    """Numbers as Python floats (numpy scalars and 0-d arrays included)."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return value


# -- progress bar ------------------------------------------------------------------------------


def _format_value(value) -> str:
    try:
        value = float(value)
    except (TypeError, ValueError):
        return str(value)
    if value != 0 and abs(value) < 1e-3:
        return f"{value:.4e}"
    return f"{value:.4f}"


def _format_duration(seconds: float) -> str:
    if seconds < 1:
        return f"{seconds * 1000:.0f}ms"
    if seconds < 60:
        return f"{seconds:.0f}s"
    minutes, secs = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes}:{secs:02d}"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}"


_NOT_SHOWN = ("size", "batch", "num_steps")


class ProgbarLogger(Callback):
    """A terminal progress display for ``fit(verbose=1)`` (and ``evaluate``/``predict``).

    On a terminal, a bar redrawn in place (at most every ``interval`` seconds) with the
    running loss and metrics, throughput and ETA, ending in one line per epoch. When the
    output is not a terminal (a log file, CI) or ``verbose=2``, just one line per epoch.
    Throughput is in samples/s when the batch sizes are known (``logs["size"]`` or
    ``params["batch_size"]``), else in steps/s.
    """

    def __init__(self, stream: TextIO | None = None, interval: float = 0.1, width: int = 30):
        super().__init__()
        self.stream = stream
        self.interval = interval
        self.width = width
        self._in_fit = False
        self._last_len = 0

    # -- output helpers ------------------------------------------------------------------

    @property
    def _out(self) -> TextIO:
        return self.stream if self.stream is not None else sys.stdout

    def _is_tty(self) -> bool:
        isatty = getattr(self._out, "isatty", None)
        try:
            return bool(isatty and isatty())
        except ValueError:  # a closed stream
            return False

    def _live(self) -> bool:
        return self.params.get("verbose", 1) == 1 and self._is_tty()

    def _write(self, text: str) -> None:
        self._out.write(text)
        self._out.flush()

    def _redraw(self, text: str, final: bool = False) -> None:
        pad = max(self._last_len - len(text), 0)
        self._write("\r" + text + " " * pad + ("\n" if final else ""))
        self._last_len = 0 if final else len(text)

    # -- counting -------------------------------------------------------------------------

    def _start(self) -> None:
        self._t0 = time.perf_counter()
        self._last_draw = 0.0
        self._steps_done = 0
        self._samples = 0
        self._sizes_known = True
        self._t_last = self._t0

    def _count(self, batch: int, logs: dict) -> None:
        self._steps_done = batch + 1
        self._t_last = time.perf_counter()  # throughput counts batches, not validation
        size = logs.get("size")
        if size is None:
            batch_size = self.params.get("batch_size")
            if batch_size is None:
                self._sizes_known = False
                return
            total = self.params.get("samples")
            seen = (batch + 1) * batch_size
            self._samples = min(seen, total) if total is not None else seen
        else:
            self._samples += int(size)

    def _rate(self) -> str:
        elapsed = self._t_last - self._t0
        if elapsed <= 0:
            return ""
        if self._sizes_known and self._samples:
            return f"{self._samples / elapsed:,.0f} samples/s"
        return f"{self._steps_done / elapsed:.1f} steps/s"

    @staticmethod
    def _values(logs: dict) -> str:
        return " - ".join(
            f"{k}: {_format_value(v)}" for k, v in logs.items() if k not in _NOT_SHOWN
        )

    def _bar_line(self, logs: dict, steps: int | None) -> str:
        elapsed = time.perf_counter() - self._t0
        done = self._steps_done
        if steps:
            filled = int(self.width * min(done / steps, 1.0))
            arrow = ">" if filled < self.width else ""
            bar = "=" * filled + arrow + "." * (self.width - filled - len(arrow))
            parts = [f"{done:>{len(str(steps))}}/{steps} [{bar}]"]
            if 0 < done < steps:
                parts.append(f"ETA: {_format_duration(elapsed / done * (steps - done))}")
            else:
                parts.append(_format_duration(elapsed))
        else:
            parts = [f"{done} steps", _format_duration(elapsed)]
        values = self._values(logs)
        if values:
            parts.append(values)
        rate = self._rate()
        if rate:
            parts.append(rate)
        return " - ".join(parts)

    def _batch(self, batch: int, logs: dict) -> None:
        self._count(batch, logs)
        if not self._live():
            return
        now = time.perf_counter()
        steps = self.params.get("steps")
        if now - self._last_draw >= self.interval or (steps and self._steps_done >= steps):
            self._last_draw = now
            self._redraw(self._bar_line(logs, steps))

    # -- hooks -----------------------------------------------------------------------------

    def on_train_begin(self, logs=None) -> None:
        self._in_fit = True

    def on_train_end(self, logs=None) -> None:
        self._in_fit = False

    def on_epoch_begin(self, epoch, logs=None) -> None:
        self._start()
        if self._live():
            self._write(f"Epoch {epoch + 1}/{self.params.get('epochs', '?')}\n")

    def on_train_batch_end(self, batch, logs=None) -> None:
        self._batch(batch, logs or {})

    def on_epoch_end(self, epoch, logs=None) -> None:
        if self.params.get("verbose", 1) == 0:
            return
        line = self._bar_line(logs or {}, self.params.get("steps"))
        if self._live():
            self._redraw(line, final=True)
        else:
            epochs = self.params.get("epochs", "?")
            elapsed = _format_duration(time.perf_counter() - self._t0)
            parts = [f"Epoch {epoch + 1}/{epochs}", elapsed, self._values(logs or {})]
            rate = self._rate()
            self._write(" - ".join(p for p in (*parts, rate) if p) + "\n")

    def _standalone_begin(self) -> None:
        if not self._in_fit:
            self._start()

    def _standalone_end(self, logs) -> None:
        if self._in_fit or self.params.get("verbose", 1) == 0:
            return
        line = self._bar_line(logs or {}, self.params.get("steps"))
        if self._live():
            self._redraw(line, final=True)
        else:
            self._write(line + "\n")

    def on_test_begin(self, logs=None) -> None:
        self._standalone_begin()

    def on_test_batch_end(self, batch, logs=None) -> None:
        if not self._in_fit:
            self._batch(batch, logs or {})

    def on_test_end(self, logs=None) -> None:
        self._standalone_end(logs)

    def on_predict_begin(self, logs=None) -> None:
        self._standalone_begin()

    def on_predict_batch_end(self, batch, logs=None) -> None:
        if not self._in_fit:
            self._batch(batch, logs or {})

    def on_predict_end(self, logs=None) -> None:
        self._standalone_end({})


# -- checkpoints -------------------------------------------------------------------------------


class ModelCheckpoint(Callback):
    """Saves the model (``model.save``) or its weights (``model.save_weights``) as training
    goes.

    ``filepath`` may contain ``{epoch:02d}`` (counting from 1), ``{batch}`` and any log value
    such as ``{val_loss:.4f}``. With ``save_best_only`` a file is written only when
    ``monitor`` improves on the best value so far (or on ``initial_value_threshold``).
    ``save_freq`` is ``"epoch"`` or a number of batches. ``last_saved`` is the last path
    written.
    """

    def __init__(
        self,
        filepath,
        monitor: str = "val_loss",
        verbose: int = 0,
        save_best_only: bool = False,
        save_weights_only: bool = False,
        mode: str = "auto",
        save_freq="epoch",
        initial_value_threshold: float | None = None,
    ):
        super().__init__()
        if save_freq != "epoch" and not (isinstance(save_freq, int) and save_freq > 0):
            raise ValueError(f"save_freq must be 'epoch' or a positive integer, got {save_freq!r}")
        self.filepath = os.fspath(filepath)
        self.monitor = monitor
        self.verbose = verbose
        self.save_best_only = save_best_only
        self.save_weights_only = save_weights_only
        self.save_freq = save_freq
        self._maximize = _monitor_is_max(monitor, mode, "ModelCheckpoint")
        if initial_value_threshold is not None:
            self.best = float(initial_value_threshold)
        else:
            self.best = -math.inf if self._maximize else math.inf
        self.last_saved: str | None = None
        self._epoch = 0
        self._batches_since_save = 0

    def _improved(self, current: float) -> bool:
        return current > self.best if self._maximize else current < self.best

    def on_epoch_begin(self, epoch, logs=None) -> None:
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None) -> None:
        if self.save_freq == "epoch":
            return
        self._batches_since_save += 1
        if self._batches_since_save >= self.save_freq:
            self._batches_since_save = 0
            self._save(self._epoch, batch, logs or {})

    def on_epoch_end(self, epoch, logs=None) -> None:
        if self.save_freq == "epoch":
            self._save(epoch, None, logs or {})

    def format_path(self, epoch: int, batch: int | None, logs: dict) -> str:
        """``filepath`` with its placeholders filled (epoch and batch counted from 1)."""
        values = {k: _plain(v) for k, v in logs.items()}
        values["epoch"] = epoch + 1
        if batch is not None:
            values["batch"] = batch + 1
        try:
            return self.filepath.format(**values)
        except KeyError as exc:
            raise ValueError(
                f"ModelCheckpoint filepath {self.filepath!r} uses {{{exc.args[0]}}}, which is "
                f"not in the logs (available: {', '.join(values)})"
            ) from None

    def _save(self, epoch: int, batch: int | None, logs: dict) -> None:
        path = self.format_path(epoch, batch, logs)
        if self.save_best_only:
            current = _monitored(logs, self.monitor, "ModelCheckpoint")
            if current is None:
                return
            if not self._improved(current):
                if self.verbose:
                    _print(
                        f"Epoch {epoch + 1}: {self.monitor} did not improve from {self.best:.5f}"
                    )
                return
            if self.verbose:
                _print(
                    f"Epoch {epoch + 1}: {self.monitor} improved from {self.best:.5f} to "
                    f"{current:.5f}, saving model to {path}"
                )
            self.best = current
        elif self.verbose:
            _print(f"Epoch {epoch + 1}: saving model to {path}")
        self._write(path)

    def _write(self, path: str) -> None:
        folder = os.path.dirname(path)
        if folder:
            os.makedirs(folder, exist_ok=True)
        if self.save_weights_only:
            self.model.save_weights(path)
        else:
            self.model.save(path)
        self.last_saved = path


# -- early stopping and learning-rate control ---------------------------------------------------


class EarlyStopping(Callback):
    """Stops training when ``monitor`` has not improved for ``patience`` epochs (Keras 3).

    An improvement beats the best value by more than ``min_delta``. With ``baseline``, the
    patience counter only restarts once the value also beats the baseline. Epochs before
    ``start_from_epoch`` are ignored. With ``restore_best_weights`` the weights of the best
    epoch are put back at the end of training (``get_weights``/``set_weights``).
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        min_delta: float = 0,
        patience: int = 0,
        verbose: int = 0,
        mode: str = "auto",
        baseline: float | None = None,
        restore_best_weights: bool = False,
        start_from_epoch: int = 0,
    ):
        super().__init__()
        self.monitor = monitor
        self.min_delta = abs(float(min_delta))
        self.patience = patience
        self.verbose = verbose
        self.baseline = baseline
        self.restore_best_weights = restore_best_weights
        self.start_from_epoch = start_from_epoch
        self._maximize = _monitor_is_max(monitor, mode, "EarlyStopping")
        self.on_train_begin()

    def _is_improvement(self, value: float, reference: float) -> bool:
        if self._maximize:
            return value - self.min_delta > reference
        return value + self.min_delta < reference

    def on_train_begin(self, logs=None) -> None:
        self.wait = 0
        self.stopped_epoch = 0
        self.best = -math.inf if self._maximize else math.inf
        self.best_epoch = 0
        self.best_weights = None

    def on_epoch_end(self, epoch, logs=None) -> None:
        current = _monitored(logs or {}, self.monitor, "EarlyStopping")
        if current is None or epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights = self.model.get_weights()
            self.best_epoch = epoch
        self.wait += 1
        if self._is_improvement(current, self.best):
            self.best = current
            self.best_epoch = epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            if self.baseline is None or self._is_improvement(current, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None) -> None:
        if self.stopped_epoch > 0 and self.verbose:
            _print(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose:
                _print(
                    "Restoring model weights from the end of the best epoch: "
                    f"{self.best_epoch + 1}."
                )
            self.model.set_weights(self.best_weights)


def _current_lr(optimizer) -> float:
    current = getattr(optimizer, "current_learning_rate", None)
    return float(current()) if current is not None else float(optimizer.learning_rate)


class ReduceLROnPlateau(Callback):
    """Multiplies the learning rate by ``factor`` when ``monitor`` has not improved by more
    than ``min_delta`` for ``patience`` epochs; never goes below ``min_lr``. After a
    reduction the next ``cooldown`` epochs do not count towards the patience (as in
    PyTorch; Keras's counter effectively skips one epoch fewer). Adds ``learning_rate`` (the
    rate the epoch trained with) to the epoch logs."""

    def __init__(
        self,
        monitor: str = "val_loss",
        factor: float = 0.1,
        patience: int = 10,
        verbose: int = 0,
        mode: str = "auto",
        min_delta: float = 1e-4,
        cooldown: int = 0,
        min_lr: float = 0.0,
    ):
        super().__init__()
        if factor >= 1.0:
            raise ValueError(f"ReduceLROnPlateau needs factor < 1.0, got {factor}")
        self.monitor = monitor
        self.factor = float(factor)
        self.patience = patience
        self.verbose = verbose
        self.min_delta = float(min_delta)
        self.cooldown = cooldown
        self.min_lr = float(min_lr)
        self._maximize = _monitor_is_max(monitor, mode, "ReduceLROnPlateau")
        self._reset()

    def _reset(self) -> None:
        self.best = -math.inf if self._maximize else math.inf
        self.wait = 0
        self.cooldown_counter = 0

    def _improved(self, current: float) -> bool:
        if self._maximize:
            return current > self.best + self.min_delta
        return current < self.best - self.min_delta

    def on_train_begin(self, logs=None) -> None:
        self._reset()

    def on_epoch_end(self, epoch, logs=None) -> None:
        logs = logs if logs is not None else {}
        optimizer = self.model.optimizer
        logs["learning_rate"] = _current_lr(optimizer)
        current = _monitored(logs, self.monitor, "ReduceLROnPlateau")
        if current is None:
            return
        in_cooldown = self.cooldown_counter > 0
        if in_cooldown:
            self.cooldown_counter -= 1
            self.wait = 0
        if self._improved(current):
            self.best = current
            self.wait = 0
        elif not in_cooldown:
            self.wait += 1
            if self.wait >= self.patience:
                old_lr = _current_lr(optimizer)
                if old_lr > self.min_lr:
                    new_lr = max(old_lr * self.factor, self.min_lr)
                    optimizer.learning_rate = new_lr
                    if self.verbose:
                        _print(
                            f"Epoch {epoch + 1}: ReduceLROnPlateau reducing learning rate "
                            f"to {new_lr:.4g}."
                        )
                    self.cooldown_counter = self.cooldown
                    self.wait = 0


class LearningRateScheduler(Callback):
    """Sets the learning rate at each epoch's start to ``schedule(epoch, lr)`` (or
    ``schedule(epoch)``), epochs counted from 0; adds ``learning_rate`` to the epoch logs."""

    def __init__(self, schedule: Callable, verbose: int = 0):
        super().__init__()
        self.schedule = schedule
        self.verbose = verbose
        try:
            parameters = inspect.signature(schedule).parameters.values()
            positional = [
                p
                for p in parameters
                if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL)
            ]
            self._takes_lr = len(positional) >= 2 or any(
                p.kind == p.VAR_POSITIONAL for p in positional
            )
        except (TypeError, ValueError):
            self._takes_lr = True

    def on_epoch_begin(self, epoch, logs=None) -> None:
        optimizer = self.model.optimizer
        if self._takes_lr:
            lr = self.schedule(epoch, _current_lr(optimizer))
        else:
            lr = self.schedule(epoch)
        lr = float(lr)
        if not math.isfinite(lr):
            raise ValueError(f"the learning-rate schedule returned {lr} for epoch {epoch}")
        optimizer.learning_rate = lr
        if self.verbose:
            _print(f"Epoch {epoch + 1}: LearningRateScheduler setting learning rate to {lr:.4g}.")

    def on_epoch_end(self, epoch, logs=None) -> None:
        if logs is not None:
            logs["learning_rate"] = _current_lr(self.model.optimizer)


class TerminateOnNaN(Callback):
    """Stops training at the first batch whose loss is NaN or infinite, and says so.

    ``message`` keeps the explanation (the app shows it); it is also printed.
    """

    def __init__(self):
        super().__init__()
        self.message: str | None = None
        self._epoch = 0

    def on_epoch_begin(self, epoch, logs=None) -> None:
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None) -> None:
        loss = (logs or {}).get("loss")
        if loss is None:
            return
        loss = float(loss)
        if math.isfinite(loss):
            return
        self.message = (
            f"Epoch {self._epoch + 1}, batch {batch + 1}: the loss became {loss}, so training "
            "was stopped. Try a smaller learning rate, gradient clipping (clipnorm), or check "
            "the data for NaN or huge values."
        )
        _print(self.message)
        self.model.stop_training = True


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


class CSVLogger(Callback):
    """Writes one CSV row per epoch (``epoch`` then the log keys, sorted) to ``filename``."""

    def __init__(self, filename, separator: str = ",", append: bool = False):
        super().__init__()
        self.filename = os.fspath(filename)
        self.separator = separator
        self.append = append
        self._file = None
        self._writer = None
        self._keys: list[str] | None = None

    def on_train_begin(self, logs=None) -> None:
        exists = self.append and os.path.exists(self.filename) and os.path.getsize(self.filename)
        folder = os.path.dirname(self.filename)
        if folder:
            os.makedirs(folder, exist_ok=True)
        self._file = open(self.filename, "a" if self.append else "w", newline="", encoding="utf-8")  # noqa: SIM115
        self._writer = None
        self._keys = None
        self._has_header = bool(exists)

    def on_epoch_end(self, epoch, logs=None) -> None:
        logs = logs or {}
        if self._file is None:
            self.on_train_begin()
        if self._keys is None:
            self._keys = sorted(logs)
            self._writer = csv.writer(self._file, delimiter=self.separator)
            if not self._has_header:
                self._writer.writerow(["epoch", *self._keys])
        row = [epoch] + [_plain(logs.get(k, "NA")) for k in self._keys]
        self._writer.writerow(row)
        self._file.flush()

    def on_train_end(self, logs=None) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
