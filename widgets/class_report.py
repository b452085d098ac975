"""Per-class precision, recall, F1 and support beside the confusion matrix.

:func:`class_report` computes the numbers from a confusion matrix (rows: true class,
columns: predicted class), exactly as ``sklearn.metrics.precision_recall_fscore_support``
with ``zero_division=0`` does from the same labels: precision = right / predicted as the
class, recall = right / samples of the class, F1 their harmonic mean, support the samples of
the class; a class never predicted (or never present) gets 0 where the ratio is undefined.
The macro average is the plain mean over classes, the weighted average weighs each class by
its support.

:class:`ClassReportWidget` shows that as a table, one row per class and two average rows.
It follows a :class:`~widgets.confusion_matrix.ConfusionMatrixWidget` (``follow``), so the
table always describes the very evaluation the matrix shows; :func:`beside` puts the two
side by side for the training panel's "Confusion" tab.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QSplitter,
    QStackedLayout,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from widgets.confusion_matrix import ConfusionMatrixWidget, confusion_matrix

__all__ = ["ClassReport", "ClassReportWidget", "beside", "class_report"]

COLUMNS = ("Class", "Precision", "Recall", "F1", "Support")


@dataclass(frozen=True)
class ClassReport:
    """Per-class scores (arrays of length ``classes``) and their macro/weighted averages
    (``(precision, recall, f1)``)."""

    names: tuple[str, ...]
    precision: np.ndarray
    recall: np.ndarray
    f1: np.ndarray
    support: np.ndarray
    predicted: np.ndarray  # samples predicted as each class (0: precision undefined)
    macro: tuple[float, float, float]
    weighted: tuple[float, float, float]
    accuracy: float


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    out = np.zeros(len(num))
    np.divide(num, den, out=out, where=den > 0)
    return out


def class_report(matrix: np.ndarray, class_names: Sequence[str] | None = None) -> ClassReport:
    """The per-class report of a confusion matrix ``m[true, predicted]`` of counts."""
    m = np.asarray(matrix, dtype=np.float64)
    if m.ndim != 2 or m.shape[0] != m.shape[1] or m.shape[0] < 1:
        raise ValueError(f"a confusion matrix is square, got shape {m.shape}")
    k = len(m)
    names = tuple(str(n) for n in class_names) if class_names is not None else ()
    names = names or tuple(str(i) for i in range(k))
    if len(names) != k:
        raise ValueError(f"{len(names)} class names for {k} classes")
    right = np.diag(m)
    support = m.sum(axis=1)
    predicted = m.sum(axis=0)
    precision = _ratio(right, predicted)
    recall = _ratio(right, support)
    f1 = _ratio(2 * precision * recall, precision + recall)
    total = support.sum()
    weights = support / total if total else np.zeros(k)
    stack = np.stack([precision, recall, f1])
    macro = tuple(float(v) for v in stack.mean(axis=1))
    weighted = tuple(float(v) for v in stack @ weights)
    accuracy = float(right.sum() / total) if total else 0.0
    return ClassReport(
        names,
        precision,
        recall,
        f1,
        support.astype(np.int64),
        predicted.astype(np.int64),
        macro,
        weighted,
        accuracy,
    )


# Scores are tinted from the warm "wrong" accent to the blue "right" accent of the matrix.
_LOW = QColor("#e5534b")
_HIGH = QColor("#3d8bfd")


def _tint(value: float, alpha: int = 70) -> QColor:
    t = min(max(value, 0.0), 1.0)
    color = QColor(
        round(_LOW.red() + (_HIGH.red() - _LOW.red()) * t),
        round(_LOW.green() + (_HIGH.green() - _LOW.green()) * t),
        round(_LOW.blue() + (_HIGH.blue() - _LOW.blue()) * t),
    )
    color.setAlpha(alpha)
    return color


class ClassReportWidget(QWidget):
    """A table of precision, recall, F1 and support per class, with macro and weighted
    average rows, or a message when there is nothing to show."""

    #: The table was filled or cleared.
    changed = Signal()

    def __init__(self, parent: QWidget | None = None, follow: ConfusionMatrixWidget | None = None):
        super().__init__(parent)
        self._report: ClassReport | None = None
        self.title = QLabel("")
        bold = QFont(self.title.font())
        bold.setBold(True)
        self.title.setFont(bold)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setObjectName("classReport")
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setAlternatingRowColors(False)
        self.table.setShowGrid(False)
        self.table.setWordWrap(False)
        # One line per row: the height is measured once, on the first row filled, instead of
        # resizeRowsToContents measuring every cell at the end of every run (~4 ms).
        self._row_height = 0
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for col in range(1, len(COLUMNS)):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.table.horizontalHeaderItem(0).setTextAlignment(
            Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
        )
        self.table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.message = QLabel("Per-class scores appear after training a classifier.")
        self.message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.message.setWordWrap(True)
        self.message.setProperty("role", "muted")

        table_page = QWidget()
        table_layout = QVBoxLayout(table_page)
        table_layout.setContentsMargins(0, 0, 0, 0)
        table_layout.setSpacing(4)
        table_layout.addWidget(self.title)
        table_layout.addWidget(self.table, 1)
        self._pages = QStackedLayout(self)
        self._pages.addWidget(self.message)
        self._pages.addWidget(table_page)
        self.setMinimumSize(260, 120)
        if follow is not None:
            self.follow(follow)

    # -- data --------------------------------------------------------------------------------------

    @property
    def report(self) -> ClassReport | None:
        return self._report

    def follow(self, matrix_widget: ConfusionMatrixWidget) -> None:
        """Show the report of whatever ``matrix_widget`` shows, whenever it changes."""

        def update() -> None:
            matrix = matrix_widget.matrix
            if matrix is None:
                self.clear()
            else:
                self.set_matrix(matrix, matrix_widget.class_names)

        matrix_widget.matrix_changed.connect(update)
        update()

    def set_predictions(
        self,
        y_true: Sequence[int] | np.ndarray,
        y_pred: Sequence[int] | np.ndarray,
        class_names: Sequence[str] | None = None,
        num_classes: int | None = None,
    ) -> None:
        """The report of integer labels and predicted classes."""
        y_true = np.asarray(y_true, dtype=np.int64)
        y_pred = np.asarray(y_pred, dtype=np.int64)
        if num_classes is None:
            num_classes = len(class_names) if class_names is not None else None
        if num_classes is None:
            num_classes = max(int(y_true.max(initial=0)), int(y_pred.max(initial=0))) + 1
        self.set_matrix(confusion_matrix(y_true, y_pred, num_classes), class_names)

    def set_matrix(self, matrix: np.ndarray, class_names: Sequence[str] | None = None) -> None:
        report = class_report(matrix, class_names)
        self._report = report
        k = len(report.names)
        self.table.setRowCount(k + 2)
        for i, name in enumerate(report.names):
            undefined = report.predicted[i] == 0
            self._fill_row(
                i,
                name,
                (report.precision[i], report.recall[i], report.f1[i]),
                int(report.support[i]),
                tip=(
                    f"Class {name}: {report.support[i]} samples, {report.predicted[i]} "
                    "predicted as this class"
                    + ("; never predicted, so its precision counts as 0" if undefined else "")
                ),
            )
        total = int(report.support.sum())
        self._fill_row(
            k,
            "macro avg",
            report.macro,
            total,
            bold=True,
            tip="The plain mean over classes: every class counts the same",
        )
        self._fill_row(
            k + 1,
            "weighted avg",
            report.weighted,
            total,
            bold=True,
            tip="The mean over classes weighted by their support (samples per class)",
        )
        if not self._row_height and self.table.rowCount():
            self._row_height = self.table.sizeHintForRow(0)
            self.table.verticalHeader().setDefaultSectionSize(self._row_height)
        for row in range(self.table.rowCount()):
            self.table.setRowHeight(row, self._row_height)
        self.title.setText(f"Per class · accuracy {report.accuracy:.1%} of {total:,} samples")
        self._pages.setCurrentIndex(1)
        self.changed.emit()

    def _fill_row(self, row, name, scores, support, bold=False, tip="") -> None:
        font = QFont(self.table.font())
        font.setBold(bold)
        cells = [str(name), *(f"{v:.3f}" for v in scores), f"{support:,}"]
        for col, text in enumerate(cells):
            item = QTableWidgetItem(text)
            item.setFont(font)
            item.setToolTip(tip)
            align = Qt.AlignmentFlag.AlignLeft if col == 0 else Qt.AlignmentFlag.AlignRight
            item.setTextAlignment(align | Qt.AlignmentFlag.AlignVCenter)
            if 1 <= col <= 3:
                item.setBackground(QBrush(_tint(float(scores[col - 1]))))
                item.setData(Qt.ItemDataRole.UserRole, float(scores[col - 1]))
            self.table.setItem(row, col, item)

    def clear(self, message: str | None = None) -> None:
        self._report = None
        self.table.setRowCount(0)
        self.title.setText("")
        if message is not None:
            self.message.setText(message)
        self._pages.setCurrentIndex(0)
        self.changed.emit()

    def preferred_height(self) -> int:
        """Height that shows the title and every row without scrolling."""
        table = self.table
        rows = sum(table.rowHeight(r) for r in range(table.rowCount()))
        header = table.horizontalHeader().sizeHint().height()
        layout_gap = 4 + 2 * max(
            0, self.style().pixelMetric(self.style().PixelMetric.PM_LayoutVerticalSpacing)
        )
        return (
            self.title.sizeHint().height() + header + rows + 2 * table.frameWidth() + layout_gap + 6
        )

    def preferred_width(self) -> int:
        """Width that shows every column without eliding the class names."""
        table = self.table
        metrics = table.fontMetrics()
        names = [table.item(r, 0).text() for r in range(table.rowCount())] or ["weighted avg"]
        first = max(metrics.horizontalAdvance(n) for n in names) + 24
        rest = sum(table.horizontalHeader().sectionSize(c) for c in range(1, len(COLUMNS)))
        return first + rest + 2 * table.frameWidth() + 4

    def rows(self) -> list[list[str]]:
        """The table's text, row by row (what a user reads)."""
        return [
            [self.table.item(r, c).text() for c in range(self.table.columnCount())]
            for r in range(self.table.rowCount())
        ]


class _EvaluationSplitter(QSplitter):
    """Side by side when there is room, the report under the matrix when the panel is
    narrow (a docked training panel is often narrower than the two need side by side)."""

    WIDE = 820  # below this width the table would be squeezed next to the matrix

    def __init__(self, matrix_widget: ConfusionMatrixWidget, report: ClassReportWidget):
        super().__init__(Qt.Orientation.Vertical)
        self._report = report
        self.setChildrenCollapsible(False)
        self.addWidget(matrix_widget)
        self.addWidget(report)
        self.setStretchFactor(0, 1)
        self.setStretchFactor(1, 0)
        self._arranged: tuple | None = None
        report.changed.connect(self._arrange)

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        self._arrange()

    def _arrange(self) -> None:
        if self.width() <= 1 or self.height() <= 1:
            return  # not laid out yet
        wide = self.width() >= self.WIDE
        wanted = Qt.Orientation.Horizontal if wide else Qt.Orientation.Vertical
        if self.orientation() != wanted:
            self.setOrientation(wanted)
        key = (wanted, self._report.table.rowCount())
        if key != self._arranged:  # a new layout or a new table: give the report its room
            self._arranged = key
            if wide:
                report_w = min(self._report.preferred_width(), self.width() // 2)
                self.setSizes([self.width() - report_w, report_w])
            else:
                report_h = min(self._report.preferred_height(), int(self.height() * 0.55))
                self.setSizes([self.height() - report_h, report_h])


def beside(matrix_widget: ConfusionMatrixWidget, report: ClassReportWidget) -> QSplitter:
    """The confusion matrix with its class report: side by side in a wide panel, the report
    below the matrix in a narrow one (the user can move the divider)."""
    splitter = _EvaluationSplitter(matrix_widget, report)
    return splitter
