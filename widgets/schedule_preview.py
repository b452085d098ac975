"""A small plot of the learning rate the planned run will use, drawn before training.

:class:`SchedulePreview` evaluates the schedule (through :func:`widgets.toolbox_catalog.
preview_schedule`, i.e. the engine's own schedule) at every optimizer step of the planned
run — epochs x steps per epoch — and draws it against the epoch, as the training curves
do. A constant rate is a flat line. Long runs are thinned to at most
:data:`MAX_POINTS` evenly spaced steps so a redraw stays instant.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from widgets.plot_style import plot_colors, style_plot
from widgets.toolbox_catalog import preview_schedule

__all__ = ["MAX_POINTS", "SchedulePreview"]

MAX_POINTS = 4000


class SchedulePreview(QWidget):
    """The learning-rate curve of a schedule (or a constant) over the planned steps."""

    def __init__(self, parent: QWidget | None = None, *, dark: bool | None = None):
        super().__init__(parent)
        if dark is None:
            dark = self.palette().window().color().lightness() < 128
        self._colors = plot_colors(dark)
        self._epochs = 10
        self._steps_per_epoch = 100
        self._schedule: Mapping[str, Any] | float = 0.001
        self.steps = np.empty(0, dtype=np.int64)
        self.rates = np.empty(0)
        self.error: str | None = None

        self.plot_widget = pg.PlotWidget(background=self._colors["background"])
        self.plot_widget.setObjectName("schedulePreview")
        self.plot_widget.setFixedHeight(130)
        self.plot_widget.setMinimumWidth(220)
        plot = self.plot_widget.getPlotItem()
        style_plot(plot, self._colors)
        plot.setLabel("bottom", "epoch", color=self._colors["foreground"], size="8pt")
        plot.getAxis("left").setWidth(52)
        self.curve = plot.plot(pen=pg.mkPen(self._colors["series"][2], width=2))
        self.caption = QLabel("")
        self.caption.setObjectName("schedulePreviewCaption")
        self.caption.setProperty("role", "muted")
        self.caption.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.plot_widget)
        layout.addWidget(self.caption)
        self.redraw()

    @property
    def total_steps(self) -> int:
        return self._epochs * self._steps_per_epoch

    @property
    def steps_per_epoch(self) -> int:
        return self._steps_per_epoch

    def set_plan(self, epochs: int, steps_per_epoch: int) -> None:
        """The run the curve covers; redraws when it changed."""
        plan = (max(1, int(epochs)), max(1, int(steps_per_epoch)))
        if plan != (self._epochs, self._steps_per_epoch):
            self._epochs, self._steps_per_epoch = plan
            self.redraw()

    def set_schedule(self, schedule: Mapping[str, Any] | float) -> None:
        """A schedule's project-file dict, or a constant rate; redraws at once."""
        self._schedule = dict(schedule) if isinstance(schedule, Mapping) else float(schedule)
        self.redraw()

    def redraw(self) -> None:
        total = self.total_steps
        try:
            rates = preview_schedule(self._schedule, total)
        except Exception as err:  # noqa: BLE001 - any bad argument: say so, draw nothing
            self.error = str(err.args[0]) if getattr(err, "args", None) else str(err)
            self.steps, self.rates = np.empty(0, dtype=np.int64), np.empty(0)
            self.curve.setData([], [])
            self.caption.setText(f"Cannot draw the schedule: {self.error}")
            self.caption.setProperty("role", "error")
            self._repolish()
            return
        self.error = None
        steps = np.arange(len(rates))
        if len(steps) > MAX_POINTS:
            keep = np.unique(np.linspace(0, len(steps) - 1, MAX_POINTS).round().astype(np.int64))
            steps, rates = steps[keep], rates[keep]
        self.steps, self.rates = steps, rates
        finite = np.isfinite(rates)
        x = steps / self._steps_per_epoch
        self.curve.setData(x[finite], rates[finite])
        top = float(rates[finite].max()) if finite.any() else 0.0
        plot = self.plot_widget.getPlotItem()
        plot.setXRange(0.0, float(self._epochs), padding=0.02)
        if top > 0:
            plot.setYRange(0.0, top * 1.12, padding=0)
        self.caption.setText(self._describe(rates))
        self.caption.setProperty("role", "muted")
        self._repolish()

    def _describe(self, rates: np.ndarray) -> str:
        if len(rates) == 0:
            return ""
        first, last = _fmt(rates[0]), _fmt(rates[-1])
        peak = float(np.nanmax(rates))
        plan = f"{self.total_steps:,} steps"
        self.caption.setToolTip(
            f"{self._epochs} epochs × {self._steps_per_epoch:,} steps per epoch "
            f"= {self.total_steps:,} optimizer steps"
        )
        if first == last and _fmt(peak) == first:
            return f"Constant {first} over {plan}"
        shape = f"{first} → {last}"
        if peak > max(rates[0], rates[-1]) * (1 + 1e-9):
            shape = f"{first} → peak {_fmt(peak)} → {last}"
        return f"{shape} over {plan}"

    def _repolish(self) -> None:
        self.caption.style().unpolish(self.caption)
        self.caption.style().polish(self.caption)


def _fmt(value: float) -> str:
    value = float(value)
    if not math.isfinite(value):
        return str(value)
    return f"{value:.3g}"
