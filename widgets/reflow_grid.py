"""A grid that puts its widgets in as many columns as its width allows (filled top to
bottom, each column as wide as its widest widget), and reflows when resized: the metric
check boxes of the training panel, whose names are of very different lengths."""

from __future__ import annotations

import math

from PySide6.QtWidgets import QGridLayout, QWidget

__all__ = ["ReflowGrid"]


class ReflowGrid(QWidget):
    """Widgets in as many equal columns as the width allows (the metric check boxes)."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._widgets: list[QWidget] = []
        self._columns = 0
        self._grid = QGridLayout(self)
        self._grid.setContentsMargins(0, 0, 0, 0)
        self._grid.setHorizontalSpacing(16)
        self._grid.setVerticalSpacing(2)

    def set_widgets(self, widgets: list[QWidget]) -> None:
        for widget in self._widgets:
            self._grid.removeWidget(widget)
            widget.deleteLater()
        self._widgets = list(widgets)
        self._columns = 0
        self._reflow(self.width())

    def _layout_for(self, width: int) -> tuple[int, int]:
        """``(columns, needed width)``: the most columns (filled top to bottom, each as wide
        as its widest widget) that fit in ``width``."""
        widths = [w.sizeHint().width() for w in self._widgets] or [1]
        spacing = self._grid.horizontalSpacing()
        best = (1, max(widths))
        for columns in range(2, len(widths) + 1):
            rows = math.ceil(len(widths) / columns)
            needed = sum(max(widths[c * rows : (c + 1) * rows] or [0]) for c in range(columns))
            needed += spacing * (columns - 1)
            if needed > width:
                break
            best = (columns, needed)
        return best

    def minimumSizeHint(self):  # noqa: N802 - Qt's name
        hint = super().minimumSizeHint()
        hint.setWidth(self._layout_for(0)[1])
        return hint

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        self._reflow(event.size().width())

    def _reflow(self, width: int) -> None:
        columns = self._layout_for(width)[0]
        if columns == self._columns:
            return
        self._columns = columns
        rows = math.ceil(len(self._widgets) / columns) or 1
        for widget in self._widgets:
            self._grid.removeWidget(widget)
        for i, widget in enumerate(self._widgets):
            self._grid.addWidget(widget, i % rows, i // rows)
        for column in range(self._grid.columnCount()):
            self._grid.setColumnStretch(column, 0)
        self._grid.setColumnStretch(self._grid.columnCount(), 1)
