"""The pyqtgraph items of the live training curves: one plot per quantity, and the curves
drawn in it, styled by what they show (a batch value, an epoch value, a validation value,
a per-class value, a weight penalty, the learning rate).

:class:`~widgets.plots.TrainingPlots` decides which plot a key goes to and when to redraw;
this module only builds the items. The plots are built to be cheap to repaint while a run
is training, because every repaint holds the interpreter the training thread needs:

* each axis (ticks, tick labels and its grid lines) is kept as a pixmap
  (``DeviceCoordinateCache``) and drawn again only when its range or size changes, so a
  redraw that only moves the curves blits the axes instead of replaying their text (the
  axes were ~70 % of a repaint);
* curves clip to the visible range and downsample (peak mode), so an hour-long run draws
  as few points as a short one;
* while a run trains, :func:`fit_y_range` moves a plot's y range only when a point leaves
  it or the points shrink to less than half of it, not at every redraw as pyqtgraph's
  auto-range does (which drew the y axis again each time).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QGraphicsItem

from widgets.plot_style import base_name, is_loss, is_regularization, label, style_plot

__all__ = [
    "batch_curve",
    "build_plot",
    "epoch_curve",
    "fit_rate_range",
    "fit_y_range",
    "fit_y_ranges",
    "per_value_families",
    "per_value_index",
    "series_color",
    "reset_plot",
    "retitle",
    "smoothed_curve",
]

#: The margin above and below the points when :func:`fit_y_range` moves a range, as a share
#: of the points' spread: a falling loss moves it once per this share, not once per redraw.
Y_SLACK = 0.12


def build_plot(colors: dict, name: str, heading: str, small: bool = False) -> pg.PlotItem:
    """A plot for ``name`` ("loss", a metric, "learning_rate"), titled ``heading``; a small
    one (the learning rate) has no legend."""
    plot = pg.PlotItem()
    fg = colors["foreground"]
    style_plot(plot, colors)
    plot.getAxis("left").setWidth(48)  # a fixed width: new tick labels never relayout
    for side in ("left", "bottom"):
        plot.getAxis(side).setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
    plot.setClipToView(True)
    plot.setDownsampling(auto=True, mode="peak")
    if small:
        plot.setMaximumHeight(120)
        plot.getAxis("left").setStyle(tickTextOffset=2)
    else:
        plot.setMinimumHeight(120)
        # Losses fall and metrics mostly rise: keep the legend where the curves are not.
        corner = (-6, 6) if name == "loss" else (-6, -6)
        legend = plot.addLegend(offset=corner, labelTextSize="8pt")
        legend.setLabelTextColor(fg)
        background = QColor(colors["background"])
        background.setAlpha(200)
        legend.setBrush(pg.mkBrush(background))
    plot.setLabel("bottom", "epoch", color=fg, size="8pt")
    reset_plot(plot, colors, heading, per_value=False)
    return plot


def reset_plot(plot: pg.PlotItem, colors: dict, heading: str, per_value: bool) -> None:
    """Empty ``plot`` (curves and legend entries) for another run's ``heading``."""
    plot.clear()
    retitle(plot, colors, heading, per_value)
    plot.enableAutoRange(x=True, y=True)


def retitle(plot: pg.PlotItem, colors: dict, heading: str, per_value: bool) -> None:
    """Title ``plot``; a metric logged per class or threshold lays its legend out in five
    columns."""
    plot.setTitle(heading, color=colors["foreground"], size="9pt")
    if plot.legend is not None:
        plot.legend.setColumnCount(5 if per_value else 1)


def series_color(key: str, colors: dict, assigned: dict[str, str]) -> str:
    """Training values in the first colour, validation in the second, the learning rate
    in the third; each extra loss of a multi-output model gets its own (``assigned``
    remembers which, in the order they came)."""
    series = colors["series"]
    base = base_name(key)
    if base in ("learning_rate", "lr"):
        return series[2]
    if is_regularization(base):
        color = series[4]
        return QColor(color).lighter(140).name() if key.startswith("val_") else color
    if base == "loss" or not is_loss(base):
        return series[1] if key.startswith("val_") else series[0]
    if base not in assigned:
        assigned[base] = series[3 + len(assigned) % (len(series) - 3)]
    color = assigned[base]
    return QColor(color).lighter(140).name() if key.startswith("val_") else color


def per_value_families(keys: Iterable[str]) -> set[str]:
    """Metrics logged per value among ``keys``: ``<name>_0`` is there (a second metric of
    the same name, ``auc_1``, comes without an ``auc_0``)."""
    bases = (base_name(key) for key in keys)
    return {b[:-2] for b in bases if b.endswith("_0") and not is_loss(b)}


def per_value_index(key: str, families: set[str]) -> tuple[str, int] | None:
    """``("f1_score", 3)`` for ``f1_score_3`` or ``val_f1_score_3`` of a family."""
    name, _, index = base_name(key).rpartition("_")
    if name in families and index.isdigit():
        return name, int(index)
    return None


def batch_curve(plot: pg.PlotItem, key: str, color: QColor) -> pg.PlotDataItem:
    """The faint per-batch curve of ``key`` (the loss's legend entry is its smoothed curve)."""
    faint = QColor(color)
    faint.setAlpha(70)
    if is_regularization(key):
        # The penalty's running mean: a faint dashed line; the epoch curve has the legend.
        pen = pg.mkPen(faint, width=1, style=Qt.PenStyle.DashLine)
        item = plot.plot(pen=pen, name=None, skipFiniteCheck=True)
    else:
        item = plot.plot(
            pen=pg.mkPen(faint, width=1),
            name=None if key == "loss" else f"{label(key)} (batch)",
            skipFiniteCheck=True,  # TrainingPlots hands over finite points only
        )
    item.setZValue(-10)
    return item


def smoothed_curve(plot: pg.PlotItem, color: QColor) -> pg.PlotDataItem:
    """The smoothed per-batch loss, drawn over the faint batch values."""
    item = plot.plot(pen=pg.mkPen(color, width=2), name="loss (smoothed)", skipFiniteCheck=True)
    item.setZValue(0)
    return item


def epoch_curve(
    plot: pg.PlotItem,
    key: str,
    color: QColor,
    background: str,
    family_index: int | None = None,
) -> pg.PlotDataItem:
    """The curve of an epoch value: points for training values, a line of points for
    ``val_`` values, a line for the learning rate; ``family_index`` for one value of a
    metric logged per class or threshold (one hue per index)."""
    is_val = key.startswith("val_")
    if family_index is not None:
        # One hue per index; the validation line carries the legend entry.
        color = pg.intColor(family_index, hues=max(10, family_index + 1), maxValue=230)
        item = plot.plot(
            pen=pg.mkPen(color, width=2) if is_val else None,
            symbol="o" if is_val else "s",
            symbolSize=5 if is_val else 4,
            symbolBrush=pg.mkBrush(color),
            symbolPen=None,
            name=str(family_index) if is_val else None,
        )
    elif key in ("learning_rate", "lr"):
        item = plot.plot(pen=pg.mkPen(color, width=2), name=None)
    elif is_regularization(key):
        # Apart from the data loss: its own dashed curve and legend entry.
        item = plot.plot(
            pen=pg.mkPen(color, width=2, style=Qt.PenStyle.DashLine),
            symbol="d",
            symbolSize=6,
            symbolBrush=pg.mkBrush(color),
            symbolPen=pg.mkPen(QColor(background), width=1),
            name=label(key),
        )
    else:
        item = plot.plot(
            pen=pg.mkPen(color, width=2, style=Qt.PenStyle.SolidLine) if is_val else None,
            symbol="o" if is_val else "s",
            symbolSize=7 if is_val else 6,
            symbolBrush=pg.mkBrush(color),
            symbolPen=pg.mkPen(QColor(background), width=1),
            name=label(key) if is_val else f"{label(key)} (epoch)",
        )
    item.setZValue(10)
    return item


def fit_y_range(plot: pg.PlotItem, columns: Iterable[np.ndarray], log: bool = False) -> bool:
    """Keep every finite value of ``columns`` in ``plot``'s y range (``log``: the plot shows
    log10 of the positive ones), moving the range only when a value is outside it or the
    values fill less than half of it. Returns whether the range moved."""
    lows, highs = [], []
    for values in columns:
        values = values[np.isfinite(values)]
        if log:
            values = np.log10(values[values > 0])
        if len(values):
            lows.append(values.min())
            highs.append(values.max())
    if not lows:
        return False
    low, high = float(min(lows)), float(max(highs))
    view_low, view_high = plot.getViewBox().viewRange()[1]
    if view_low <= low and high <= view_high and high - low >= 0.5 * (view_high - view_low):
        return False
    spread = high - low if high > low else max(abs(high), 1.0) * 0.1
    plot.setYRange(low - Y_SLACK * spread, high + Y_SLACK * spread, padding=0)
    return True


def fit_y_ranges(plots: Mapping[str, pg.PlotItem], series: Iterable, log_loss: bool) -> None:
    """:func:`fit_y_range` for each plot but the learning rate's, over the buffers of the
    ``series`` (:class:`~widgets.plot_data.Series`) drawn in it. (The smoothed loss is a
    weighted mean of the batch losses, so it lies within their range.)"""
    columns: dict[int, list[np.ndarray]] = {}
    for s in series:
        columns.setdefault(id(s.item.getViewBox()), []).append(s.buffer.column(1))
    for name, plot in plots.items():
        if name != "learning_rate":
            found = columns.get(id(plot.getViewBox()), [])
            fit_y_range(plot, found, log_loss and name == "loss")


def fit_rate_range(plot: pg.PlotItem, rates: np.ndarray) -> None:
    """Keep zero and the largest rate in view: a constant rate would otherwise get an
    arbitrary unit-wide range around it, and a decaying one would look like a cliff."""
    rates = rates[np.isfinite(rates)]
    top = float(rates.max()) if len(rates) else 0.0
    if top > 0:
        plot.setYRange(0.0, top * 1.15, padding=0)
