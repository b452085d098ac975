"""Edit menu: undo/redo (of the active project's stack), the canvas's editing actions, and
blocks (group, ungroup, edit inside, back out: :mod:`app.blocks_controller`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QMenu, QStyle

from app.menus.common import make_action

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
    blocks = window.blocks
    for name, text, key, slot, tip in (
        ("group", "&Group into Block", "Ctrl+G", blocks.group_selection,
         "Make the selected layers one block node"),
        ("ungroup", "&Ungroup Block", "Ctrl+Shift+G", blocks.ungroup_selection,
         "Put the selected block's layers back in its place"),
        ("edit_block", "Edit Block &Inside", None, blocks.enter_selected,
         "Show the selected block's layers (double-click a block does the same)"),
        ("leave_block", "&Back Out of Block", None, blocks.leave,
         "Back to the graph that uses this block (Esc)"),
    ):  # fmt: skip
        action = make_action(window, text, slot, QKeySequence(key) if key else None, tip=tip)
        # Like cut and paste, they act on the canvas's selection: only while it has focus.
        action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        window.view.addAction(action)
        actions[name] = action
    actions.update(_transfer_actions(window))
    return actions


def _transfer_actions(window: MainWindow) -> dict:
    """Transfer learning: freeze a pre-trained backbone, put a new head on it."""
    from app import transfer_actions as transfer  # noqa: PLC0415 - keeps the menu light

    actions = {
        "freeze_up_to": make_action(
            window, "&Freeze Up to Here", lambda: transfer.freeze_up_to_selection(window),
            tip="Freeze the selected layer and every layer before it (a pre-trained backbone)",
        ),
        "unfreeze_all": make_action(
            window, "U&nfreeze All", lambda: transfer.unfreeze_all(window),
            tip="Make every frozen layer trainable again",
        ),
        "replace_head": make_action(
            window, "&Replace Head…", lambda: transfer.replace_head_of_selection(window),
            tip="Replace the selected output layer(s) by a new Dense layer for your classes",
        ),
    }  # fmt: skip
    # On a layer's right-click menu too.
    window.view.node_menu_actions = [actions["freeze_up_to"], actions["replace_head"]]
    return actions


def fill(window: MainWindow, menu: QMenu) -> None:
    actions = window.actions
    menu.addAction(actions["undo"])
    menu.addAction(actions["redo"])
    menu.addSeparator()
    for name in ("cut", "copy", "paste", "duplicate", "delete"):
        menu.addAction(actions[name])
    menu.addSeparator()
    for name in ("group", "ungroup", "edit_block", "leave_block"):
        menu.addAction(actions[name])
    menu.addSeparator()
    for name in ("freeze_up_to", "unfreeze_all", "replace_head"):
        menu.addAction(actions[name])
    menu.addSeparator()
    menu.addAction(actions["select_all"])
