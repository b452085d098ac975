"""The numbers behind the live curves: growing buffers, the smoothed loss, what can be drawn
and how values are written to CSV.

Data arrives far more often than a screen can show it, so values are appended into
preallocated numpy buffers (:class:`GrowingBuffer`, doubled when full, so appending is
amortised O(1) and ``setData`` gets a view, not a copy of a Python list).
"""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from scipy.signal import lfilter

__all__ = [
    "GrowingBuffer",
    "Series",
    "csv_value",
    "drawable",
    "ema",
    "write_batch_csv",
    "write_epoch_csv",
]


class GrowingBuffer:
    """Rows of ``columns`` float64 values in a preallocated array, doubled when full.

    :meth:`view` returns the filled part without copying, which is what ``setData`` wants.
    """

    def __init__(self, columns: int, capacity: int = 256):
        if columns < 1 or capacity < 1:
            raise ValueError("a buffer needs at least one column and a capacity of one row")
        self._data = np.empty((capacity, columns), dtype=np.float64)
        self._size = 0

    def __len__(self) -> int:
        return self._size

    @property
    def capacity(self) -> int:
        return self._data.shape[0]

    @property
    def columns(self) -> int:
        return self._data.shape[1]

    def append(self, row: Sequence[float]) -> None:
        self.extend(np.asarray(row, dtype=np.float64).reshape(1, -1))

    def extend(self, rows: np.ndarray) -> None:
        rows = np.asarray(rows, dtype=np.float64)
        if rows.ndim != 2 or rows.shape[1] != self.columns:
            raise ValueError(f"expected rows of {self.columns} values, got shape {rows.shape}")
        needed = self._size + len(rows)
        if needed > self.capacity:
            capacity = self.capacity
            while capacity < needed:
                capacity *= 2
            grown = np.empty((capacity, self.columns), dtype=np.float64)
            grown[: self._size] = self._data[: self._size]
            self._data = grown
        self._data[self._size : needed] = rows
        self._size = needed

    def view(self) -> np.ndarray:
        return self._data[: self._size]

    def column(self, index: int) -> np.ndarray:
        return self._data[: self._size, index]

    def clear(self) -> None:
        self._size = 0


def ema(values: np.ndarray, smoothing: float) -> np.ndarray:
    """Exponential moving average with TensorBoard's bias correction (so the curve starts at
    the first value, not at zero). ``smoothing`` 0 returns the values unchanged.

    Computed as a weighted mean with two first-order filters (vectorised, about a
    millisecond for 100,000 points); non-finite values get weight zero, so one diverged
    batch does not wipe out the rest of the smoothed curve.
    """
    values = np.asarray(values, dtype=np.float64)
    if not 0.0 <= smoothing < 1.0:
        raise ValueError(f"smoothing must be in [0, 1), got {smoothing}")
    if smoothing == 0.0 or len(values) == 0:
        return values.copy()
    finite = np.isfinite(values)
    weights = finite.astype(np.float64)
    taps, poles = [1.0 - smoothing], [1.0, -smoothing]
    total = lfilter(taps, poles, np.where(finite, values, 0.0))
    weight = lfilter(taps, poles, weights)
    out = np.full_like(values, np.nan)
    np.divide(total, weight, out=out, where=weight > 0)
    return out


class Series:
    """One curve: its buffer (x, y), its plot item and whether it changed since drawn."""

    def __init__(self, item: pg.PlotDataItem, capacity: int = 256):
        self.item = item
        self.buffer = GrowingBuffer(2, capacity)
        self.dirty = False

    def extend(self, x: np.ndarray, y: np.ndarray) -> None:
        self.buffer.extend(np.column_stack([x, y]))
        self.dirty = True


def drawable(x: np.ndarray, y: np.ndarray, positive: bool = False):
    """The points pyqtgraph can draw: finite ones (and, for a log axis, positive ones).

    A diverged run logs ``inf``/``nan``; pyqtgraph's range and bounds code warns or fails
    on those, so they stay in the buffers (and the CSV) but are not handed to the curves.
    """
    keep = np.isfinite(x) & np.isfinite(y)
    if positive:
        keep &= y > 0
    if keep.all():
        return x, y
    return x[keep], y[keep]


def csv_value(value) -> str:
    if value is None:
        return ""
    value = float(value)
    return "" if math.isnan(value) else repr(value)


def write_epoch_csv(path: Path, rows: Sequence[tuple[int, dict[str, float]]]) -> Path:
    """One row per epoch: ``epoch`` counted from 1, then every key logged in any epoch."""
    keys: list[str] = []
    for _, logs in rows:
        keys += [k for k in logs if k not in keys and k not in ("size", "batch")]
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["epoch", *keys])
        for epoch, logs in rows:
            writer.writerow([epoch + 1, *[csv_value(logs.get(k)) for k in keys]])
    return path


def write_batch_csv(
    path: Path, keys: Sequence[str], columns: Sequence[np.ndarray], smoothed: np.ndarray
) -> Path:
    """One row per batch: its position in epochs, each key's value, the smoothed loss."""
    n = max((len(c) for c in columns), default=0)
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["epoch_position", *keys, "loss_smoothed"])
        for i in range(n):
            x = next((c[i, 0] for c in columns if i < len(c)), math.nan)
            row = [csv_value(x)]
            row += [csv_value(c[i, 1]) if i < len(c) else "" for c in columns]
            row.append(csv_value(smoothed[i]) if i < len(smoothed) else "")
            writer.writerow(row)
    return path
