"""View menu: fit and zoom the canvas, auto-arrange it, show or hide every dock."""

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
    menu.addAction(window.actions["arrange"])  # Ctrl+L: layered, top to bottom
    menu.addAction(window.actions["quick_add"])  # Tab: search and add a layer
    menu.addSeparator()
    panels = menu.addMenu("&Panels")
    for dock in window.docks.values():
        panels.addAction(dock.toggleViewAction())
