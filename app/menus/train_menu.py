"""Train menu: train, pause/resume, stop, evaluate (the training controller's run)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QMenu, QStyle

from app.menus.common import make_action

if TYPE_CHECKING:
    from app.main_window import MainWindow

TITLE = "&Train"
WINDOW_SHORTCUTS = ("train", "pause", "stop", "evaluate")


def make_actions(window: MainWindow) -> dict:
    sp = QStyle.StandardPixmap
    c, training = window.controller, window.training
    specs = [
        ("train", "&Train", training.train, QKeySequence("F5"), sp.SP_MediaPlay,
         "Train the model (F5)"),
        ("pause", "&Pause", c.toggle_pause, QKeySequence("F6"), sp.SP_MediaPause,
         "Pause or resume training (F6)"),
        ("stop", "&Stop", c.stop, QKeySequence("Shift+F5"), sp.SP_MediaStop,
         "Stop training and keep the model so far"),
        ("evaluate", "&Evaluate", training.evaluate, QKeySequence("F7"), None,
         "Evaluate the trained model on the validation split"),
    ]  # fmt: skip
    return {name: make_action(window, *rest) for name, *rest in specs}


def fill(window: MainWindow, menu: QMenu) -> None:
    for name in ("train", "pause", "stop"):
        menu.addAction(window.actions[name])
    menu.addSeparator()
    menu.addAction(window.actions["evaluate"])
