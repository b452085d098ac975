"""Recorded runs drawn over the training plots, one colour per run.

:class:`RunOverlay` draws, for each run given to :meth:`RunOverlay.show`, its per-epoch
curves into the :class:`~widgets.plots.TrainingPlots` of the window: the training value as a
solid line with points, the ``val_`` value dashed, each in the plot where the live run's
same key goes (loss, each metric, the learning rate). Every run has its own colour
(:func:`run_colors`), shown in the legend under the run's name and in the Runs panel.
Showing another selection replaces the previous overlay; the live run's curves stay.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt

from widgets.plot_style import is_loss
from widgets.plots import TrainingPlots

__all__ = ["OverlayRun", "RunOverlay", "run_colors"]

# Distinct on dark and light backgrounds, and apart from the live run's blue and orange.
_RUN_COLORS = (
    "#e5484d", "#30a46c", "#8e4ec6", "#f76b15", "#0090ff", "#d6409f", "#12a594", "#a18072",
)  # fmt: skip


def run_colors(count: int) -> list[str]:
    """``count`` colours, one per run, in order (they repeat after eight)."""
    return [_RUN_COLORS[i % len(_RUN_COLORS)] for i in range(count)]


@dataclass
class OverlayRun:
    """One run to draw: its id, name (legend), colour and history (``epoch`` counted from 1
    plus one list per logged key)."""

    id: str
    name: str
    color: str
    history: Mapping[str, Sequence[float]]


class RunOverlay:
    """Draws runs over ``plots`` (see the module docstring)."""

    def __init__(self, plots: TrainingPlots):
        self.plots = plots
        # (run id, key) -> the curve drawn and the plot holding it
        self.items: dict[tuple[str, str], tuple[pg.PlotDataItem, pg.PlotItem]] = {}

    def show(self, runs: Sequence[OverlayRun]) -> None:
        """Replace the overlay with ``runs`` (an empty list clears it)."""
        self.clear()
        for run in runs:
            epochs = np.asarray(run.history.get("epoch", []), dtype=np.float64)
            for key, values in run.history.items():
                if key == "epoch" or len(values) != len(epochs):
                    continue
                self._draw(run, key, epochs, np.asarray(values, dtype=np.float64))

    def clear(self) -> None:
        for item, plot in self.items.values():
            plot.removeItem(item)  # a plot the live run cleared away no longer shows it
        self.items = {}

    def curve(self, run_id: str, key: str) -> tuple[np.ndarray, np.ndarray]:
        """What is drawn for ``key`` of run ``run_id`` as ``(x, y)`` (empty if nothing)."""
        found = self.items.get((run_id, key))
        if found is None or found[0].xData is None:
            return np.empty(0), np.empty(0)
        return np.asarray(found[0].xData), np.asarray(found[0].yData)

    def _draw(self, run: OverlayRun, key: str, x: np.ndarray, y: np.ndarray) -> None:
        keep = np.isfinite(y)
        if not keep.any():
            return  # a val_ key of a run without validation, or a diverged value only
        x, y = x[keep], y[keep]
        rate = key in ("learning_rate", "lr")
        if rate:  # the rate held over each epoch, as the live plot draws it
            x = np.repeat(x, 2) - np.tile([1.0, 0.0], len(x))
            y = np.repeat(y, 2)
        validation = key.startswith("val_")
        pen = pg.mkPen(
            run.color,
            width=2,
            style=Qt.PenStyle.DashLine if validation else Qt.PenStyle.SolidLine,
        )
        # Only the loss curves are named in the legend: one entry per run (and its val_).
        named = is_loss(key) and key.removeprefix("val_") == "loss"
        item = pg.PlotDataItem(
            x,
            y,
            pen=pen,
            symbol=None if rate else ("t" if validation else "o"),
            symbolSize=5,
            symbolBrush=pg.mkBrush(run.color),
            symbolPen=pg.mkPen(run.color),
            name=(f"{run.name} (val)" if validation else run.name) if named else None,
        )
        plot = self.plots.plot_item(key)
        plot.addItem(item)
        self.items[(run.id, key)] = (item, plot)
