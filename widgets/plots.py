"""Live training curves: loss, every metric and the learning rate, redrawn from a timer.

:class:`TrainingPlots` draws, on one x axis counted in epochs,

* a loss plot: the loss of every batch (faint), its smoothed curve, the epoch's training
  loss as points and ``val_loss`` as a line of points (every ``*loss`` key of a multi-output
  model gets its own colour);
* one plot per metric (``accuracy``, ``mae``, ...): the running value during the epoch
  (faint), the epoch's value and the ``val_`` value as points;
* a small learning-rate plot.

A metric logged once per class or threshold (``f1_score_0``, ``f1_score_1``, ..., as ``fit``
logs ``F1Score(average=None)``) gets one plot for all its values, one colour per index: the
validation values as lines, the training values as points, and no running batch curves
(ten faint lines would hide everything).

Weight penalties (``regularization_loss``, logged when a layer has a kernel, bias or
activity regularizer) are drawn in the loss plot as their own dashed curve with its own
legend entry, apart from the data loss, so the share of the penalty is visible.

Data arrives far more often than a screen can show it, so the widget follows pyqtgraph's
live-plotting recipe: values are appended into preallocated numpy buffers
(:class:`~widgets.plot_data.GrowingBuffer`), and a :class:`QTimer` pushes changed series to
their curves at most :data:`MAX_REFRESH_HZ` times a second (less often if a repaint is slow,
see :data:`~widgets.plot_timing.PAINT_BUDGET`; a hidden widget is not redrawn until shown).
Every repaint holds the interpreter the training thread needs, so a run's repaints are kept
cheap: the axes are cached pixmaps (:mod:`widgets.plot_items`), and while a run trains the
shared epoch axis is fixed to the planned epochs (:meth:`TrainingPlots.start_run`), so only
the curves and the y axes that changed are drawn again. The plots and curves of one run are
emptied and reused by the next (:meth:`TrainingPlots.start_run`): building a plot, a curve
and its legend entry costs more UI time than the rest of a short run's redraws.

The curves can be saved as CSV (the numbers, per epoch or per batch) and PNG. SVG export is
not offered: pyqtgraph 0.14 writes broken paths.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QColor, QShowEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from widgets.plot_data import GrowingBuffer, Series, drawable, ema
from widgets.plot_items import (
    batch_curve,
    build_plot,
    epoch_curve,
    fit_rate_range,
    fit_y_ranges,
    per_value_families,
    per_value_index,
    reset_plot,
    retitle,
    series_color,
    smoothed_curve,
)
from widgets.plot_readback import CurveReadback
from widgets.plot_style import base_name, is_loss, plot_colors, title
from widgets.plot_timing import MAX_REDRAW_INTERVAL_S, PAINT_BUDGET, TimedLayout

__all__ = [
    "MAX_REFRESH_HZ",
    "GrowingBuffer",
    "TrainingPlots",
    "ema",
    "plot_colors",
]

#: The most redraws a second: often enough to watch the curves move, rarely enough that
#: painting stays a small share of a run (the app's overhead over a headless run).
MAX_REFRESH_HZ = 5


class TrainingPlots(CurveReadback, QWidget):
    """Live loss / metric / learning-rate curves for one training run (see the module doc).

    Feed it with :meth:`add_batches` (per-batch values) and :meth:`add_epoch` (an epoch's
    logs); :meth:`start_run` / :meth:`end_run` around a run, :meth:`clear` to start over.
    ``refreshed`` is emitted after each redraw; :class:`~widgets.plot_readback.CurveReadback`
    reads the points back (``series``, ``drawn``, ``keys``, ``export_csv``, ``export_png``).
    """

    refreshed = Signal()

    def __init__(self, parent: QWidget | None = None, *, dark: bool | None = None):
        super().__init__(parent)
        if dark is None:
            dark = self.palette().window().color().lightness() < 128
        self._colors = plot_colors(dark)
        self._smoothing = 0.8
        self._batch_series: dict[str, Series] = {}  # per-batch values by key
        self._smoothed: Series | None = None
        self._epoch_series: dict[str, Series] = {}  # per-epoch values by key
        self._plots: dict[str, pg.PlotItem] = {}  # "loss", metric names, "learning_rate"
        self._spare: dict[str, pg.PlotItem] = {}  # metric plots of earlier runs, for reuse
        self._kept: dict[tuple[str, str], Series] = {}  # the last run's emptied curves
        self._headings: dict[str, str] = {}
        self._x_span: tuple[float, float] | None = None  # the fixed epoch axis of a run
        self._epoch_rows: list[tuple[int, dict[str, float]]] = []
        self._color_of: dict[str, str] = {}
        self._families: set[str] = set()  # metrics logged per value: "f1_score"
        self.refresh_count = 0

        self._layout_widget = TimedLayout()
        self._layout_widget.setBackground(self._colors["background"])
        self._layout_widget.ci.setSpacing(4)
        self._layout_widget.setMinimumHeight(220)

        self._smooth_slider = QSlider(Qt.Orientation.Horizontal)
        self._smooth_slider.setRange(0, 99)
        self._smooth_slider.setValue(int(self._smoothing * 100))
        self._smooth_slider.setFixedWidth(110)
        self._smooth_slider.setToolTip("Smoothing of the per-batch loss curve")
        self._smooth_slider.valueChanged.connect(self._on_smoothing)
        self._smooth_label = QLabel(f"{self._smoothing:.2f}")
        self._smooth_label.setMinimumWidth(32)
        self._log_box = QCheckBox("Log loss")
        self._log_box.setToolTip("Show the loss on a logarithmic axis")
        self._log_box.toggled.connect(self._on_log_scale)
        self._empty_label = QLabel("Curves appear here when training starts.")
        self._empty_label.setObjectName("plotsHint")
        self._empty_label.setProperty("role", "muted")
        self._empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)

        bar = QHBoxLayout()
        bar.setContentsMargins(4, 0, 4, 0)
        bar.addWidget(QLabel("Smoothing"))
        bar.addWidget(self._smooth_slider)
        bar.addWidget(self._smooth_label)
        bar.addSpacing(12)
        bar.addWidget(self._log_box)
        bar.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addLayout(bar)
        layout.addWidget(self._empty_label)
        layout.addWidget(self._layout_widget, 1)

        self._timer = QTimer(self)
        self._timer.setInterval(int(1000 / MAX_REFRESH_HZ) + 1)
        self._timer.timeout.connect(self._on_timer)
        self._build_plot("loss", "Loss")
        self._build_plot("learning_rate", "Learning rate", small=True)
        self._show_hint(True)

    # -- public API --------------------------------------------------------------------------------

    @property
    def smoothing(self) -> float:
        return self._smoothing

    def set_smoothing(self, value: float) -> None:
        self._smooth_slider.setValue(int(round(value * 100)))

    def clear(self) -> None:
        """Forget every point and every curve. The loss and rate plots stay, emptied; metric
        plots leave the layout and are reused if a later run logs the same metric."""
        self._forget_points()
        self._drop_kept()
        self._x_span = None
        self._fit_axes()
        self._show_hint(True)

    def start_run(self, epochs: int, initial_epoch: int = 0) -> None:
        """A run of epochs ``initial_epoch`` to ``epochs`` starts: the points of the last
        one go, its curves are emptied and kept for the keys this run logs again (the
        others go at this run's first epoch end), and the shared epoch axis shows the
        planned span until :meth:`end_run`, so the axes need no redraw as points arrive
        (and the curves fill the plot from left to right, a second progress bar)."""
        self._forget_points()
        low, high = float(initial_epoch), float(max(epochs, initial_epoch + 1))
        self._x_span = (low, high)
        for plot in self._plots.values():
            plot.setXRange(low, high, padding=0.02)

    def end_run(self) -> None:
        """The run ended: the axes fit the points again (a stopped run's curves fill the
        plot; a finished run's already do, and the next run of as many epochs then needs no
        new epoch axis)."""
        self._drop_kept()
        span, loss = self._x_span, self._batch_series.get("loss")
        if span is None:
            return
        self._x_span = None
        finished = loss is not None and len(loss.buffer) and loss.buffer.view()[-1, 0] >= span[1]
        self._fit_axes(x=not finished)

    def _fit_axes(self, x: bool = True) -> None:
        for name, plot in self._plots.items():
            # The rate plot's y range is always set by fit_rate_range.
            plot.enableAutoRange(x=x or None, y=name != "learning_rate")

    def add_batches(self, x: Sequence[float], values: Mapping[str, Sequence[float]]) -> None:
        """Append per-batch points at positions ``x`` (in epochs, e.g. 0.25 = a quarter into
        the first epoch): ``values["loss"]`` the loss of each batch, any other key a running
        value (a metric's mean so far in the epoch). Keys not seen before get their curve."""
        x = np.asarray(x, dtype=np.float64).reshape(-1)
        if len(x) == 0:
            return
        self._note_families(values)
        for key, ys in values.items():
            if self._family(key) is not None:
                continue  # per-value running means: only their epoch values are drawn
            ys = np.asarray(ys, dtype=np.float64).reshape(-1)
            if len(ys) != len(x):
                raise ValueError(f"{key}: {len(ys)} values for {len(x)} positions")
            self._batch(key).extend(x, ys)
        self._show_hint(False)
        self._schedule()

    def add_epoch(self, epoch: int, logs: Mapping[str, float]) -> None:
        """Append the logs of epoch ``epoch`` (counted from 0; drawn at x = epoch + 1)."""
        numbers = {}
        for key, value in logs.items():
            try:
                numbers[key] = float(value)
            except (TypeError, ValueError):
                continue
        x = np.array([epoch + 1.0])
        self._note_families(numbers)
        for key, value in numbers.items():
            if key in ("size", "batch"):
                continue
            if key in ("learning_rate", "lr"):
                # The rate held for the whole epoch: draw it as a step over [epoch, epoch + 1].
                self._epoch(key).extend(np.array([epoch, epoch + 1.0]), np.array([value] * 2))
            else:
                self._epoch(key).extend(x, np.array([value]))
        self._epoch_rows.append((int(epoch), numbers))
        self._drop_kept()  # every key of the run has come by its first epoch's end
        self._show_hint(False)
        self._schedule()

    def plot_names(self) -> list[str]:
        """The plots shown, top to bottom: "loss", then each metric, then "learning_rate"."""
        return list(self._order())

    def flush(self) -> None:
        """Redraw now (normally the timer does it)."""
        self._refresh()

    def plot_item(self, key: str) -> pg.PlotItem:
        """The plot that draws ``key`` (made if not there yet), for curves drawn over this
        run's own: the Runs panel overlays recorded runs there (widgets.run_overlay). The
        epoch axis fits all curves again, so a longer recorded run is not cut off."""
        self._show_hint(False)
        self.end_run()
        self._fit_axes()
        return self._plot_for(key)

    # -- building ----------------------------------------------------------------------------------

    def _build_plot(
        self, name: str, heading: str, small: bool = False, per_value: bool = False
    ) -> pg.PlotItem:
        plot = self._spare.pop(name, None)
        if plot is None:
            plot = build_plot(self._colors, name, heading, small)
        reset_plot(plot, self._colors, heading, per_value)
        self._plots[name] = plot
        if "loss" in self._plots and name != "loss":
            plot.setXLink(self._plots["loss"])
        if self._x_span is not None:
            plot.setXRange(*self._x_span, padding=0.02)
        self._relayout()
        return plot

    def _order(self) -> list[str]:
        metrics = [n for n in self._plots if n not in ("loss", "learning_rate")]
        ends = [n for n in ("learning_rate",) if n in self._plots]
        return [n for n in ("loss",) if n in self._plots] + metrics + ends

    def _relayout(self) -> None:
        view = self._layout_widget.ci
        for item in list(view.items):
            view.removeItem(item)
        for row, name in enumerate(self._order()):
            plot = self._plots[name]
            view.addItem(plot, row=row, col=0)
            view.layout.setRowStretchFactor(row, 1 if name == "learning_rate" else 3)
            # Only the bottom plot labels the shared epoch axis: the others save the space.
            plot.showAxis("bottom")
            plot.getAxis("bottom").showLabel(name == "learning_rate")

    def _note_families(self, keys) -> None:
        self._families |= per_value_families(keys)

    def _family(self, key: str) -> tuple[str, int] | None:
        return per_value_index(key, self._families)

    def _plot_for(self, key: str) -> pg.PlotItem:
        if key == "learning_rate" or key == "lr":
            return self._plots["learning_rate"]
        if is_loss(key):
            return self._plots["loss"]
        family = self._family(key)
        name = family[0] if family else base_name(key)
        heading = title(name) + (", one value per class or threshold" if family else "")
        if name not in self._plots:
            self._build_plot(name, heading, per_value=family is not None)
        elif self._headings.get(name) != heading:  # a plot kept from the last run
            retitle(self._plots[name], self._colors, heading, per_value=family is not None)
        self._headings[name] = heading
        return self._plots[name]

    def _color(self, key: str) -> str:
        return series_color(key, self._colors, self._color_of)

    def _batch(self, key: str) -> Series:
        found = self._batch_series.get(key)
        if found is not None:
            return found
        plot = self._plot_for(key)
        color = QColor(self._color(key))
        series = self._reuse("batch", key, plot) or Series(batch_curve(plot, key, color), 1024)
        self._batch_series[key] = series
        if key == "loss":
            kept = self._reuse("smoothed", key, plot)
            self._smoothed = kept or Series(smoothed_curve(plot, color), capacity=16)
        return series

    def _epoch(self, key: str) -> Series:
        found = self._epoch_series.get(key)
        if found is not None:
            return found
        plot = self._plot_for(key)
        kept = self._reuse("epoch", key, plot)
        if kept is not None:
            self._epoch_series[key] = kept
            return kept
        family = self._family(key)
        item = epoch_curve(
            plot,
            key,
            QColor(self._color(key)),
            self._colors["background"],
            family[1] if family is not None else None,
        )
        series = Series(item, capacity=64)
        self._epoch_series[key] = series
        return series

    def _forget_points(self) -> None:
        """Empty every curve of this run and keep it (see :meth:`start_run`); curves drawn
        over the plots (recorded runs) go."""
        stores = (("batch", self._batch_series), ("epoch", self._epoch_series))
        for level, store in stores:
            for key, series in store.items():
                self._kept[(level, key)] = series
        if self._smoothed is not None:
            self._kept[("smoothed", "loss")] = self._smoothed
        for series in self._kept.values():
            series.buffer.clear()
            series.item.setData([], [])
            series.dirty = False
        ours = {id(series.item) for series in self._kept.values()}
        for plot in self._plots.values():
            for item in plot.listDataItems():
                if id(item) not in ours:
                    plot.removeItem(item)
        self._batch_series, self._epoch_series, self._smoothed = {}, {}, None
        self._color_of, self._families, self._epoch_rows = {}, set(), []
        # No hint here: shown between a run's points, it would resize the plots twice.
        self._timer.stop()

    def _reuse(self, level: str, key: str, plot: pg.PlotItem) -> Series | None:
        """The emptied curve of ``key`` kept from the last run, if it is in ``plot``."""
        series = self._kept.pop((level, key), None)
        if series is not None and series.item.getViewBox() is not plot.getViewBox():
            self._kept[(level, key)] = series  # another plot now (a per-value metric)
            return None
        return series

    def _drop_kept(self) -> None:
        """Remove the kept curves this run did not log, and the metric plots left empty."""
        if not self._kept:
            return
        by_view = {id(plot.getViewBox()): plot for plot in self._plots.values()}
        for series in self._kept.values():
            plot = by_view.get(id(series.item.getViewBox()))
            if plot is not None:
                plot.removeItem(series.item)
        self._kept = {}
        empty = [
            name
            for name, plot in self._plots.items()
            if name not in ("loss", "learning_rate") and not plot.listDataItems()
        ]
        for name in empty:
            plot = self._plots.pop(name)
            self._layout_widget.removeItem(plot)
            self._spare[name] = plot
            self._headings.pop(name, None)
        if empty:
            self._relayout()

    # -- redraw ------------------------------------------------------------------------------------

    def _schedule(self) -> None:
        if not self._timer.isActive():
            self._timer.start()

    def _on_timer(self) -> None:
        if not self.isVisible():
            self._timer.stop()  # nothing to see: showEvent draws what changed meanwhile
            return
        self._refresh()

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt's name
        super().showEvent(event)
        self._schedule()

    def _refresh(self) -> None:
        changed = False
        loss_plot = self._plots["loss"]
        log_loss = self._log_box.isChecked()
        loss = self._batch_series.get("loss")
        for series in [*self._batch_series.values(), *self._epoch_series.values()]:
            if series.dirty:
                data = series.buffer.view()
                positive = log_loss and series.item.getViewBox() is loss_plot.getViewBox()
                series.item.setData(*drawable(data[:, 0], data[:, 1], positive))
                series.dirty = False
                changed = True
        if loss is not None and self._smoothed is not None and (changed or self._smoothed.dirty):
            data = loss.buffer.view()
            smooth = ema(data[:, 1], self._smoothing)
            self._smoothed.item.setData(*drawable(data[:, 0], smooth, log_loss))
            self._smoothed.dirty = False
            changed = True
        if not changed:
            self._timer.stop()  # idle: nothing to draw until new data arrives
            return
        span, last = self._x_span, loss.buffer.view()[-1:, 0] if loss is not None else ()
        if span is not None and len(last) and last[0] > span[1]:
            self.end_run()  # more epochs than planned: fit the axis to the points
            self._fit_axes()
        if self._x_span is not None:
            series = [*self._batch_series.values(), *self._epoch_series.values()]
            fit_y_ranges(self._plots, series, log_loss)
        rates = [s for k, s in self._epoch_series.items() if k in ("learning_rate", "lr")]
        if rates:
            fit_rate_range(self._plots["learning_rate"], rates[0].buffer.column(1))
        for plot in self._plots.values():
            # Fit the ranges now rather than in the paint: fitted during a paint, they change
            # the axes and Qt paints the view a second time.
            plot.getViewBox().prepareForPaint()
        self.refresh_count += 1
        # The next redraw waits PAINT_BUDGET times as long as the last paint took, so painting
        # stays a small share of the UI thread however slow the machine (or the plots) are.
        paint_ms = 1000 * self._layout_widget.last_paint_s
        interval = max(int(1000 / MAX_REFRESH_HZ) + 1, int(PAINT_BUDGET * paint_ms))
        self._timer.setInterval(min(interval, int(1000 * MAX_REDRAW_INTERVAL_S)))
        self.refreshed.emit()

    def _on_smoothing(self, value: int) -> None:
        self._smoothing = value / 100.0
        self._smooth_label.setText(f"{self._smoothing:.2f}")
        if self._smoothed is not None:
            self._smoothed.dirty = True
            self._schedule()

    def _on_log_scale(self, on: bool) -> None:
        self._plots["loss"].setLogMode(y=on)
        # Which points are drawable changed (a log axis cannot show zero or less).
        for series in [*self._batch_series.values(), *self._epoch_series.values()]:
            series.dirty = True
        if self._smoothed is not None:
            self._smoothed.dirty = True
        self._schedule()

    def _show_hint(self, empty: bool) -> None:
        self._empty_label.setVisible(empty)
