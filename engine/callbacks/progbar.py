"""``ProgbarLogger``: the terminal progress display of ``fit``, ``evaluate`` and ``predict``."""

from __future__ import annotations

import sys
import time
from typing import TextIO

from engine.callbacks.base import Callback

__all__ = ["ProgbarLogger"]


def _format_value(value) -> str:
    try:
        value = float(value)
    except (TypeError, ValueError):
        return str(value)
    # Tiny and huge values (a diverging loss reaches 1e27) in exponent form, to stay short.
    if value != 0 and not 1e-3 <= abs(value) < 1e6:
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
