"""File menu: new, open (file, example, recent), save, import/export, quit."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QMenu, QStyle

from app.keras_controller import keras_controller
from app.menus.common import make_action
from app.pytorch_controller import pytorch_controller

if TYPE_CHECKING:
    from app.main_window import MainWindow

TITLE = "&File"
WINDOW_SHORTCUTS = ("quit", "save", "open", "new")


def make_actions(window: MainWindow) -> dict:
    sp = QStyle.StandardPixmap
    keys = QKeySequence.StandardKey
    files, exports = window.files, window.exports
    specs = [
        ("new", "&New", window.new_project, keys.New, sp.SP_FileIcon, "Start an empty project"),
        ("open", "&Open...", files.open_dialog, keys.Open, sp.SP_DialogOpenButton,
         "Open a project file"),
        ("save", "&Save", files.save, keys.Save, sp.SP_DialogSaveButton, "Save the project"),
        ("save_as", "Save &As...", files.save_as, keys.SaveAs, None,
         "Save the project under a new name"),
        ("import_onnx", "&Import ONNX...", exports.import_onnx_dialog, None, None,
         "Turn an ONNX model into a project with its weights"),
        ("export_onnx", "&Export ONNX...", exports.export_onnx, QKeySequence("Ctrl+E"), None,
         "Export the model to ONNX, verified with onnxruntime"),
        ("export_model", "Export &Trained Model...", exports.export_trained_model, None, None,
         "Save the trained model as a .lcmodel file"),
        ("import_keras", "Import &Keras Model...", lambda: keras_controller(window).import_dialog(),
         None, None, "Turn a Keras .keras or .h5 model into a project with its weights"),
        ("export_keras", "Export Ke&ras Model...", lambda: keras_controller(window).export_model(),
         None, None, "Write a Keras 3 .keras model that keras.saving.load_model opens"),
        ("export_keras_code", "Export Keras &Code...",
         lambda: keras_controller(window).export_code(), None, None,
         "Write a Keras script that rebuilds, compiles and fits the model"),
        ("export_pytorch", "Export &PyTorch Package...",
         lambda: pytorch_controller(window).export_dialog(), None, None,
         "Write a standalone PyTorch training package (torchrun, DistributedDataParallel)"),
        ("quit", "&Quit", window.close, keys.Quit, None, "Quit LayerCanvas"),
    ]  # fmt: skip
    return {name: make_action(window, *rest) for name, *rest in specs}


def fill(window: MainWindow, menu: QMenu) -> None:
    actions = window.actions
    menu.addAction(actions["new"])
    menu.addAction(actions["open"])
    window.examples_menu = menu.addMenu("Open &Example")
    window.files.fill_examples_menu(window.examples_menu)
    window.recent_menu = menu.addMenu("Open &Recent")
    window.recent_menu.aboutToShow.connect(window.files.fill_recent_menu)
    menu.addSeparator()
    menu.addAction(actions["save"])
    menu.addAction(actions["save_as"])
    menu.addSeparator()
    for name in (
        "import_onnx",
        "import_keras",
        "export_onnx",
        "export_keras",
        "export_keras_code",
        "export_pytorch",
        "export_model",
    ):
        menu.addAction(actions[name])
    menu.addSeparator()
    menu.addAction(actions["quit"])
