"""Edit menu: undo/redo (of the active project's stack) and the canvas's editing actions."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QMenu, QStyle

if TYPE_CHECKING:
    from app.main_window import MainWindow

TITLE = "&Edit"
WINDOW_SHORTCUTS = ("undo", "redo")


def make_actions(window: MainWindow) -> dict:
    sp = QStyle.StandardPixmap
    actions = {
        "undo": window.undo_group.createUndoAction(window, "&Undo"),
        "redo": window.undo_group.createRedoAction(window, "&Redo"),
    }
    actions["undo"].setShortcuts(QKeySequence.StandardKey.Undo)
    actions["redo"].setShortcuts(QKeySequence.StandardKey.Redo)
    # The menu says what would be undone; the toolbar button stays short.
    for name, icon in (("undo", sp.SP_ArrowBack), ("redo", sp.SP_ArrowForward)):
        actions[name].setIcon(window.style().standardIcon(icon))
        actions[name].setIconText(name.capitalize())
    # The canvas owns cut/copy/paste/delete and zoom: they act on its selection and view.
    actions.update(window.view.edit_actions())
    return actions


def fill(window: MainWindow, menu: QMenu) -> None:
    actions = window.actions
    menu.addAction(actions["undo"])
    menu.addAction(actions["redo"])
    menu.addSeparator()
    for name in ("cut", "copy", "paste", "duplicate", "delete"):
        menu.addAction(actions[name])
    menu.addSeparator()
    menu.addAction(actions["select_all"])
