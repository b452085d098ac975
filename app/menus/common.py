"""One helper to make a ``QAction`` from the fields a menu module declares."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QStyle, QWidget

__all__ = ["make_action"]


def make_action(
    parent: QWidget,
    text: str,
    slot: Callable | None = None,
    shortcut: Any = None,
    icon: QStyle.StandardPixmap | None = None,
    tip: str | None = None,
) -> QAction:
    """An action with its shortcut(s), standard icon and tip; ``slot`` is called with no
    arguments (``triggered``'s ``checked`` flag is dropped)."""
    action = QAction(text, parent)
    if shortcut is not None:
        action.setShortcuts(shortcut if isinstance(shortcut, list) else [shortcut])
    if icon is not None:
        action.setIcon(parent.style().standardIcon(icon))
    if tip:
        action.setStatusTip(tip)
        action.setToolTip(tip)
    if slot is not None:
        action.triggered.connect(lambda _checked=False: slot())
    return action
