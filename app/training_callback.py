"""The engine callback that turns ``fit``'s hooks into Qt signals (batched to at most
:data:`BATCH_SIGNAL_HZ` updates a second), and the pause/stop flags the worker obeys."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

from app.training_results import BatchUpdate
from engine.callbacks import Callback

__all__ = ["BATCH_SIGNAL_HZ", "QtReportingCallback", "RunFlags"]

#: Updates a second at most: each is a queued event the UI thread handles while holding the
#: interpreter the training step needs; the plots redraw less often still.
BATCH_SIGNAL_HZ = 10


class RunFlags:
    """What the UI thread tells the worker: stop, and pause (cleared event = paused)."""

    def __init__(self) -> None:
        self.stop = threading.Event()
        self.running = threading.Event()
        self.running.set()


class QtReportingCallback(Callback):
    """An engine callback that reports through ``emit_*`` functions and obeys the flags.

    The engine logs the *running mean* of the loss at each batch's end; the loss of the
    batch itself is recovered from consecutive means (``mean_k n_k - mean_{k-1} n_{k-1}``
    over the batch size), which is exact up to rounding.
    """

    def __init__(
        self,
        flags: RunFlags,
        emit_batch: Callable[[BatchUpdate], None],
        emit_epoch: Callable[[int, dict], None],
        emit_paused: Callable[[bool], None],
        max_rate_hz: float = BATCH_SIGNAL_HZ,
    ):
        super().__init__()
        self._flags = flags
        self._emit_batch = emit_batch
        self._emit_epoch = emit_epoch
        self._emit_paused = emit_paused
        self._interval = 1.0 / max_rate_hz
        self._pending_x: list[float] = []
        self._pending: dict[str, list[float]] = {}
        self._last_emit = 0.0
        self._epoch = 0
        self._prev_mean = 0.0
        self._prev_count = 0
        self._train_seconds = 0.0
        self._batch_started = 0.0
        self._started = 0.0
        self._samples_done = 0
        self._last_step = 0

    # -- hooks ----------------------------------------------------------------------------------

    def on_train_begin(self, logs=None) -> None:
        self._started = time.perf_counter()
        self._train_seconds = 0.0
        self._samples_done = 0

    def on_epoch_begin(self, epoch: int, logs=None) -> None:
        self._epoch = epoch
        self._prev_mean = 0.0
        self._prev_count = 0

    def on_train_batch_begin(self, batch: int, logs=None) -> None:
        self._batch_started = time.perf_counter()

    def on_train_batch_end(self, batch: int, logs=None) -> None:
        now = time.perf_counter()
        self._train_seconds += now - self._batch_started
        logs = logs or {}
        size = int(logs.get("size") or self.params.get("batch_size") or 1)
        count = self._prev_count + size
        mean = float(logs.get("loss", math.nan))
        batch_loss = (mean * count - self._prev_mean * self._prev_count) / size
        self._prev_mean, self._prev_count = mean, count
        self._samples_done += size
        self._last_step = batch
        steps = max(1, int(self.params.get("steps") or 1))
        self._pending_x.append(self._epoch + (batch + 1) / steps)
        self._pending.setdefault("loss", []).append(batch_loss)
        for key, value in logs.items():
            if key not in ("loss", "size", "batch", "num_steps"):
                try:
                    self._pending.setdefault(key, []).append(float(value))
                except (TypeError, ValueError):
                    continue
        if now - self._last_emit >= self._interval or batch + 1 >= steps:
            self.flush()
        self._obey_flags()

    def on_test_batch_end(self, batch: int, logs=None) -> None:
        if self._flags.stop.is_set() and self.model is not None:
            self.model.stop_training = True  # stop after this epoch's validation

    def on_epoch_end(self, epoch: int, logs=None) -> None:
        self.flush()
        self._emit_epoch(epoch, {k: _plain(v) for k, v in (logs or {}).items()})

    def on_train_end(self, logs=None) -> None:
        self.flush()

    # -- helpers --------------------------------------------------------------------------------

    def _obey_flags(self) -> None:
        flags = self._flags
        if not flags.running.is_set() and not flags.stop.is_set():
            self.flush()
            self._emit_paused(True)
            while not flags.running.wait(0.1):
                if flags.stop.is_set():
                    break
            self._emit_paused(False)
            self._last_emit = 0.0
        if flags.stop.is_set() and self.model is not None:
            self.model.stop_training = True

    def flush(self) -> None:
        """Emit the batches collected since the last update (if any)."""
        if not self._pending_x:
            return
        epochs = int(self.params.get("epochs") or 1)
        steps = max(1, int(self.params.get("steps") or 1))
        total = int(self.params.get("samples") or 0) * epochs
        rate = self._samples_done / self._train_seconds if self._train_seconds > 0 else 0.0
        elapsed = time.perf_counter() - self._started
        eta = None
        if rate > 0 and total:
            # Training time left, stretched by the share of time spent outside training
            # steps so far (validation, data loading, callbacks).
            overhead = elapsed / self._train_seconds if self._train_seconds > 0 else 1.0
            eta = max(0.0, (total - self._samples_done) / rate * overhead)
        update = BatchUpdate(
            x=self._pending_x,
            values=self._pending,
            epoch=self._epoch,
            step=self._last_step,
            steps=steps,
            epochs=epochs,
            samples_done=self._samples_done,
            samples_total=total,
            samples_per_second=rate,
            eta_seconds=eta,
            elapsed_seconds=elapsed,
        )
        self._pending_x, self._pending = [], {}
        self._last_emit = time.perf_counter()
        self._emit_batch(update)


def _plain(value):
    try:
        return float(value)
    except (TypeError, ValueError):
        return value
