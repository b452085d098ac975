"""The Runs panel: every recorded training run of the project as a sortable table.

Columns: star, name, date, status, validation metric, epochs, learning rate, batch size,
optimizer and notes (:mod:`widgets.runs_table`). Name and notes are edited in place, a click
on the star column stars or unstars; each edit is announced (``renamed``, ``notesEdited``,
``starToggled``) for the app to write into the run's record. Select several runs (Ctrl- or
Shift-click) to compare them: ``selectionChanged`` lets the app overlay their curves, each
selected run's name shows its curve colour, and every setting that differs between the
selected runs is highlighted — bold amber cells in the columns that show it, and all of
them (seed, layer parameters, data options...) listed under the table.

"Restore graph", "Resume" and "Export ONNX…" act on the one selected run. Records that could
not be read are reported in a banner (the app passes each only once); the others are listed.
The panel holds no state of its own beyond what it shows: the app gives it the records.
"""

from __future__ import annotations

import html
from collections.abc import Collection, Mapping, Sequence

from PySide6.QtCore import QSignalBlocker, Qt, QTimer, Signal
from PySide6.QtGui import QBrush, QColor, QFont, QIcon, QPainter, QPen, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QStyledItemDelegate,
    QTableWidget,
    QTableWidgetItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from engine.runs.compare import differing
from engine.runs.store import RunRecord
from widgets.runs_table import (
    COLUMN_KEYS,
    COLUMNS,
    ID_ROLE,
    NAME,
    NOTES,
    STAR,
    cell,
    describe_key,
)

__all__ = ["DIFFERS_ROLE", "RunsPanel"]

DIFFERS_ROLE = Qt.ItemDataRole.UserRole + 3
_DIFF_BACKGROUND = QColor(243, 192, 122, 60)  # amber, translucent over the row colour
_DIFF_TEXT = QColor("#f3c07a")
_MAX_LISTED = 8  # differing settings listed under the table


class RunsPanel(QWidget):
    """The table of runs and its actions; see the module docstring."""

    selectionChanged = Signal(list)  # run ids, in table order
    restoreRequested = Signal(str)
    resumeRequested = Signal(str)
    exportRequested = Signal(str)
    notesEdited = Signal(str, str)
    renamed = Signal(str, str)
    starToggled = Signal(str, bool)
    refreshRequested = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.records: dict[str, RunRecord] = {}
        self._colors: dict[str, str] = {}
        self._live: set[str] = set()  # the runs training now
        self.differences: dict[str, list[str]] = {}

        self.heading = QLabel("Runs")
        self.heading.setProperty("role", "section")
        self.location = QLabel()
        self.location.setProperty("role", "muted")
        refresh = QToolButton()
        refresh.setText("⟳")
        refresh.setToolTip("Read the run folder again (runs trained from the command line)")
        refresh.clicked.connect(self.refreshRequested)
        top = QHBoxLayout()
        top.addWidget(self.heading)
        top.addWidget(self.location, 1)

        self.banner = QLabel()
        self.banner.setObjectName("runsProblems")
        self.banner.setProperty("role", "warning")
        self.banner.setWordWrap(True)
        self.banner.hide()

        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setObjectName("runsTable")
        for column, (header, tip) in enumerate(COLUMNS):
            self.table.setHorizontalHeaderItem(column, _header(header, tip))
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setEditTriggers(
            QAbstractItemView.EditTrigger.DoubleClicked
            | QAbstractItemView.EditTrigger.EditKeyPressed
        )
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(24)
        self.table.setAlternatingRowColors(True)
        self.table.setShowGrid(False)
        self.table.setSortingEnabled(True)
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        header.setHighlightSections(False)
        for column, width in enumerate((30, 140, 126, 72, 120, 64, 64, 52, 80)):
            self.table.setColumnWidth(column, width)
        # The selection colour hides a cell's own background: mark differing cells on top.
        delegate = _DifferenceDelegate(self.table)
        self.table.setItemDelegate(delegate)
        # A refresh while a name or note is being typed waits for the edit to end, so the
        # text typed is never thrown away by a run that finished an epoch meanwhile.
        self._pending: tuple | None = None
        self._marked: set[str] = set()  # rows drawn as differing
        delegate.closeEditor.connect(lambda *_: QTimer.singleShot(0, self._apply_pending))
        self.table.itemSelectionChanged.connect(self._on_selection)
        self.table.itemChanged.connect(self._on_item_changed)
        self.table.cellClicked.connect(self._on_cell_clicked)

        self.empty = QLabel(
            "No runs yet. Every training run (F5, or layercanvas train) is recorded here."
        )
        self.empty.setProperty("role", "muted")
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setWordWrap(True)

        self.diff_label = QLabel()
        self.diff_label.setObjectName("runsDifferences")
        self.diff_label.setWordWrap(True)
        self.diff_label.setTextFormat(Qt.TextFormat.RichText)

        self.restore_button = QPushButton("Restore graph")
        self.restore_button.setToolTip(
            "Put this run's graph, data and training settings back on the canvas "
            "(one step: Ctrl+Z undoes it)"
        )
        self.resume_button = QPushButton("Resume")
        self.resume_button.setToolTip(
            "Train on from this run's last weights and optimizer state, recorded as a new run"
        )
        self.export_button = QPushButton("Export ONNX…")
        self.export_button.setToolTip("Write this run's model (its last weights) to ONNX")
        self.restore_button.clicked.connect(lambda: self._emit_one(self.restoreRequested))
        self.resume_button.clicked.connect(lambda: self._emit_one(self.resumeRequested))
        self.export_button.clicked.connect(lambda: self._emit_one(self.exportRequested))
        # The actions sit in the heading row: the panel often lives in a short bottom dock.
        for button in (self.restore_button, self.resume_button, self.export_button):
            top.addWidget(button)
        top.addWidget(refresh)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 6)
        layout.setSpacing(4)
        layout.addLayout(top)
        layout.addWidget(self.banner)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.empty, 1)
        layout.addWidget(self.diff_label)
        self._update()

    # -- what the app calls --------------------------------------------------------------------

    def set_location(self, text: str) -> None:
        """Where the runs are kept (shown muted beside the heading)."""
        self.location.setText(text)
        self.location.setToolTip(text)

    def set_runs(
        self, records: Sequence[RunRecord], live: str | Collection[str] | None = None
    ) -> None:
        """Show ``records`` (``live``: the id, or ids, of the runs training now); the
        selection is kept for runs still listed. While a cell is being edited this waits for
        the edit to end."""
        if self.table.state() == QAbstractItemView.State.EditingState:
            self._pending = (list(records), live)
            return
        self._pending = None
        selected = set(self.selected_ids())
        before, live_before = self.records, self._live
        self.records = {r.id: r for r in records}
        self._live = {live} if isinstance(live, str) else set(live or ())
        table = self.table
        rows = {self._row_id(row): row for row in range(table.rowCount())}
        with QSignalBlocker(table):
            table.setSortingEnabled(False)
            if len(rows) == len(records) == table.rowCount() and all(r.id in rows for r in records):
                # The same runs (a run's start, epoch or end re-read one record): rebuild only
                # the rows whose record or live state changed; the list grows with every
                # run and a full rebuild at every epoch cost more than the epoch itself.
                for record in records:
                    live_now = record.id in self._live
                    if before.get(record.id) is record and live_now == (record.id in live_before):
                        continue
                    for column in range(len(COLUMNS)):
                        table.setItem(rows[record.id], column, cell(record, column, live_now))
            else:
                table.setRowCount(len(records))
                for row, record in enumerate(records):
                    for column in range(len(COLUMNS)):
                        table.setItem(row, column, cell(record, column, record.id in self._live))
            table.setSortingEnabled(True)
            table.clearSelection()
            mode = table.selectionMode()
            table.setSelectionMode(QAbstractItemView.SelectionMode.MultiSelection)
            for row in range(table.rowCount()):
                if self._row_id(row) in selected:
                    table.selectRow(row)
            table.setSelectionMode(mode)
        self.heading.setText(f"Runs ({len(records)})" if records else "Runs")
        self._update()
        if set(self.selected_ids()) != selected:
            self.selectionChanged.emit(self.selected_ids())

    def _apply_pending(self) -> None:
        if self._pending is not None and self.table.state() != QAbstractItemView.State.EditingState:
            records, live = self._pending
            # The edit just made is in the record now (the app wrote it): keep what it shows.
            self.set_runs(records, live)

    def show_problems(self, problems: Sequence[str]) -> None:
        """Report records that could not be read (hidden when ``problems`` is empty)."""
        if not problems:
            self.banner.hide()
            return
        first = problems[0]
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        noun = "record" if len(problems) == 1 else "records"
        self.banner.setText(
            f"⚠ Skipped {len(problems)} run {noun} that could not be read: {first}{more}"
        )
        self.banner.setToolTip("\n".join(problems))
        self.banner.show()

    def set_colors(self, colors: Mapping[str, str]) -> None:
        """The curve colour of each overlaid run (shown as a swatch by its name)."""
        self._colors = dict(colors)
        ids = self.selected_ids()
        self.diff_label.setText(self._difference_text([self.records[i] for i in ids]))
        with QSignalBlocker(self.table):
            for row in range(self.table.rowCount()):
                color = self._colors.get(self._row_id(row))
                item = self.table.item(row, NAME)
                item.setIcon(_swatch(color) if color else QIcon())

    def select_ids(self, run_ids: Sequence[str]) -> None:
        """Select the runs ``run_ids`` (as a user would)."""
        wanted = set(run_ids)
        table = self.table
        with QSignalBlocker(table):
            table.clearSelection()
            mode = table.selectionMode()
            table.setSelectionMode(QAbstractItemView.SelectionMode.MultiSelection)
            for row in range(table.rowCount()):
                if self._row_id(row) in wanted:
                    table.selectRow(row)
            table.setSelectionMode(mode)
        self._on_selection()

    def selected_ids(self) -> list[str]:
        rows = sorted({index.row() for index in self.table.selectionModel().selectedRows()})
        return [self._row_id(row) for row in rows]

    def row_of(self, run_id: str) -> int:
        for row in range(self.table.rowCount()):
            if self._row_id(row) == run_id:
                return row
        raise KeyError(run_id)

    # -- reactions -----------------------------------------------------------------------------

    def _row_id(self, row: int) -> str:
        item = self.table.item(row, NAME)
        return item.data(ID_ROLE) if item is not None else ""

    def _on_selection(self) -> None:
        self._update()
        self.selectionChanged.emit(self.selected_ids())

    def _on_item_changed(self, item) -> None:
        run_id = item.data(ID_ROLE)
        if item.column() == NOTES:
            self.notesEdited.emit(run_id, item.text())
        elif item.column() == NAME:
            name = item.text().strip()
            if name:
                self.renamed.emit(run_id, name)
            else:  # a run keeps a name: put the old one back
                with QSignalBlocker(self.table):
                    item.setText(self.records[run_id].name)

    def _on_cell_clicked(self, row: int, column: int) -> None:
        if column != STAR:
            return
        run_id = self._row_id(row)
        starred = not self.records[run_id].starred
        with QSignalBlocker(self.table):
            self.table.item(row, STAR).setText("★" if starred else "☆")
        self.starToggled.emit(run_id, starred)

    def _emit_one(self, signal) -> None:
        ids = self.selected_ids()
        if len(ids) == 1:
            signal.emit(ids[0])

    def _update(self) -> None:
        """Buttons, the empty hint and the highlight of what differs."""
        ids = self.selected_ids()
        has_runs = self.table.rowCount() > 0
        self.table.setVisible(has_runs)
        self.empty.setVisible(not has_runs)
        one = self.records.get(ids[0]) if len(ids) == 1 else None
        self.restore_button.setEnabled(one is not None)
        can_use_weights = one is not None and one.weights_path("last") is not None
        self.resume_button.setEnabled(can_use_weights and one.id not in self._live)
        self.export_button.setEnabled(can_use_weights and one.id not in self._live)
        self._highlight([self.records[i] for i in ids if i in self.records])

    def _highlight(self, selected: list[RunRecord]) -> None:
        self.differences = differing(selected)
        chosen = {r.id for r in selected}
        columns = {c for c, key in COLUMN_KEYS.items() if key in self.differences}
        bold = QFont(self.table.font())
        bold.setBold(True)
        # Only rows marked now or before need their look set (new items start unmarked).
        touch, self._marked = chosen | self._marked, chosen if columns else set()
        with QSignalBlocker(self.table):
            for row in range(self.table.rowCount()):
                if self._row_id(row) not in touch:
                    continue
                mark_row = self._row_id(row) in chosen
                for column in COLUMN_KEYS:
                    item = self.table.item(row, column)
                    differs = mark_row and column in columns
                    item.setData(DIFFERS_ROLE, differs)
                    item.setFont(bold if differs else self.table.font())
                    item.setBackground(QBrush(_DIFF_BACKGROUND) if differs else QBrush())
                    item.setForeground(QBrush(_DIFF_TEXT) if differs else QBrush())
        self.diff_label.setText(self._difference_text(selected))

    def _difference_text(self, selected: list[RunRecord]) -> str:
        if len(selected) < 2:
            if len(selected) == 1:
                return "Select more runs (Ctrl-click) to compare their curves and settings."
            return ""
        if not self.differences:
            return "The selected runs have the same settings."
        parts = []
        for key, values in list(self.differences.items())[:_MAX_LISTED]:
            shown = " · ".join(
                _colored(self._colors.get(r.id, "#e6e9ed"), _short(v))
                for r, v in zip(selected, values, strict=True)
            )
            parts.append(f'<b style="color:#f3c07a">{html.escape(describe_key(key))}</b> {shown}')
        more = len(self.differences) - _MAX_LISTED
        tail = f" &nbsp;(+{more} more)" if more > 0 else ""
        return "Differs: " + " &nbsp;|&nbsp; ".join(parts) + tail


class _DifferenceDelegate(QStyledItemDelegate):
    """Draws an amber frame around a cell whose setting differs between the selected runs,
    visible over the selection colour too."""

    def paint(self, painter: QPainter, option, index) -> None:
        super().paint(painter, option, index)
        if index.data(DIFFERS_ROLE):
            painter.save()
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            painter.setPen(QPen(_DIFF_TEXT, 1.5))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRoundedRect(option.rect.adjusted(2, 2, -2, -2), 3, 3)
            painter.restore()


def _header(text: str, tip: str) -> QTableWidgetItem:
    item = QTableWidgetItem(text)
    item.setToolTip(tip)
    return item


def _colored(color: str, text: str) -> str:
    return f'<span style="color:{color}">{html.escape(text)}</span>'


def _short(value: str, limit: int = 24) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"


def _swatch(color: str) -> QIcon:
    pixmap = QPixmap(10, 10)
    pixmap.fill(QColor(color))
    return QIcon(pixmap)
