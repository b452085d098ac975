"""The breadcrumb bar above the canvas while a block's inside is shown.

``Project ▸ res1 (Residual basic) ▸ se (Squeeze-and-excitation)``: one button per level, the
last one (where the canvas is) in bold; clicking an earlier one goes back out to it
(:attr:`BreadcrumbBar.levelChosen` carries its depth, 0 for the project). A note on the right
says what is being edited — a linked block's inside is shared by all its uses — and that Esc
goes back out. The bar only shows; the app's blocks controller decides where the canvas is.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QToolButton, QVBoxLayout, QWidget

from widgets.canvas import theme

__all__ = ["BreadcrumbBar", "stacked"]

_SEPARATOR = "▸"


class BreadcrumbBar(QWidget):
    """Where the canvas is: ``set_path(labels, note)`` with the project first.

    Signals:
        levelChosen(int): an earlier level was clicked (0 = the project itself).
    """

    levelChosen = Signal(int)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("BlockBreadcrumb")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        # Its own colours (not the style sheet's): the bar must read as part of the canvas.
        self.setStyleSheet(
            f"#BlockBreadcrumb {{ background: #20242a; border-bottom: 1px solid "
            f"{theme.NODE_BORDER.name()}; }}"
            "#BlockBreadcrumb QToolButton { border: none; padding: 3px 7px; border-radius: 4px;"
            f" color: {theme.PORT_COMPATIBLE.name()}; background: transparent; }}"
            "#BlockBreadcrumb QToolButton:hover { background: #2d3440; }"
            f"#BlockBreadcrumb QToolButton[current='true'] {{ color: {theme.TEXT.name()};"
            " font-weight: bold; }"
            f"#BlockBreadcrumb QLabel {{ color: {theme.TEXT_FAINT.name()}; }}"
        )
        self._layout = QHBoxLayout(self)
        self._layout.setContentsMargins(8, 3, 10, 3)
        self._layout.setSpacing(2)
        self.note = QLabel(self)
        self.note.setObjectName("BreadcrumbNote")
        self.buttons: list[QToolButton] = []
        self._labels: list[str] = []
        self.set_path(["Project"])

    @property
    def labels(self) -> list[str]:
        return list(self._labels)

    def set_path(self, labels: Sequence[str], note: str = "") -> None:
        """Show ``labels`` (the project first, then each block entered)."""
        self._labels = list(labels)
        while self._layout.count():
            item = self._layout.takeAt(0)
            widget = item.widget()
            if widget is not None and widget is not self.note:
                widget.deleteLater()
        self.buttons = []
        last = len(self._labels) - 1
        for depth, label in enumerate(self._labels):
            if depth:
                arrow = QLabel(_SEPARATOR, self)
                self._layout.addWidget(arrow)
            button = QToolButton(self)
            button.setText(label)
            button.setProperty("current", depth == last)
            button.setAutoRaise(True)
            if depth == last:
                button.setToolTip("You are editing here")
                button.setCursor(Qt.CursorShape.ArrowCursor)
            else:
                button.setToolTip(f"Back out to {label}")
                button.setCursor(Qt.CursorShape.PointingHandCursor)
                button.clicked.connect(lambda _=False, d=depth: self.levelChosen.emit(d))
            self._layout.addWidget(button)
            self.buttons.append(button)
        self._layout.addStretch(1)
        self.note.setText(note)
        self._layout.addWidget(self.note)


def stacked(bar: BreadcrumbBar, view: QWidget) -> QWidget:
    """The bar above the canvas, edge to edge, as one widget (a window's central widget)."""
    holder = QWidget()
    holder.setObjectName("CanvasArea")
    layout = QVBoxLayout(holder)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.setSpacing(0)
    layout.addWidget(bar)
    layout.addWidget(view, 1)
    return holder
