"""Paint timing for the live training plots: a pyqtgraph layout widget that remembers how
long its last paint took, so the plots can space their redraws by it."""

from __future__ import annotations

import time

import pyqtgraph as pg

__all__ = ["MAX_REDRAW_INTERVAL_S", "PAINT_BUDGET", "TimedLayout"]

#: The curves are redrawn at most once per this many paint durations, so painting takes at
#: most 1/PAINT_BUDGET of the UI thread: every paint holds the interpreter the training
#: thread needs (at a fixed 30 Hz the app spent two thirds of a short run painting).
PAINT_BUDGET = 20

#: ...but never less often than this while points arrive: the curves must visibly move.
MAX_REDRAW_INTERVAL_S = 0.34


class TimedLayout(pg.GraphicsLayoutWidget):
    """pyqtgraph's layout widget that remembers how long its last paint took."""

    last_paint_s = 0.0

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt's name
        start = time.perf_counter()
        super().paintEvent(event)
        self.last_paint_s = time.perf_counter() - start
