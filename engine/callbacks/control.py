"""Callbacks that steer a run: ``EarlyStopping``, ``ReduceLROnPlateau``,
``LearningRateScheduler`` and ``TerminateOnNaN``."""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable

from engine.callbacks.base import Callback, _monitor_is_max, _monitored, _print

__all__ = ["EarlyStopping", "ReduceLROnPlateau", "LearningRateScheduler", "TerminateOnNaN"]


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
