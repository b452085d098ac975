"""What the window's transfer-learning actions do (Edit menu and the canvas's right-click
menu on a layer): "Freeze up to here", "Unfreeze all" and "Replace head…", each pushing
one undo command of :mod:`app.transfer_commands` on the canvas's graph (the project, or
the block whose inside is shown). Refusals are said in the status bar, never raised.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtWidgets import QInputDialog

from app.transfer_commands import FreezeUpTo, ReplaceHead, UnfreezeAll
from app.transfer_edits import TransferEditError, known_class_count

if TYPE_CHECKING:
    from app.main_window import MainWindow

__all__ = ["freeze_up_to_selection", "replace_head_of_selection", "unfreeze_all"]


def _say(window: MainWindow, text: str) -> None:
    window.statusBar().showMessage(text, 6000)


def _selected(window: MainWindow) -> list[str]:
    return window.view.graph_scene.selected_node_ids()


def freeze_up_to_selection(window: MainWindow) -> int:
    """Freeze the selected layers and everything upstream; returns how many changed."""
    editor = window.blocks.editor if window.editor is not None else None
    ids = _selected(window)
    if editor is None or not ids:
        _say(window, "Select the last layer to freeze (the backbone ends there)")
        return 0
    command = FreezeUpTo(editor.graph, ids)
    if not command.count:
        _say(window, "Those layers are already frozen")
        return 0
    editor.push(command)
    _say(window, f"Froze {command.count} layers (Ctrl+Z undoes it)")
    return command.count


def unfreeze_all(window: MainWindow) -> int:
    """Make every frozen layer of the canvas's graph trainable; returns how many."""
    editor = window.blocks.editor if window.editor is not None else None
    if editor is None:
        return 0
    command = UnfreezeAll(editor.graph)
    if not command.count:
        _say(window, "No layer is frozen")
        return 0
    editor.push(command)
    _say(window, f"Unfroze {command.count} layers")
    return command.count


def default_units(window: MainWindow) -> int:
    """The class count the project's dataset names, else the old head's units, else 2."""
    project = window.editor
    base = project.path.parent if project.path is not None else None
    known = known_class_count(project.settings("dataset"), base)
    if known:
        return known
    graph = window.blocks.editor.graph
    for node_id in _selected(window):
        units = graph.node(node_id).params.get("units")
        if isinstance(units, int) and units >= 2:
            return units
    return 2


def replace_head_of_selection(window: MainWindow, units: int | None = None) -> str | None:
    """Replace the selected head layer(s) by a new ``Dense(units, softmax)``; ``units``
    is asked for (suggested from the dataset) when not given. Returns the new layer's id."""
    editor = window.blocks.editor if window.editor is not None else None
    ids = _selected(window)
    if editor is None or not ids:
        _say(window, "Select the head layer(s) to replace (the model's last layers)")
        return None
    if units is None:
        units, ok = QInputDialog.getInt(
            window,
            "Replace Head",
            "Classes of the new task (the new Dense layer's units):",
            default_units(window),
            2,
            100_000,
        )
        if not ok:
            return None
    try:
        top = editor is window.editor  # inside a block, the project's loss is not ours
        command = ReplaceHead(editor.graph, ids, units, project=window.editor if top else None)
    except TransferEditError as err:
        _say(window, str(err))
        return None
    editor.push(command)
    window.view.graph_scene.select_nodes([command.new_id])
    _say(window, f"New head '{command.new_id}': Dense({units}, softmax), trainable")
    return command.new_id
