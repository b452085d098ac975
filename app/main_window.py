"""The LayerCanvas main window: the canvas in the middle, panels docked around it, menus.

Layout: the node-editor canvas (:class:`widgets.canvas.view.GraphView`) in the centre; the
layer palette and the data panel on the left; the inspector and the training panel on the
right; the problems list and the model summary at the bottom. Every dock can be hidden and
moved; the arrangement and the window geometry are remembered (:mod:`app.settings`).

This module only assembles the window (as napari's ``qt_main_window``): the panels and
their docks are declared in :mod:`app.docks`, the menus, actions and toolbar per menu in
:mod:`app.menus`, and the behaviour lives in controllers — project files in
:mod:`app.file_controller`, ONNX and model files in :mod:`app.export_controller`, training
and its live display in :mod:`app.training_wiring`. What stays here is the open project:
showing an :class:`app.editing.EditorDocument` (document, undo stack, live diagnostics) in
every panel, the title (the project name with ``*`` when modified), the status bar (whether
the graph is valid: ``✓ 9 layers · 12,874 params`` or ``2 errors``), messages, and closing.
Mistakes are reported in a message box or the status bar, never as a traceback.

:func:`run_gui` is the entry point ``layercanvas [PROJECT]`` calls.
"""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QCloseEvent, QUndoGroup
from PySide6.QtWidgets import QApplication, QDockWidget, QLabel, QMainWindow, QMessageBox, QWidget

from app.activations_controller import ActivationsController
from app.autosave import AUTOSAVE_INTERVAL_MS, Autosaver
from app.blocks_controller import BlocksController
from app.docks import build_panels
from app.editing import EditorDocument
from app.experiments_controller import ExperimentsController
from app.export_controller import ExportController
from app.file_controller import EXAMPLES_DIR, FileController, example_projects
from app.menus import build_menus, build_toolbar
from app.model_summary import ModelSummary
from app.recovery import offer_recovery
from app.recovery_store import RecoveryStore
from app.runs_controller import RunsController
from app.settings import AppSettings, data_dir
from app.training_controller import Evaluation, TrainingController
from app.training_wiring import TrainingWiring
from app.ui_text import count_text
from widgets.canvas import theme
from widgets.canvas.breadcrumb import BreadcrumbBar, stacked
from widgets.canvas.view import GraphView

__all__ = ["EXAMPLES_DIR", "MainWindow", "ModelSummary", "example_projects", "run_gui"]

APP_NAME = "LayerCanvas"
DEFAULT_EXAMPLE = "digits_cnn.lcproj"


class MainWindow(QMainWindow):
    """The application window; see the module docstring.

    Signals (mostly for tests, scripts and panels that follow the project):
        projectOpened(object): a project was opened or created (the EditorDocument).
        projectSaved(object): the open project was written to its file (the ``Path``).
        onnxExported(object): an ONNX export finished and passed verification (the
            ``engine.onnx.ExportReport``).
        modelSaved(object): a trained model was written (its ``Path``).
    """

    projectOpened = Signal(object)
    projectSaved = Signal(object)
    onnxExported = Signal(object)
    modelSaved = Signal(object)

    def __init__(
        self,
        settings: AppSettings | None = None,
        parent: QWidget | None = None,
        recovery_store: RecoveryStore | None = None,
        autosave_interval_ms: int = AUTOSAVE_INTERVAL_MS,
    ):
        super().__init__(parent)
        self.setObjectName("MainWindow")
        self.settings = settings if settings is not None else AppSettings()
        self.editor: EditorDocument | None = None
        self.controller = TrainingController(self)
        self.undo_group = QUndoGroup(self)
        self.last_message: tuple[str, str] | None = None  # (title, text) of the last box
        self._message_box: QMessageBox | None = None
        self.actions: dict[str, QAction] = {}
        self.docks: dict[str, QDockWidget] = {}
        if recovery_store is None:
            recovery_store = RecoveryStore(data_dir() / "recovery")
        self.recovery_store = recovery_store
        self.autosaver = Autosaver(recovery_store, autosave_interval_ms, self)

        self.view = GraphView(parent=self)
        # Above the canvas, the way back out while a block's inside is shown.
        self.breadcrumb = BreadcrumbBar()
        self.setCentralWidget(stacked(self.breadcrumb, self.view))
        build_panels(self)
        self.files = FileController(self)
        self.exports = ExportController(self)
        self.training = TrainingWiring(self)
        self.runs = RunsController(self)
        self.experiments = ExperimentsController(self)
        self.activations = ActivationsController(self)
        self.blocks = BlocksController(self)
        build_menus(self)
        self.toolbar = build_toolbar(self)
        self._build_status_bar()
        self._connect()
        self.resize(1480, 920)
        self._restore_window()
        self.new_project(ask=False)

    def _build_status_bar(self) -> None:
        status = self.statusBar()
        self.graph_status = QLabel()
        self.graph_status.setObjectName("graphStatus")
        self.training_status = QLabel()
        self.training_status.setObjectName("trainingStatus")
        self.zoom_status = QLabel("100%")
        self.zoom_status.setObjectName("zoomStatus")
        self.autosave_status = QLabel()
        self.autosave_status.setObjectName("autosaveStatus")
        self.autosave_status.setProperty("role", "faint")
        status.addPermanentWidget(self.autosave_status)
        status.addPermanentWidget(self.training_status)
        status.addPermanentWidget(self.graph_status)
        status.addPermanentWidget(self.zoom_status)

    def _connect(self) -> None:
        self.palette_panel.layerActivated.connect(self.view.add_layer_at_center)
        self.view.graph_scene.selectedNodesChanged.connect(self.inspector.show_nodes)
        self.view.statusMessage.connect(lambda text: self.statusBar().showMessage(text, 4000))
        self.view.zoomChanged.connect(lambda z: self.zoom_status.setText(f"{z:.0%}"))
        self.diagnostics_panel.nodeActivated.connect(self.view.focus_node)
        # The schedule preview counts steps per epoch from the dataset's training samples.
        self.data_panel.preview_ready.connect(
            lambda p: self.training_panel.set_train_samples(p.train_samples)
        )
        # Class weights ("Balanced") and MeanIoU's class count come from the same preview.
        self.data_panel.preview_ready.connect(
            lambda p: self.training_panel.set_classes(p.class_names, p.train_class_counts)
        )
        self.training.show_state("idle")
        # Every Train keeps a copy first: a run can take the machine down with it.
        self.training.train_starting.connect(lambda _project: self.autosaver.save_now())
        self.autosaver.saved.connect(self._on_autosaved)
        self.autosaver.failed.connect(self._on_autosave_failed)

    # -- the controllers' entry points (menus, tests and scripts call these) ----------------------

    def confirm_discard(self) -> bool:
        return self.files.confirm_discard()

    def new_project(self, ask: bool = True) -> bool:
        return self.files.new_project(ask)

    def open_dialog(self) -> bool:
        return self.files.open_dialog()

    def open_project(self, path: str | Path, ask: bool = True) -> bool:
        return self.files.open_project(path, ask)

    def open_example(self, path: str | Path, ask: bool = True) -> bool:
        return self.files.open_example(path, ask)

    def save(self) -> bool:
        return self.files.save()

    def save_as(self) -> bool:
        return self.files.save_as()

    def _fill_recent_menu(self) -> None:
        self.files.fill_recent_menu()

    def import_onnx_dialog(self) -> bool:
        return self.exports.import_onnx_dialog()

    def import_onnx(self, source: str | Path, target: str | Path) -> bool:
        return self.exports.import_onnx(source, target)

    def export_onnx(self, path: str | Path | None = None) -> bool:
        return self.exports.export_onnx(path)

    def export_trained_model(self, path: str | Path | None = None) -> bool:
        return self.exports.export_trained_model(path)

    def train(self) -> bool:
        return self.training.train()

    def evaluate(self) -> bool:
        return self.training.evaluate()

    def show_evaluation(self, evaluation: Evaluation) -> None:
        self.training.show_evaluation(evaluation)

    # -- the open project -----------------------------------------------------------------------

    def set_editor(self, editor: EditorDocument) -> None:
        """Show ``editor``'s project in every panel (the previous one is closed)."""
        old = self.editor
        if old is not None:
            for signal, slot in self._editor_slots(old):
                signal.disconnect(slot)
            self.undo_group.removeStack(old.undo_stack)
            old.close()
            old.deleteLater()
            # The trained model and its results belong to the project being closed.
            self.controller.shutdown()
            self.controller.forget()
            self.training_panel.clear_results()
        self.editor = editor
        editor.setParent(self)
        self.undo_group.addStack(editor.undo_stack)
        self.undo_group.setActiveStack(editor.undo_stack)
        for signal, slot in self._editor_slots(editor):
            signal.connect(slot)
        self.view.set_editor(editor)
        self.inspector.set_editor(editor)
        self.diagnostics_panel.set_editor(editor)
        self.training_panel.set_training(editor.settings("training"))
        self.data_panel.set_dataset(editor.settings("dataset"))
        self._on_checked(editor.check_result)
        self.update_title()
        self.autosave_status.clear()
        self.autosaver.attach(editor)
        self.projectOpened.emit(editor)

    def _editor_slots(self, editor: EditorDocument):
        return [
            (editor.checked, self._on_checked),
            (editor.diagnosticsChanged, self._on_diagnostics),
            (editor.settingsChanged, self._on_settings_changed),
            (editor.modifiedChanged, self._on_modified),
            (editor.pathChanged, self._on_path_changed),
            (editor.graphChanged, self._on_graph_changed),
        ]

    def _on_checked(self, result) -> None:
        if self.editor is None:
            return
        self.summary.show_result(result, self.editor.graph)
        self._on_diagnostics(self.editor.diagnostics)

    def _on_diagnostics(self, diagnostics) -> None:
        errors = [d for d in diagnostics if d.severity == "error"]
        warnings = [d for d in diagnostics if d.severity != "error"]
        if errors:
            text = f"✗ {count_text(len(errors), 'error')}"
            state = "error"
        else:
            result = self.editor.check_result if self.editor is not None else None
            layers = sum(1 for n in self.editor.graph.nodes if n.type != "Input")
            params = result.total_params if result is not None else 0
            text = f"✓ {count_text(layers, 'layer')} · {params:,} params"
            if warnings:
                text += f" · {count_text(len(warnings), 'warning')}"
            state = "warning" if warnings else "ok"
        label = self.graph_status
        label.setText(text)
        label.setProperty("state", state)
        label.setProperty("role", state)
        label.setToolTip(
            "\n".join(d.text() for d in errors[:8]) if errors else "The graph is valid"
        )
        label.style().unpolish(label)
        label.style().polish(label)

    def _on_graph_changed(self, _event) -> None:
        # The data fit depends on the graph (input shape, output units): check again.
        self.data_panel.refresh_fit()

    def _on_settings_changed(self, key: str) -> None:
        if self.editor is None:
            return
        if key == "training":
            self.training_panel.set_training(self.editor.settings("training"))
        else:
            self.data_panel.set_dataset(self.editor.settings("dataset"))

    def _on_modified(self, modified: bool) -> None:
        self.update_title()
        if not modified:
            self.autosave_status.clear()

    def _on_autosaved(self, path) -> None:
        if self.editor is not None and self.editor.modified:
            self.autosave_status.setText(f"Autosaved {datetime.now():%H:%M}")
            self.autosave_status.setToolTip(f"Recovery copy: {path}")

    def _on_autosave_failed(self, reason: str) -> None:
        text = f"Autosave failed: {reason}"
        if self.autosave_status.toolTip() != text:  # say it once, not every 30 s
            self.statusBar().showMessage(text, 8000)
        self.autosave_status.setText("Autosave failed")
        self.autosave_status.setToolTip(text)

    def _on_path_changed(self, path) -> None:
        self.update_title()
        if path is not None:
            self.settings.add_recent_file(path)

    def update_title(self) -> None:
        if self.editor is None:
            self.setWindowTitle(APP_NAME)
            return
        modified = self.editor.modified
        name = self.editor.graph.name
        where = f" — {self.editor.path.name}" if self.editor.path is not None else ""
        self.setWindowTitle(f"{name}{'*' if modified else ''}{where} — {APP_NAME}")

    # -- settings panels write through the editor's undo stack ------------------------------------

    def project_dir(self) -> Path | None:
        if self.editor is None or self.editor.path is None:
            return None
        return Path(self.editor.path).parent

    def write_training(self, training: dict[str, Any]) -> None:
        if self.editor is not None:
            self.editor.set_settings("training", training)

    def write_dataset(self, dataset: dict[str, Any]) -> None:
        if self.editor is not None:
            self.editor.set_settings("dataset", dataset)
            self.statusBar().showMessage("Dataset changed (Ctrl+Z undoes it)", 4000)

    def fit_check(self, dataset) -> list[str]:
        """What stops this graph training on ``dataset`` (empty when it fits)."""
        from engine.graph.session import data_diagnostics  # noqa: PLC0415

        if self.editor is None:
            return []
        result = self.editor.check_result
        if not result.ok:
            return ["the graph has errors; fix them to check it against the data"]
        found = data_diagnostics(result, self.editor.project, dataset)
        return [d.text() for d in found if d.severity == "error"]

    # -- messages ---------------------------------------------------------------------------------

    def _show_box(self, icon: QMessageBox.Icon, title: str, text: str) -> None:
        """A window-modal box that does not block the event loop (training goes on)."""
        self.last_message = (title, text)
        if self._message_box is not None:
            self._message_box.close()
        box = QMessageBox(icon, title, text, QMessageBox.StandardButton.Ok, self)
        box.setWindowModality(Qt.WindowModality.WindowModal)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.finished.connect(lambda _r: setattr(self, "_message_box", None))
        self._message_box = box
        box.open()

    def warn(self, title: str, text: str) -> None:
        """A warning in a (non-blocking) box, its first line in the status bar."""
        self.statusBar().showMessage(text.splitlines()[0] if text else title, 8000)
        self._show_box(QMessageBox.Icon.Warning, title, text)

    def inform(self, title: str, text: str) -> None:
        self._show_box(QMessageBox.Icon.Information, title, text)

    # -- window -----------------------------------------------------------------------------------

    def _restore_window(self) -> None:
        geometry = self.settings.geometry()
        if geometry is not None:
            self.restoreGeometry(geometry)
        state = self.settings.window_state()
        if state is not None:
            self.restoreState(state)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt's name
        if not self.confirm_discard():
            event.ignore()
            return
        self.controller.shutdown()
        self.experiments.shutdown()  # its trials left stay pending: Continue runs them
        # A clean close: the work is saved or the user discarded it, so is its copy.
        self.autosaver.close()
        self.settings.save_window(self.saveGeometry(), self.saveState())
        event.accept()


def run_gui(project_path: str | None = None) -> int:
    """Open the window (on ``project_path``, else on the digits example) and run the event
    loop; returns its exit status."""
    app = QApplication.instance()
    if app is None:
        app = QApplication(sys.argv[:1])
    app.setApplicationName(APP_NAME)
    app.setOrganizationName(APP_NAME)
    theme.apply_style(app)
    window = MainWindow()
    opened = False
    if project_path is not None:
        opened = window.open_project(project_path, ask=False)
    window.show()
    windows = [window]

    def another_window() -> MainWindow:
        extra = MainWindow(settings=window.settings, recovery_store=window.recovery_store)
        extra.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        extra.show()
        windows.append(extra)
        return extra

    recovered = offer_recovery(window, new_window=another_window, use_window=not opened)
    if not opened and not recovered and project_path is None:
        example = EXAMPLES_DIR / DEFAULT_EXAMPLE
        if example.is_file():
            window.open_example(example, ask=False)
    return int(app.exec())
