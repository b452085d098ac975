"""Reading back the live training curves: the points held and drawn for a key, and the
CSV and PNG exports. A part of :class:`~widgets.plots.TrainingPlots` (a mixin over its
series and layout), kept apart so the widget's module stays about drawing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt

from widgets.plot_data import ema, write_batch_csv, write_epoch_csv

__all__ = ["CurveReadback"]


class CurveReadback:
    """What :class:`~widgets.plots.TrainingPlots` holds and shows, for tests and exports."""

    def series(self, key: str, level: str = "epoch") -> tuple[np.ndarray, np.ndarray]:
        """The points held for ``key`` (``level`` "epoch" or "batch"; "smoothed" for the
        smoothed batch loss) as ``(x, y)`` copies."""
        if level == "smoothed":
            loss = self._batch_series.get("loss")
            if loss is None:
                return np.empty(0), np.empty(0)
            data = loss.buffer.view()
            return data[:, 0].copy(), ema(data[:, 1], self._smoothing)
        store = self._epoch_series if level == "epoch" else self._batch_series
        found = store.get(key)
        if found is None:
            return np.empty(0), np.empty(0)
        data = found.buffer.view()
        return data[:, 0].copy(), data[:, 1].copy()

    def drawn(self, key: str, level: str = "epoch") -> tuple[np.ndarray, np.ndarray]:
        """What the curve of ``key`` currently shows (after the last redraw)."""
        if level == "smoothed":
            item = self._smoothed.item if self._smoothed is not None else None
        else:
            store = self._epoch_series if level == "epoch" else self._batch_series
            item = store[key].item if key in store else None
        if item is None or item.xData is None:
            return np.empty(0), np.empty(0)
        return np.asarray(item.xData), np.asarray(item.yData)

    def keys(self, level: str = "epoch") -> list[str]:
        return list(self._epoch_series if level == "epoch" else self._batch_series)

    def export_csv(self, path: str | Path, level: str = "epoch") -> Path:
        """Write the numbers behind the curves: one row per epoch (``epoch`` counted from 1,
        then every logged key) or, with ``level="batch"``, one row per batch."""
        path = Path(path)
        if level == "epoch":
            return write_epoch_csv(path, self._epoch_rows)
        if level != "batch":
            raise ValueError(f"level must be 'epoch' or 'batch', got {level!r}")
        keys = list(self._batch_series)
        columns = [self._batch_series[k].buffer.view() for k in keys]
        return write_batch_csv(path, keys, columns, self.series("loss", "smoothed")[1])

    def export_png(self, path: str | Path, width: int | None = None) -> Path:
        """Save the plots as a PNG image (``width`` in pixels; default: as on screen)."""
        self._refresh()
        path = Path(path)
        image = self._layout_widget.grab()
        if width is not None and width > 0 and image.width() > 0 and width != image.width():
            image = image.scaledToWidth(width, Qt.TransformationMode.SmoothTransformation)
        if not image.save(str(path), "PNG"):
            raise OSError(f"could not write {path}")
        return path
