"""Paint timing for the live training plots: a pyqtgraph layout widget that remembers how
long its last paint took, so the plots can space their redraws by it."""

from __future__ import annotations

import time

import pyqtgraph as pg

__all__ = ["PAINT_BUDGET", "TimedLayout"]

#: The curves are redrawn at most once per this many paint durations: a redraw (axes, text,
#: curves) takes 10-50 ms, and at a fixed 30 Hz the UI thread spent two thirds of a short
#: training run painting, holding the interpreter the training thread needs.
PAINT_BUDGET = 5


class TimedLayout(pg.GraphicsLayoutWidget):
    """pyqtgraph's layout widget that remembers how long its last paint took."""

    last_paint_s = 0.0

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt's name
        start = time.perf_counter()
        super().paintEvent(event)
        self.last_paint_s = time.perf_counter() - start
