"""A confusion-matrix heat map: counts per (true, predicted) class, per-class accuracy.

Rows are the true classes and columns the predicted ones, both labelled with the class
names. Each cell shows its count; its colour is the count as a share of its row, so a
rare class with mostly right answers is as dark on the diagonal as a frequent one. A
column on the right gives each class's accuracy (recall: right answers / samples of that
class) with a small bar, and the title the overall accuracy. Hovering a cell says what it
means in words; clicking one emits :attr:`ConfusionMatrixWidget.cell_clicked` so another
view (the sample grid) can show those samples.

The widget paints itself with ``QPainter`` (no plotting library): a 10x10 matrix is a
hundred rectangles, and owning the painting keeps the text crisp at any size.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QMouseEvent, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QToolTip, QWidget

__all__ = ["ConfusionMatrixWidget", "confusion_matrix", "per_class_accuracy"]


def confusion_matrix(
    y_true: Sequence[int] | np.ndarray, y_pred: Sequence[int] | np.ndarray, num_classes: int
) -> np.ndarray:
    """``m[i, j]`` = number of samples of true class ``i`` predicted as class ``j``."""
    y_true = np.asarray(y_true, dtype=np.int64).reshape(-1)
    y_pred = np.asarray(y_pred, dtype=np.int64).reshape(-1)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"{len(y_true)} true labels but {len(y_pred)} predictions")
    if num_classes < 1:
        raise ValueError("a confusion matrix needs at least one class")
    for name, labels in (("true label", y_true), ("prediction", y_pred)):
        if len(labels) and (labels.min() < 0 or labels.max() >= num_classes):
            raise ValueError(f"a {name} lies outside the {num_classes} classes")
    flat = np.bincount(y_true * num_classes + y_pred, minlength=num_classes * num_classes)
    return flat.reshape(num_classes, num_classes)


def per_class_accuracy(matrix: np.ndarray) -> np.ndarray:
    """Right answers / samples of each true class (NaN for a class with no samples)."""
    matrix = np.asarray(matrix, dtype=np.float64)
    totals = matrix.sum(axis=1)
    out = np.full(len(matrix), np.nan)
    np.divide(np.diag(matrix), totals, out=out, where=totals > 0)
    return out


# Cell colours run from the background to this accent (a row share of 1); errors off the
# diagonal use a warm accent so confusions stand out from correct answers.
_RIGHT = QColor("#3d8bfd")
_WRONG = QColor("#e5534b")


def _mix(a: QColor, b: QColor, t: float) -> QColor:
    t = min(max(t, 0.0), 1.0)
    return QColor(
        round(a.red() + (b.red() - a.red()) * t),
        round(a.green() + (b.green() - a.green()) * t),
        round(a.blue() + (b.blue() - a.blue()) * t),
    )


class ConfusionMatrixWidget(QWidget):
    """Heat map of a confusion matrix with counts, class names and per-class accuracy."""

    #: (true class, predicted class) of a clicked cell.
    cell_clicked = Signal(int, int)
    #: The matrix was set or cleared (the class report beside it follows this).
    matrix_changed = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._matrix: np.ndarray | None = None
        self._names: list[str] = []
        self._title = ""
        self._message = "The confusion matrix appears after training a classifier."
        self.setMouseTracking(True)
        self.setMinimumSize(260, 220)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    # -- data --------------------------------------------------------------------------------------

    @property
    def matrix(self) -> np.ndarray | None:
        return None if self._matrix is None else self._matrix.copy()

    @property
    def class_names(self) -> list[str]:
        return list(self._names)

    def set_matrix(self, matrix: np.ndarray, class_names: Sequence[str] | None = None) -> None:
        matrix = np.asarray(matrix)
        if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1] or matrix.shape[0] < 1:
            raise ValueError(f"a confusion matrix is square, got shape {matrix.shape}")
        if matrix.dtype.kind not in "iu" or (matrix < 0).any():
            raise ValueError("a confusion matrix holds counts (non-negative integers)")
        k = matrix.shape[0]
        names = [str(c) for c in class_names] if class_names is not None else []
        if names and len(names) != k:
            raise ValueError(f"{len(names)} class names for {k} classes")
        self._matrix = matrix.astype(np.int64)
        self._names = names or [str(i) for i in range(k)]
        total = int(matrix.sum())
        right = int(np.trace(matrix))
        self._title = (
            f"Accuracy {right / total:.1%}  ({right:,} of {total:,} right)"
            if total
            else "No samples"
        )
        self.update()
        self.matrix_changed.emit()

    def set_predictions(
        self,
        y_true: Sequence[int] | np.ndarray,
        y_pred: Sequence[int] | np.ndarray,
        class_names: Sequence[str] | None = None,
        num_classes: int | None = None,
    ) -> None:
        """Count the matrix from labels and predicted classes."""
        y_true = np.asarray(y_true, dtype=np.int64)
        y_pred = np.asarray(y_pred, dtype=np.int64)
        if num_classes is None:
            num_classes = len(class_names) if class_names is not None else None
        if num_classes is None:
            top = max(int(y_true.max(initial=0)), int(y_pred.max(initial=0)))
            num_classes = top + 1
        self.set_matrix(confusion_matrix(y_true, y_pred, num_classes), class_names)

    def clear(self, message: str | None = None) -> None:
        self._matrix = None
        self._names = []
        self._title = ""
        if message is not None:
            self._message = message
        self.update()
        self.matrix_changed.emit()

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        return QSize(420, 360)

    # -- geometry ----------------------------------------------------------------------------------

    def _layout(self) -> dict:
        """Rectangles of the title, the grid and the accuracy column for the current size."""
        k = len(self._matrix)
        font = QFont(self.font())
        metrics = QFontMetricsF(font)
        label_width = max(metrics.horizontalAdvance(n) for n in self._names) + 10
        label_width = min(label_width, self.width() * 0.28)
        title_h = metrics.height() + 10
        axis_h = metrics.height() + 4  # "Predicted" caption
        top_labels_h = metrics.height() + 6
        acc_w = min(max(64.0, metrics.horizontalAdvance("100.0%") + 40), self.width() * 0.22)
        side_caption_w = metrics.height() + 4  # "True" caption, rotated
        left = side_caption_w + label_width
        top = title_h + axis_h + top_labels_h
        avail_w = self.width() - left - acc_w - 10
        avail_h = self.height() - top - 8
        cell = max(4.0, min(avail_w / k, avail_h / k))
        grid = QRectF(left, top, cell * k, cell * k)
        return {
            "cell": cell,
            "grid": grid,
            "title": QRectF(0, 2, self.width(), title_h),
            "axis": QRectF(grid.left(), title_h, grid.width(), axis_h),
            "acc": QRectF(grid.right() + 8, grid.top(), acc_w, grid.height()),
            "acc_head": QRectF(grid.right() + 8, title_h + axis_h, acc_w, top_labels_h),
            "label_w": label_width,
            "side": QRectF(0, grid.top(), side_caption_w, grid.height()),
        }

    def cell_at(self, pos: QPointF) -> tuple[int, int] | None:
        """(true, predicted) of the cell under ``pos``, or ``None``."""
        if self._matrix is None:
            return None
        geo = self._layout()
        grid, cell = geo["grid"], geo["cell"]
        if not grid.contains(pos):
            return None
        col = int((pos.x() - grid.left()) // cell)
        row = int((pos.y() - grid.top()) // cell)
        k = len(self._matrix)
        if 0 <= row < k and 0 <= col < k:
            return row, col
        return None

    # -- painting ----------------------------------------------------------------------------------

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt's name
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QPainter.RenderHint.TextAntialiasing)
        pal = self.palette()
        background = pal.window().color()
        text = pal.windowText().color()
        painter.fillRect(self.rect(), background)
        if self._matrix is None:
            painter.setPen(QColor(text.red(), text.green(), text.blue(), 150))
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, self._message)
            return
        geo = self._layout()
        m = self._matrix
        k = len(m)
        cell, grid = geo["cell"], geo["grid"]
        base = _mix(background, QColor("#808080"), 0.12)

        font = QFont(self.font())
        bold = QFont(font)
        bold.setBold(True)
        painter.setFont(bold)
        painter.setPen(text)
        painter.drawText(geo["title"], Qt.AlignmentFlag.AlignCenter, self._title)
        painter.setFont(font)
        dim = QColor(text)
        dim.setAlpha(170)
        painter.setPen(dim)
        painter.drawText(geo["axis"], Qt.AlignmentFlag.AlignCenter, "Predicted class")
        painter.save()
        side = geo["side"]
        painter.translate(side.center())
        painter.rotate(-90)
        painter.drawText(
            QRectF(-side.height() / 2, -side.width() / 2, side.height(), side.width()),
            Qt.AlignmentFlag.AlignCenter,
            "True class",
        )
        painter.restore()

        rows = m.sum(axis=1)
        share = np.divide(m, rows[:, None], out=np.zeros(m.shape), where=rows[:, None] > 0)
        show_counts = cell >= 16
        count_font = QFont(font)
        count_font.setPointSizeF(max(6.0, min(font.pointSizeF(), cell * 0.32)))
        painter.setFont(count_font)
        for i in range(k):
            for j in range(k):
                rect = QRectF(grid.left() + j * cell, grid.top() + i * cell, cell, cell)
                accent = _RIGHT if i == j else _WRONG
                fill = _mix(base, accent, share[i, j] ** 0.6) if m[i, j] else base
                painter.fillRect(rect.adjusted(0.5, 0.5, -0.5, -0.5), fill)
                if show_counts and m[i, j]:
                    light = fill.lightness() > 140
                    painter.setPen(QColor("#111111") if light else QColor("#f2f2f2"))
                    painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, f"{m[i, j]}")

        # Class names: down the left, across the top (elided to the cell width).
        painter.setFont(font)
        painter.setPen(text)
        metrics = QFontMetricsF(font)
        label_w = geo["label_w"]
        for i, name in enumerate(self._names):
            y = grid.top() + i * cell
            elided = metrics.elidedText(name, Qt.TextElideMode.ElideRight, label_w - 6)
            painter.drawText(
                QRectF(grid.left() - label_w, y, label_w - 6, cell),
                Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                elided,
            )
            if cell >= 10:
                top = metrics.elidedText(name, Qt.TextElideMode.ElideRight, cell - 2)
                painter.drawText(
                    QRectF(grid.left() + i * cell, grid.top() - metrics.height() - 4, cell, 20),
                    Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop,
                    top,
                )

        # Per-class accuracy column: a bar and the percentage.
        acc = per_class_accuracy(m)
        column = geo["acc"]
        painter.setPen(dim)
        painter.drawText(geo["acc_head"], Qt.AlignmentFlag.AlignCenter, "Class acc.")
        for i in range(k):
            row = QRectF(column.left(), grid.top() + i * cell, column.width(), cell)
            bar_h = min(cell * 0.6, 20.0)
            track = QRectF(row.left(), row.center().y() - bar_h / 2, row.width(), bar_h)
            painter.fillRect(track, base)
            if not np.isnan(acc[i]):
                bar = QRectF(track.left(), track.top(), track.width() * acc[i], track.height())
                painter.fillRect(bar, _mix(_WRONG, _RIGHT, acc[i]))
                if cell >= 12:
                    painter.setPen(QColor("#f2f2f2") if acc[i] > 0.45 else text)
                    painter.drawText(
                        track.adjusted(4, 0, -2, 0),
                        Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                        f"{acc[i]:.0%}",
                    )
        painter.setPen(QPen(dim, 1))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRect(grid)

    # -- interaction -------------------------------------------------------------------------------

    def describe_cell(self, true_class: int, predicted: int) -> str:
        """The tooltip of a cell, in words."""
        assert self._matrix is not None
        count = int(self._matrix[true_class, predicted])
        total = int(self._matrix[true_class].sum())
        share = f" ({count / total:.1%} of class {self._names[true_class]})" if total else ""
        plural = "sample" if count == 1 else "samples"
        if true_class == predicted:
            return f"{count} {plural} of class {self._names[true_class]} classified right{share}"
        return (
            f"{count} {plural} of class {self._names[true_class]} predicted as "
            f"{self._names[predicted]}{share}"
        )

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt's name
        found = self.cell_at(event.position())
        if found is None:
            QToolTip.hideText()
        else:
            QToolTip.showText(event.globalPosition().toPoint(), self.describe_cell(*found), self)
        super().mouseMoveEvent(event)

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt's name
        found = self.cell_at(event.position())
        if found is not None and event.button() == Qt.MouseButton.LeftButton:
            self.cell_clicked.emit(*found)
        super().mousePressEvent(event)
