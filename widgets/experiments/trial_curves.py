"""The curves of an experiment's trials, overlaid: the ranking metric and the loss per epoch.

Two plots side by side. Every trial with a history is drawn faint and thin, so the spread
of the whole sweep shows; the selected trials are drawn in their own colour
(:func:`widgets.run_overlay.run_colors`, the colours the Runs panel uses) with a legend
entry made of their values. In the loss plot the training loss is solid and ``val_loss``
dashed. Trials still running grow as their epochs arrive.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QVBoxLayout, QWidget

from widgets.experiments.trials_table import TrialRow, format_value
from widgets.plot_style import plot_colors, style_plot, title

__all__ = ["TrialCurves"]

_FAINT = (150, 160, 172, 70)


class TrialCurves(QWidget):
    """See the module docstring."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._theme = plot_colors(True)
        self.widget = pg.GraphicsLayoutWidget()
        self.widget.setBackground(self._theme["background"])
        self.widget.setMinimumHeight(120)
        self.metric_plot: pg.PlotItem = self.widget.addPlot(row=0, col=0)
        self.loss_plot: pg.PlotItem = self.widget.addPlot(row=0, col=1)
        for plot in (self.metric_plot, self.loss_plot):
            style_plot(plot, self._theme)
            plot.setLabel("bottom", "epoch")
        self.legend = self.loss_plot.addLegend(
            offset=(-8, 8),
            labelTextSize="8pt",
            brush=pg.mkBrush(30, 33, 39, 210),  # readable over the curves it covers
            pen=pg.mkPen(60, 66, 76),
        )
        self.metric = "metric"
        # (trial id, key) -> the curve drawn (selected trials only), for tests and legend
        self.items: dict[tuple[str, str], pg.PlotDataItem] = {}
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.widget)

    def show_trials(
        self,
        rows: Sequence[TrialRow],
        metric: str,
        colors: Mapping[str, str],
        params: Sequence[tuple[str, str]] = (),
    ) -> None:
        """Draw every trial of ``rows`` faint and those in ``colors`` in their colour."""
        self.metric = metric
        for plot in (self.metric_plot, self.loss_plot):
            plot.clear()
        self.legend.clear()
        self.items = {}
        self.metric_plot.setTitle(title(metric), size="9pt", color=self._theme["foreground"])
        self.loss_plot.setTitle("Loss", size="9pt", color=self._theme["foreground"])
        # Faint ones first, so the selected curves are drawn over them.
        ordered = sorted(rows, key=lambda r: r.id in colors)
        for row in ordered:
            color = colors.get(row.id)
            epochs = row.history.get("epoch") or []
            if not epochs:
                continue
            if color is None:
                self._curve(self.metric_plot, row, metric, epochs, pg.mkPen(_FAINT, width=1))
                continue
            name = _legend(row, params)
            self._curve(self.metric_plot, row, metric, epochs, pg.mkPen(color, width=2), True)
            self._curve(self.loss_plot, row, "loss", epochs, pg.mkPen(color, width=2), True, name)
            dashed = pg.mkPen(color, width=2, style=Qt.PenStyle.DashLine)
            self._curve(self.loss_plot, row, "val_loss", epochs, dashed, True)

    def curve(self, trial_id: str, key: str) -> tuple[np.ndarray, np.ndarray]:
        """What is drawn for ``key`` of a selected trial as ``(x, y)`` (empty if nothing)."""
        item = self.items.get((trial_id, key))
        if item is None or item.xData is None:
            return np.empty(0), np.empty(0)
        return np.asarray(item.xData), np.asarray(item.yData)

    def _curve(self, plot, row, key, epochs, pen, selected=False, name=None) -> None:
        values = row.history.get(key)
        if values is None or len(values) != len(epochs):
            return
        x = np.asarray(epochs, dtype=np.float64)
        y = np.asarray(values, dtype=np.float64)
        keep = np.isfinite(y)
        if not keep.any():
            return
        item = pg.PlotDataItem(
            x[keep],
            y[keep],
            pen=pen,
            symbol="o" if selected else None,
            symbolSize=4,
            symbolBrush=pg.mkBrush(pen.color()),
            symbolPen=pg.mkPen(pen.color()),
            name=name,
        )
        plot.addItem(item)
        if selected:
            self.items[(row.id, key)] = item


def _legend(row: TrialRow, params: Sequence[tuple[str, str]]) -> str:
    """``"lr 0.0063 · units 128"``: a trial by its values, short enough for a small plot."""
    parts = [f"{_short(label)} {format_value(row.values.get(name))}" for name, label in params[:2]]
    return " · ".join(parts) or row.id


def _short(label: str) -> str:
    if label == "learning rate":
        return "lr"
    return label.rpartition(".")[2].replace("_", " ")
