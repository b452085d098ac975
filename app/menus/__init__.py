"""The window's menus, toolbar and actions, declared per menu (as napari's ``qactions``).

Each menu module holds its own actions (``make_actions(window) -> {name: QAction}``) and
fills its menu (``fill(window, menu)``); :func:`build_menus` puts them in the menu bar in the
order of :data:`MENUS`. A new menu is a new module plus one entry in :data:`MENUS`; a new
action in an existing menu is one line in that menu's module. Actions end up in
``window.actions`` by name (tests and the toolbar find them there).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.menus import edit_menu, file_menu, train_menu, view_menu
from app.menus.toolbar import build_toolbar

if TYPE_CHECKING:
    from app.main_window import MainWindow

__all__ = ["MENUS", "build_menus", "build_toolbar"]

MENUS = (file_menu, edit_menu, view_menu, train_menu)


def build_menus(window: MainWindow) -> None:
    """Create every menu's actions into ``window.actions``, then the menu bar."""
    for menu in MENUS:
        window.actions.update(menu.make_actions(window))
    for name in menu_shortcuts():
        # Shortcuts that work even when the menu bar is hidden (some platforms' full screen).
        window.addAction(window.actions[name])
    bar = window.menuBar()
    for menu in MENUS:
        menu.fill(window, bar.addMenu(menu.TITLE))


def menu_shortcuts() -> list[str]:
    names: list[str] = []
    for menu in MENUS:
        names += list(getattr(menu, "WINDOW_SHORTCUTS", ()))
    return names
