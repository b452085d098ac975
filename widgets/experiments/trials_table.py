"""The trials of an experiment as a table ranked by the chosen metric.

Columns: rank, status, the metric's final value, one column per swept parameter, the
epochs it trained, and the run it was recorded as (its name in the Runs panel). Finished
trials come first, best first (:func:`ranked`: highest or lowest by the experiment's mode);
trials without a value follow — running, then pending, then stopped, skipped, pruned and
failed ones. A trial whose process died with the app (or a killed ``layercanvas sweep``)
is shown "interrupted": Continue runs it again. The best trial's rank is a star. Rows can
be selected (Ctrl/Shift-click) to overlay their curves; ``selectionChanged`` carries the
selected trial ids.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QSignalBlocker, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont, QIcon, QPixmap
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem

__all__ = ["STATUS_COLORS", "TrialRow", "TrialsTable", "format_value", "ranked"]

TRIAL_ROLE = Qt.ItemDataRole.UserRole + 11

STATUS_COLORS = {
    "finished": "#6fd39c",
    "running": "#4aa3ff",
    "interrupted": "#f3c07a",
    "pending": "#98a2ae",
    "stopped": "#f3c07a",
    "skipped": "#f3c07a",
    "pruned": "#8a96a3",
    "failed": "#f58b88",
}
# Order of the trials that have no metric value, after the ranked ones.
_UNRANKED_ORDER = (
    "running",
    "interrupted",
    "pending",
    "stopped",
    "skipped",
    "pruned",
    "failed",
)
_FIXED = ("#", "Status", "Metric")
RANK, STATUS, METRIC = range(len(_FIXED))
_TAIL = ("Epochs", "Run")


@dataclass
class TrialRow:
    """One trial as the view shows it (made by the app from the experiment record)."""

    id: str
    status: str
    values: dict[str, Any]
    metric: float | None = None
    run_id: str | None = None
    run_name: str | None = None
    epochs: int | None = None
    rung: int | None = None
    error: str | None = None
    history: dict[str, list[float]] = field(default_factory=dict)
    skip_requested: bool = False  # the user skipped it; the runner has not reached it yet

    @property
    def has_metric(self) -> bool:
        return self.metric is not None and math.isfinite(self.metric)


def ranked(rows: Sequence[TrialRow], mode: str) -> list[TrialRow]:
    """``rows`` best first by ``metric`` (``mode`` "max" or "min"), then those without one
    by status (see the module docstring); ties keep the trials' own order. Successive
    halving's later rungs rank first: they trained longer (as the engine's
    ``Experiment.ranked``)."""
    sign = -1.0 if mode == "max" else 1.0
    scored = sorted(
        (r for r in rows if r.has_metric and r.status == "finished"),
        key=lambda r: (-(r.rung or 0), sign * r.metric),
    )
    rest = [r for r in rows if r not in scored]
    order = {s: i for i, s in enumerate(_UNRANKED_ORDER)}
    # Stopped or pruned trials may carry a value; they rank after the finished ones.
    rest.sort(
        key=lambda r: (order.get(r.status, len(order)), sign * r.metric if r.has_metric else 0)
    )
    return scored + rest


def format_value(value: Any) -> str:
    """A parameter or metric value as a cell shows it."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return "—"
        return f"{value:.4g}"
    return str(value)


class TrialsTable(QTableWidget):
    """See the module docstring.

    Signals:
        selectionChanged(list): the selected trial ids, in table order.
    """

    selectionChanged = Signal(list)

    def __init__(self, parent=None):
        super().__init__(0, len(_FIXED), parent)
        self.rows: list[TrialRow] = []
        self.params: list[tuple[str, str]] = []
        self.metric_name = "metric"
        self.setObjectName("trialsTable")
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setAlternatingRowColors(True)
        self.setShowGrid(False)
        self.setWordWrap(False)
        self.verticalHeader().setVisible(False)
        self.verticalHeader().setDefaultSectionSize(22)
        self.horizontalHeader().setHighlightSections(False)
        self.horizontalHeader().setStretchLastSection(True)
        self.itemSelectionChanged.connect(lambda: self.selectionChanged.emit(self.selected_ids()))

    def set_trials(
        self,
        rows: Sequence[TrialRow],
        params: Sequence[tuple[str, str]],
        metric: str,
        mode: str,
        colors: Mapping[str, str] | None = None,
    ) -> None:
        """Show ``rows`` ranked by ``metric`` (``mode``); ``params`` are the swept
        ``(name, label)`` pairs, one column each. The selection is kept."""
        selected = set(self.selected_ids())
        self.rows = ranked(rows, mode)
        self.params = list(params)
        self.metric_name = metric
        headers = [*_FIXED, *(label for _, label in self.params), *_TAIL]
        headers[METRIC] = metric
        with QSignalBlocker(self):
            self.setColumnCount(len(headers))
            self.setHorizontalHeaderLabels(headers)
            self.setRowCount(len(self.rows))
            best = self.rows[0].id if self.rows and self.rows[0].has_metric else None
            for row, trial in enumerate(self.rows):
                self._fill(row, trial, trial.id == best and trial.status == "finished")
            self.clearSelection()
            mode_before = self.selectionMode()
            self.setSelectionMode(QAbstractItemView.SelectionMode.MultiSelection)
            for row, trial in enumerate(self.rows):
                if trial.id in selected:
                    self.selectRow(row)
            self.setSelectionMode(mode_before)
        header = self.horizontalHeader()
        for column in range(self.columnCount()):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(self.columnCount() - 1, QHeaderView.ResizeMode.Stretch)
        self.set_colors(colors or {})
        if set(self.selected_ids()) != selected:
            self.selectionChanged.emit(self.selected_ids())

    def set_colors(self, colors: Mapping[str, str]) -> None:
        """A swatch of each selected trial's curve colour beside its rank."""
        with QSignalBlocker(self):
            for row, trial in enumerate(self.rows):
                item = self.item(row, RANK)
                color = colors.get(trial.id)
                item.setIcon(_swatch(color) if color else QIcon())

    def selected_ids(self) -> list[str]:
        rows = sorted({index.row() for index in self.selectionModel().selectedRows()})
        return [self.rows[r].id for r in rows if r < len(self.rows)]

    def select_ids(self, trial_ids: Sequence[str]) -> None:
        """Select the trials ``trial_ids`` (as a user would)."""
        wanted = set(trial_ids)
        with QSignalBlocker(self):
            self.clearSelection()
            mode_before = self.selectionMode()
            self.setSelectionMode(QAbstractItemView.SelectionMode.MultiSelection)
            for row, trial in enumerate(self.rows):
                if trial.id in wanted:
                    self.selectRow(row)
            self.setSelectionMode(mode_before)
        self.selectionChanged.emit(self.selected_ids())

    def column_texts(self, column: int) -> list[str]:
        return [self.item(r, column).text() for r in range(self.rowCount())]

    def _fill(self, row: int, trial: TrialRow, best: bool) -> None:
        rank = "★" if best else (str(row + 1) if trial.has_metric else "")
        status = trial.status + (f" (rung {trial.rung})" if trial.rung else "")
        if trial.skip_requested and trial.status in ("pending", "running"):
            status = "skipping…"
        cells = [
            rank,
            status,
            format_value(trial.metric) if trial.has_metric else "—",
            *(format_value(trial.values.get(name)) for name, _ in self.params),
            format_value(trial.epochs),
            trial.run_name or (trial.run_id or "—"),
        ]
        run_column, epochs_column = len(cells) - 1, len(cells) - 2
        bold = QFont(self.font())
        bold.setBold(True)
        for column, text in enumerate(cells):
            item = QTableWidgetItem(text)
            item.setData(TRIAL_ROLE, trial.id)
            item.setFlags(Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsEnabled)
            if column in (RANK, METRIC) or len(_FIXED) <= column <= epochs_column:
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            if column == STATUS:
                shown = "skipped" if trial.skip_requested else trial.status
                item.setForeground(QBrush(QColor(STATUS_COLORS.get(shown, "#dfe3e8"))))
                if trial.error:
                    item.setToolTip(trial.error)
            if column == run_column and trial.run_id:
                item.setToolTip(f"Run {trial.run_id} (in the Runs panel)")
            if best:
                item.setFont(bold)
                if column in (RANK, METRIC):
                    item.setForeground(QBrush(QColor("#6fd39c")))
            self.setItem(row, column, item)


def _swatch(color: str) -> QIcon:
    pixmap = QPixmap(10, 10)
    pixmap.fill(QColor(color))
    return QIcon(pixmap)
