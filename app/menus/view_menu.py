"""View menu: fit and zoom the canvas, and show or hide every dock (``window.docks``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtWidgets import QMenu

if TYPE_CHECKING:
    from app.main_window import MainWindow

TITLE = "&View"


def make_actions(window: MainWindow) -> dict:
    return {}  # the zoom actions come from the canvas (see edit_menu)


def fill(window: MainWindow, menu: QMenu) -> None:
    for name in ("fit", "zoom_in", "zoom_out", "zoom_reset"):
        menu.addAction(window.actions[name])
    menu.addSeparator()
    panels = menu.addMenu("&Panels")
    for dock in window.docks.values():
        panels.addAction(dock.toggleViewAction())
