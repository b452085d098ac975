"""Parameter against metric: a scatter plot per swept parameter, or parallel coordinates.

The chooser above the plot offers "metric vs <parameter>" for each swept parameter and
"Parallel coordinates" for all of them at once.

* Scatter: one point per trial that has a value; the x axis is logarithmic for a log range
  (``1e-4:1e-1:log:6``), and names (``adam``, ``sgd``) are spread on evenly spaced ticks.
  The best trial is a larger green point; selected trials take their curve colour. A click
  on a point selects its trial (``trialClicked``).
* Parallel coordinates: one vertical axis per parameter and one for the metric, each
  scaled to its own range (log where the parameter is a log range); each trial is a line
  across them, coloured from red (worst) to green (best), selected ones thicker in their
  curve colour.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from widgets.experiments.trials_table import TrialRow, ranked
from widgets.plot_style import plot_colors, style_plot

__all__ = ["PARALLEL", "ParamPlot", "PlotParam"]

PARALLEL = "__parallel__"
_BEST = "#6fd39c"
_POINT = "#4c9be8"
_FADED = "#6c7580"


@dataclass
class PlotParam:
    """A swept parameter as the plot needs it: its ``name`` in the trials' values, a
    ``label``, whether its range is logarithmic, and its values in sweep order."""

    name: str
    label: str
    log: bool
    values: list[Any]

    @property
    def numeric(self) -> bool:
        return all(isinstance(v, int | float) and not isinstance(v, bool) for v in self.values)

    def position(self, value: Any) -> float | None:
        """Where ``value`` sits on this parameter's axis (before any log scaling)."""
        if self.numeric:
            return float(value) if isinstance(value, int | float) else None
        try:
            return float(self.values.index(value))
        except ValueError:
            return None


class ParamPlot(QWidget):
    """See the module docstring.

    Signals:
        trialClicked(str): a point was clicked (its trial id).
    """

    trialClicked = Signal(str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.params: list[PlotParam] = []
        self.rows: list[TrialRow] = []
        self.metric = "metric"
        self.mode = "max"
        self.colors: dict[str, str] = {}
        self._theme = plot_colors(True)
        self.chooser = QComboBox()
        self.chooser.setToolTip("Which parameter to plot against the metric")
        self.chooser.currentIndexChanged.connect(lambda _i: self.redraw())
        self.hint = QLabel("Finished trials are plotted here.")
        self.hint.setProperty("role", "muted")
        self.widget = pg.PlotWidget(background=self._theme["background"])
        self.widget.setMinimumHeight(120)
        self.plot: pg.PlotItem = self.widget.getPlotItem()
        style_plot(self.plot, self._theme)
        self.scatter: pg.ScatterPlotItem | None = None
        self.log_x = False  # the scatter's x axis is logarithmic
        for side in ("bottom", "left"):
            self.plot.getAxis(side).enableAutoSIPrefix(False)
        self.lines: list[pg.PlotDataItem] = []
        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(self.chooser)
        top.addWidget(self.hint, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addLayout(top)
        layout.addWidget(self.widget, 1)

    def set_data(
        self,
        params: Sequence[PlotParam],
        rows: Sequence[TrialRow],
        metric: str,
        mode: str,
        colors: Mapping[str, str] | None = None,
    ) -> None:
        """Plot ``rows`` over ``params``; the chosen view is kept when it still exists."""
        chosen = self.chooser.currentData()
        self.params, self.rows = list(params), list(rows)
        self.metric, self.mode = metric, mode
        self.colors = dict(colors or {})
        self.chooser.blockSignals(True)
        self.chooser.clear()
        for p in self.params:
            self.chooser.addItem(f"{metric} vs {p.label}", p.name)
        if len(self.params) > 1:
            self.chooser.addItem("Parallel coordinates", PARALLEL)
        index = self.chooser.findData(chosen)
        self.chooser.setCurrentIndex(max(index, 0))
        self.chooser.blockSignals(False)
        self.redraw()

    def set_colors(self, colors: Mapping[str, str]) -> None:
        self.colors = dict(colors)
        self.redraw()

    @property
    def view(self) -> str | None:
        return self.chooser.currentData()

    def points(self) -> tuple[np.ndarray, np.ndarray]:
        """The scatter's ``(x, y)`` as plotted (x in parameter units), for tests."""
        if self.scatter is None:
            return np.empty(0), np.empty(0)
        x, y = self.scatter.getData()
        if self.log_x:
            x = 10.0 ** np.asarray(x)
        return np.asarray(x), np.asarray(y)

    # -- drawing ---------------------------------------------------------------------------

    def redraw(self) -> None:
        self.plot.clear()
        self.scatter = None
        self.lines = []
        scored = [r for r in self.rows if r.has_metric]
        self.hint.setVisible(not scored)
        view = self.view
        self.log_x = False
        if view is None or not scored:
            return
        if view == PARALLEL:
            self._draw_parallel(scored)
        else:
            self._draw_scatter(next(p for p in self.params if p.name == view), scored)

    def _best_id(self, scored: Sequence[TrialRow]) -> str | None:
        order = ranked(scored, self.mode)
        return order[0].id if order and order[0].status == "finished" else None

    def _draw_scatter(self, param: PlotParam, scored: Sequence[TrialRow]) -> None:
        log = (
            param.log
            and param.numeric
            and all(isinstance(v, int | float) and v > 0 for v in param.values)
        )
        self.log_x = log
        best = self._best_id(scored)
        spots = []
        for row in scored:
            x = param.position(row.values.get(param.name))
            if x is None or (log and x <= 0):
                continue
            color = self.colors.get(row.id) or (
                _BEST if row.id == best else (_POINT if row.status == "finished" else _FADED)
            )
            size = 13 if row.id == best or row.id in self.colors else 9
            spots.append(
                {
                    "pos": (math.log10(x) if log else x, row.metric),
                    "data": row.id,
                    "brush": pg.mkBrush(color),
                    "pen": pg.mkPen("#ffffff" if row.id in self.colors else color, width=1),
                    "size": size,
                    "symbol": "star" if row.id == best else "o",
                }
            )
        self.scatter = pg.ScatterPlotItem(spots=spots, hoverable=True)
        self.scatter.sigClicked.connect(self._on_clicked)
        self.plot.addItem(self.scatter)
        axis = self.plot.getAxis("bottom")
        if log:  # x is drawn as log10: label the ticks with the values themselves
            axis.setTicks([_log_ticks(param.values)])
        elif param.numeric:
            axis.setTicks(None)
        else:
            axis.setTicks([[(float(i), str(v)) for i, v in enumerate(param.values)]])
        self.plot.setLabel("bottom", param.label + (" (log)" if log else ""))
        self.plot.setLabel("left", self.metric)
        self.plot.getAxis("left").setTicks(None)
        self.plot.enableAutoRange()

    def _draw_parallel(self, scored: Sequence[TrialRow]) -> None:
        axes = [(p.label, self._scaler(p)) for p in self.params]
        metrics = [r.metric for r in scored]
        low, high = min(metrics), max(metrics)
        axes.append((self.metric, lambda row: _unit(row.metric, low, high)))
        best = self._best_id(scored)
        x = np.arange(len(axes), dtype=float)
        for row in sorted(scored, key=lambda r: (r.id in self.colors, r.id == best)):
            y = np.array([scale(row) for _, scale in axes], dtype=float)
            if not np.all(np.isfinite(y)):
                continue
            goodness = _unit(row.metric, low, high)
            if self.mode == "min":
                goodness = 1.0 - goodness
            color = self.colors.get(row.id) or _ramp(goodness)
            width = 3 if row.id in self.colors or row.id == best else 1.5
            line = pg.PlotDataItem(
                x,
                y,
                pen=pg.mkPen(color, width=width),
                symbol="o",
                symbolSize=5,
                symbolBrush=pg.mkBrush(color),
                symbolPen=pg.mkPen(color),
            )
            self.plot.addItem(line)
            self.lines.append(line)
        for i in x:
            self.plot.addItem(pg.InfiniteLine(pos=i, angle=90, pen=pg.mkPen(_FADED, width=1)))
        axis = self.plot.getAxis("bottom")
        axis.setTicks([[(float(i), name) for i, (name, _) in enumerate(axes)]])
        self.plot.getAxis("left").setTicks([[(0.0, "low"), (1.0, "high")]])
        self.plot.setLabel("bottom", "")
        self.plot.setLabel("left", "scaled")
        self.plot.setXRange(-0.2, len(axes) - 0.8, padding=0)
        self.plot.setYRange(-0.05, 1.05, padding=0)

    def _scaler(self, param: PlotParam):
        positions = [param.position(v) for v in param.values]
        positions = [p for p in positions if p is not None]
        log = param.log and positions and all(p > 0 for p in positions)
        if log:
            positions = [math.log10(p) for p in positions]
        low = min(positions, default=0.0)
        high = max(positions, default=1.0)

        def scale(row: TrialRow) -> float:
            at = param.position(row.values.get(param.name))
            if at is None or (log and at <= 0):
                return math.nan
            return _unit(math.log10(at) if log else at, low, high)

        return scale

    def _on_clicked(self, _item, points, *_args) -> None:
        if len(points):
            self.trialClicked.emit(str(points[0].data()))


def _log_ticks(values: Sequence[Any]) -> list[tuple[float, str]]:
    """Ticks at the swept values (at most eight of them, evenly picked) on a log10 axis."""
    chosen = sorted(float(v) for v in values if isinstance(v, int | float) and v > 0)
    if len(chosen) > 8:
        step = (len(chosen) - 1) / 7
        chosen = [chosen[round(i * step)] for i in range(8)]
    return [(math.log10(v), f"{v:.2g}") for v in chosen]


def _unit(value: float, low: float, high: float) -> float:
    return 0.5 if high <= low else (value - low) / (high - low)


def _ramp(t: float) -> str:
    """Red (0) through amber to green (1)."""
    t = min(max(t, 0.0), 1.0)
    red, amber, green = QColor("#e5484d"), QColor("#f0ad4e"), QColor("#3fb97a")
    a, b, u = (red, amber, t * 2) if t < 0.5 else (amber, green, t * 2 - 1)
    mixed = QColor(
        round(a.red() + (b.red() - a.red()) * u),
        round(a.green() + (b.green() - a.green()) * u),
        round(a.blue() + (b.blue() - a.blue()) * u),
    )
    return mixed.name()
