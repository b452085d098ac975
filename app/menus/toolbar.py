"""The main toolbar: the most used actions of each menu, in one row."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import QToolBar

if TYPE_CHECKING:
    from app.main_window import MainWindow

__all__ = ["TOOLBAR", "build_toolbar"]

# Action names; None is a separator.
TOOLBAR = (
    "new", "open", "save", None, "undo", "redo", None, "fit", None,
    "train", "pause", "stop", None, "export_onnx",
)  # fmt: skip


def build_toolbar(window: MainWindow) -> QToolBar:
    bar = QToolBar("Main", window)
    bar.setObjectName("mainToolbar")
    bar.setMovable(False)
    bar.setIconSize(QSize(16, 16))
    bar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
    for name in TOOLBAR:
        if name is None:
            bar.addSeparator()
        else:
            bar.addAction(window.actions[name])
    window.addToolBar(Qt.ToolBarArea.TopToolBarArea, bar)
    return bar
