"""The LayerCanvas main window: the canvas in the middle, panels docked around it, menus.

Layout: the node-editor canvas (:class:`widgets.canvas.view.GraphView`) in the centre; the
layer palette and the data panel on the left; the inspector and the training panel on the
right; the problems list and the model summary at the bottom. Every dock can be hidden and
moved; the arrangement and the window geometry are remembered (:mod:`app.settings`).

One project is open at a time, as an :class:`app.editing.EditorDocument` (document, undo
stack, live diagnostics). The window only wires things together: edits go through the
editor's undo commands, settings panels write through it too, and training, evaluation and
export run in the :class:`app.training_controller.TrainingController`'s worker thread. The
title shows the project name with ``*`` when modified, the status bar whether the graph is
valid (``✓ 9 layers · 12,874 params`` or ``2 errors``), and closing a modified project asks
first. Mistakes — a bad file, a graph that cannot be exported — are reported in a message
box or the status bar, never as a traceback.

:func:`run_gui` is the entry point ``layercanvas [PROJECT]`` calls.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence, QUndoGroup
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QFileDialog,
    QHeaderView,
    QLabel,
    QMainWindow,
    QMessageBox,
    QStyle,
    QToolBar,
    QTreeWidget,
    QTreeWidgetItem,
    QWidget,
)

from app.data_panel import DataPanel
from app.editing import EditorDocument
from app.settings import AppSettings
from app.training_controller import (
    BatchUpdate,
    Evaluation,
    RunInfo,
    TrainingController,
    TrainingResult,
    describe_error,
)
from engine.graph.project import Project, ProjectError
from widgets.canvas import theme
from widgets.canvas.view import GraphView
from widgets.diagnostics_panel import DiagnosticsPanel
from widgets.inspector import Inspector
from widgets.palette import LayerPalette
from widgets.sample_grid import SampleSet
from widgets.sketchpad import supports as sketch_supports
from widgets.training_panel import TrainingPanel, format_duration

__all__ = ["EXAMPLES_DIR", "MainWindow", "ModelSummary", "example_projects", "run_gui"]

APP_NAME = "LayerCanvas"
EXAMPLES_DIR = Path(__file__).resolve().parents[1] / "resources" / "examples"
DEFAULT_EXAMPLE = "digits_cnn.lcproj"
PROJECT_FILTER = "LayerCanvas projects (*.lcproj)"


def example_projects() -> list[Path]:
    """The example projects shipped in ``resources/examples``, by file name."""
    return sorted(EXAMPLES_DIR.glob("*.lcproj"))


def _fmt_shape(shape) -> str:
    if shape is None:
        return "?"
    return "(" + ", ".join(map(str, shape)) + ("," if len(shape) == 1 else "") + ")"


def _count(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


class ModelSummary(QTreeWidget):
    """Keras's ``model.summary()`` as a table: layer, type, output shape, parameters, FLOPs
    per node in execution order, with the totals on the last row. Follows the editor's
    ``checked`` signal."""

    COLUMNS = ("Layer", "Type", "Output shape", "Parameters", "FLOPs")

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("ModelSummary")
        self.setColumnCount(len(self.COLUMNS))
        self.setHeaderLabels(list(self.COLUMNS))
        self.setRootIsDecorated(False)
        self.setUniformRowHeights(True)
        self.setAlternatingRowColors(True)
        header = self.header()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        for column in (3, 4):
            self.headerItem().setTextAlignment(column, Qt.AlignmentFlag.AlignRight)

    def show_result(self, result, graph) -> None:
        self.clear()
        reports = result.nodes
        ordered = [i for i in result.order if i in reports]
        ordered += [n.id for n in graph.nodes if n.id in reports and n.id not in ordered]
        for node_id in ordered:
            report = reports[node_id]
            params = "" if report.param_count is None else f"{report.param_count:,}"
            flops = "" if report.flops is None else f"{report.flops:,}"
            shape = _fmt_shape(report.output_shape) if report.status == "ok" else "—"
            item = QTreeWidgetItem([node_id, report.type_name, shape, params, flops])
            for column in (3, 4):
                item.setTextAlignment(column, Qt.AlignmentFlag.AlignRight)
            if report.status != "ok":
                item.setForeground(2, theme.ERROR if report.status == "error" else theme.TEXT_FAINT)
            self.addTopLevelItem(item)
        total = QTreeWidgetItem(
            ["Total", "", "", f"{result.total_params:,}", f"{result.total_flops:,}"]
        )
        font = total.font(0)
        font.setBold(True)
        for column in range(len(self.COLUMNS)):
            total.setFont(column, font)
        for column in (3, 4):
            total.setTextAlignment(column, Qt.AlignmentFlag.AlignRight)
        self.addTopLevelItem(total)


class MainWindow(QMainWindow):
    """The application window; see the module docstring.

    Signals (mostly for tests and scripts):
        projectOpened(object): a project was opened or created (the EditorDocument).
        onnxExported(object): an ONNX export finished and passed verification (the
            ``engine.onnx.ExportReport``).
        modelSaved(object): a trained model was written (its ``Path``).
    """

    projectOpened = Signal(object)
    onnxExported = Signal(object)
    modelSaved = Signal(object)

    def __init__(self, settings: AppSettings | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("MainWindow")
        self.settings = settings if settings is not None else AppSettings()
        self.editor: EditorDocument | None = None
        self.controller = TrainingController(self)
        self.undo_group = QUndoGroup(self)
        self.last_message: tuple[str, str] | None = None  # (title, text) of the last box
        self._message_box: QMessageBox | None = None
        self._pending_onnx: Path | None = None

        self.view = GraphView(parent=self)
        self.setCentralWidget(self.view)
        self.palette_panel = LayerPalette()
        self.inspector = Inspector()
        self.diagnostics_panel = DiagnosticsPanel()
        self.summary = ModelSummary()
        self.training_panel = TrainingPanel(on_settings=self._write_training)
        self.data_panel = DataPanel(
            on_apply=self._write_dataset, base_dir=self._project_dir, fit_check=self._fit_check
        )
        self._build_docks()
        self._build_actions()
        self._build_menus()
        self._build_toolbar()
        self._build_status_bar()
        self._connect()
        self.resize(1480, 920)
        self._restore_window()
        self.new_project(ask=False)

    # -- construction ---------------------------------------------------------------------------

    def _dock(self, title: str, name: str, widget: QWidget, area) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        dock.setWidget(widget)
        dock.setFeatures(
            QDockWidget.DockWidgetFeature.DockWidgetMovable
            | QDockWidget.DockWidgetFeature.DockWidgetClosable
            | QDockWidget.DockWidgetFeature.DockWidgetFloatable
        )
        self.addDockWidget(area, dock)
        return dock

    def _build_docks(self) -> None:
        left = Qt.DockWidgetArea.LeftDockWidgetArea
        right = Qt.DockWidgetArea.RightDockWidgetArea
        bottom = Qt.DockWidgetArea.BottomDockWidgetArea
        self.setCorner(Qt.Corner.BottomLeftCorner, left)
        self.setCorner(Qt.Corner.BottomRightCorner, right)
        self.palette_dock = self._dock("Layers", "paletteDock", self.palette_panel, left)
        self.data_dock = self._dock("Data", "dataDock", self.data_panel, left)
        self.inspector_dock = self._dock("Inspector", "inspectorDock", self.inspector, right)
        self.training_dock = self._dock("Training", "trainingDock", self.training_panel, right)
        self.diagnostics_dock = self._dock(
            "Problems", "diagnosticsDock", self.diagnostics_panel, bottom
        )
        self.summary_dock = self._dock("Summary", "summaryDock", self.summary, bottom)
        self.tabifyDockWidget(self.palette_dock, self.data_dock)
        self.tabifyDockWidget(self.inspector_dock, self.training_dock)
        self.tabifyDockWidget(self.diagnostics_dock, self.summary_dock)
        self.palette_dock.raise_()
        self.inspector_dock.raise_()
        self.diagnostics_dock.raise_()
        self.setDockNestingEnabled(True)
        self.resizeDocks(
            [self.palette_dock, self.inspector_dock], [270, 460], Qt.Orientation.Horizontal
        )
        self.resizeDocks([self.diagnostics_dock], [190], Qt.Orientation.Vertical)

    def _action(
        self,
        text: str,
        slot: Callable | None = None,
        shortcut: Any = None,
        icon: QStyle.StandardPixmap | None = None,
        tip: str | None = None,
    ) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcuts(shortcut if isinstance(shortcut, list) else [shortcut])
        if icon is not None:
            action.setIcon(self.style().standardIcon(icon))
        if tip:
            action.setStatusTip(tip)
            action.setToolTip(tip)
        if slot is not None:
            action.triggered.connect(lambda _checked=False: slot())
        return action

    def _build_actions(self) -> None:
        sp = QStyle.StandardPixmap
        keys = QKeySequence.StandardKey
        c = self.controller
        specs = [
            ("new", "&New", self.new_project, keys.New, sp.SP_FileIcon, "Start an empty project"),
            ("open", "&Open...", self.open_dialog, keys.Open, sp.SP_DialogOpenButton,
             "Open a project file"),
            ("save", "&Save", self.save, keys.Save, sp.SP_DialogSaveButton, "Save the project"),
            ("save_as", "Save &As...", self.save_as, keys.SaveAs, None,
             "Save the project under a new name"),
            ("import_onnx", "&Import ONNX...", self.import_onnx_dialog, None, None,
             "Turn an ONNX model into a project with its weights"),
            ("export_onnx", "&Export ONNX...", self.export_onnx, QKeySequence("Ctrl+E"), None,
             "Export the model to ONNX, verified with onnxruntime"),
            ("export_model", "Export &Trained Model...", self.export_trained_model, None, None,
             "Save the trained model as a .lcmodel file"),
            ("quit", "&Quit", self.close, keys.Quit, None, "Quit LayerCanvas"),
            ("train", "&Train", self.train, QKeySequence("F5"), sp.SP_MediaPlay,
             "Train the model (F5)"),
            ("pause", "&Pause", c.toggle_pause, QKeySequence("F6"), sp.SP_MediaPause,
             "Pause or resume training (F6)"),
            ("stop", "&Stop", c.stop, QKeySequence("Shift+F5"), sp.SP_MediaStop,
             "Stop training and keep the model so far"),
            ("evaluate", "&Evaluate", self.evaluate, QKeySequence("F7"), None,
             "Evaluate the trained model on the validation split"),
        ]  # fmt: skip
        self.actions: dict[str, QAction] = {
            name: self._action(text, slot, key, icon, tip)
            for name, text, slot, key, icon, tip in specs
        }
        self.actions["undo"] = self.undo_group.createUndoAction(self, "&Undo")
        self.actions["undo"].setShortcuts(QKeySequence.StandardKey.Undo)
        self.actions["redo"] = self.undo_group.createRedoAction(self, "&Redo")
        self.actions["redo"].setShortcuts(QKeySequence.StandardKey.Redo)
        # The menu says what would be undone; the toolbar button stays short.
        for name, icon in (("undo", sp.SP_ArrowBack), ("redo", sp.SP_ArrowForward)):
            self.actions[name].setIcon(self.style().standardIcon(icon))
            self.actions[name].setIconText(name.capitalize())
        for name, action in self.view.edit_actions().items():
            self.actions[name] = action
        for name in (
            "undo",
            "redo",
            "quit",
            "train",
            "pause",
            "stop",
            "evaluate",
            "save",
            "open",
            "new",
        ):
            self.addAction(self.actions[name])

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        file_menu.addAction(self.actions["new"])
        file_menu.addAction(self.actions["open"])
        self.examples_menu = file_menu.addMenu("Open &Example")
        for path in example_projects():
            action = self.examples_menu.addAction(self._example_title(path))
            action.setData(str(path))
            action.triggered.connect(lambda _c=False, p=path: self.open_example(p))
        self.recent_menu = file_menu.addMenu("Open &Recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        file_menu.addSeparator()
        file_menu.addAction(self.actions["save"])
        file_menu.addAction(self.actions["save_as"])
        file_menu.addSeparator()
        file_menu.addAction(self.actions["import_onnx"])
        file_menu.addAction(self.actions["export_onnx"])
        file_menu.addAction(self.actions["export_model"])
        file_menu.addSeparator()
        file_menu.addAction(self.actions["quit"])

        edit_menu = bar.addMenu("&Edit")
        edit_menu.addAction(self.actions["undo"])
        edit_menu.addAction(self.actions["redo"])
        edit_menu.addSeparator()
        for name in ("cut", "copy", "paste", "duplicate", "delete"):
            edit_menu.addAction(self.actions[name])
        edit_menu.addSeparator()
        edit_menu.addAction(self.actions["select_all"])

        view_menu = bar.addMenu("&View")
        for name in ("fit", "zoom_in", "zoom_out", "zoom_reset"):
            view_menu.addAction(self.actions[name])
        view_menu.addSeparator()
        panels = view_menu.addMenu("&Panels")
        for dock in (
            self.palette_dock,
            self.data_dock,
            self.inspector_dock,
            self.training_dock,
            self.diagnostics_dock,
            self.summary_dock,
        ):
            panels.addAction(dock.toggleViewAction())

        train_menu = bar.addMenu("&Train")
        for name in ("train", "pause", "stop"):
            train_menu.addAction(self.actions[name])
        train_menu.addSeparator()
        train_menu.addAction(self.actions["evaluate"])

    def _build_toolbar(self) -> None:
        bar = QToolBar("Main", self)
        bar.setObjectName("mainToolbar")
        bar.setMovable(False)
        bar.setIconSize(QSize(16, 16))
        bar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        for name in ("new", "open", "save"):
            bar.addAction(self.actions[name])
        bar.addSeparator()
        bar.addAction(self.actions["undo"])
        bar.addAction(self.actions["redo"])
        bar.addSeparator()
        bar.addAction(self.actions["fit"])
        bar.addSeparator()
        for name in ("train", "pause", "stop"):
            bar.addAction(self.actions[name])
        bar.addSeparator()
        bar.addAction(self.actions["export_onnx"])
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, bar)
        self.toolbar = bar

    def _build_status_bar(self) -> None:
        status = self.statusBar()
        self.graph_status = QLabel()
        self.graph_status.setObjectName("graphStatus")
        self.training_status = QLabel()
        self.training_status.setObjectName("trainingStatus")
        self.zoom_status = QLabel("100%")
        self.zoom_status.setObjectName("zoomStatus")
        status.addPermanentWidget(self.training_status)
        status.addPermanentWidget(self.graph_status)
        status.addPermanentWidget(self.zoom_status)

    def _connect(self) -> None:
        self.palette_panel.layerActivated.connect(self.view.add_layer_at_center)
        self.view.graph_scene.selectedNodesChanged.connect(self.inspector.show_nodes)
        self.view.statusMessage.connect(lambda text: self.statusBar().showMessage(text, 4000))
        self.view.zoomChanged.connect(lambda z: self.zoom_status.setText(f"{z:.0%}"))
        self.diagnostics_panel.nodeActivated.connect(self.view.focus_node)
        tp = self.training_panel
        tp.train_requested.connect(self.train)
        tp.pause_requested.connect(self.controller.toggle_pause)
        tp.stop_requested.connect(self.controller.stop)
        # The schedule preview counts steps per epoch from the dataset's training samples.
        self.data_panel.preview_ready.connect(lambda p: tp.set_train_samples(p.train_samples))
        c = self.controller
        c.state_changed.connect(self._on_state)
        c.started.connect(self._on_started)
        c.batch_end.connect(self._on_batches)
        c.epoch_end.connect(tp.add_epoch)
        c.finished.connect(lambda r: self._on_run_ended(r, "finished"))
        c.stopped.connect(lambda r: self._on_run_ended(r, "stopped"))
        c.failed.connect(self._on_failed)
        c.message.connect(tp.log)
        c.task_finished.connect(self._on_task_finished)
        c.task_failed.connect(self._on_task_failed)
        self._on_state("idle")

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
        self._update_title()
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
            text = f"✗ {_count(len(errors), 'error')}"
            state = "error"
        else:
            result = self.editor.check_result if self.editor is not None else None
            layers = sum(1 for n in self.editor.graph.nodes if n.type != "Input")
            params = result.total_params if result is not None else 0
            text = f"✓ {_count(layers, 'layer')} · {params:,} params"
            if warnings:
                text += f" · {_count(len(warnings), 'warning')}"
            state = "warning" if warnings else "ok"
        self.graph_status.setText(text)
        self.graph_status.setProperty("state", state)
        self.graph_status.setProperty("role", state)
        self.graph_status.setToolTip(
            "\n".join(d.text() for d in errors[:8]) if errors else "The graph is valid"
        )
        self.graph_status.style().unpolish(self.graph_status)
        self.graph_status.style().polish(self.graph_status)

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

    def _on_modified(self, _modified: bool) -> None:
        self._update_title()

    def _on_path_changed(self, path) -> None:
        self._update_title()
        if path is not None:
            self.settings.add_recent_file(path)

    def _update_title(self) -> None:
        if self.editor is None:
            self.setWindowTitle(APP_NAME)
            return
        modified = self.editor.modified
        name = self.editor.graph.name
        where = f" — {self.editor.path.name}" if self.editor.path is not None else ""
        self.setWindowTitle(f"{name}{'*' if modified else ''}{where} — {APP_NAME}")

    def _project_dir(self) -> Path | None:
        if self.editor is None or self.editor.path is None:
            return None
        return Path(self.editor.path).parent

    def _write_training(self, training: dict[str, Any]) -> None:
        if self.editor is not None:
            self.editor.set_settings("training", training)

    def _write_dataset(self, dataset: dict[str, Any]) -> None:
        if self.editor is not None:
            self.editor.set_settings("dataset", dataset)
            self.statusBar().showMessage("Dataset changed (Ctrl+Z undoes it)", 4000)

    def _fit_check(self, dataset) -> list[str]:
        """What stops this graph training on ``dataset`` (empty when it fits)."""
        from engine.graph.session import data_diagnostics  # noqa: PLC0415

        if self.editor is None:
            return []
        result = self.editor.check_result
        if not result.ok:
            return ["the graph has errors; fix them to check it against the data"]
        found = data_diagnostics(result, self.editor.project, dataset)
        return [d.text() for d in found if d.severity == "error"]

    # -- files ------------------------------------------------------------------------------------

    def confirm_discard(self) -> bool:
        """True when the open project may be replaced (or the window closed): no run is
        going on (or the user stopped it), and the project is unmodified, saved now, or the
        user chose to discard the changes."""
        if self.controller.busy:
            answer = QMessageBox.question(
                self, "Stop training?", "The model is still training. Stop it?"
            )
            if answer != QMessageBox.StandardButton.Yes:
                return False
            self.controller.shutdown()
        if self.editor is None or not self.editor.modified:
            return True
        answer = QMessageBox.question(
            self,
            "Save changes?",
            f"'{self.editor.graph.name}' has unsaved changes. Save them first?",
            QMessageBox.StandardButton.Save
            | QMessageBox.StandardButton.Discard
            | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Save,
        )
        if answer == QMessageBox.StandardButton.Save:
            return self.save()
        return answer == QMessageBox.StandardButton.Discard

    def new_project(self, ask: bool = True) -> bool:
        if ask and not self.confirm_discard():
            return False
        self.set_editor(EditorDocument())
        self.statusBar().showMessage("New project: drag layers from the palette", 4000)
        return True

    def open_dialog(self) -> bool:
        if not self.confirm_discard():
            return False
        path, _ = QFileDialog.getOpenFileName(
            self, "Open project", str(self.settings.last_directory()), PROJECT_FILTER
        )
        return bool(path) and self.open_project(path, ask=False)

    def open_project(self, path: str | Path, ask: bool = True) -> bool:
        """Open a project file; a file that cannot be read is reported, nothing changes."""
        if ask and not self.confirm_discard():
            return False
        path = Path(path)
        try:
            editor = EditorDocument.open(path)
        except ProjectError as err:
            self._warn("Cannot open project", _project_error_text(err))
            self.settings.remove_recent_file(path)
            return False
        except OSError as err:
            self._warn("Cannot open project", f"{path}: {err.strerror or err}")
            return False
        self.set_editor(editor)
        self.settings.add_recent_file(path)
        self.settings.set_last_directory(path)
        for warning in editor.project.warnings:
            self.training_panel.log(f"{path.name}: {warning}")
        self.statusBar().showMessage(f"Opened {path}", 4000)
        return True

    def open_example(self, path: str | Path, ask: bool = True) -> bool:
        """Open an example as a new, unsaved project (saving asks where, so the shipped
        example stays as it is)."""
        if ask and not self.confirm_discard():
            return False
        path = Path(path)
        try:
            project = Project.load(path)
        except (ProjectError, OSError) as err:
            self._warn("Cannot open example", str(err))
            return False
        _detach(project)
        self.set_editor(EditorDocument(project))
        self.statusBar().showMessage(f"Example '{project.name}' opened: press F5 to train", 6000)
        return True

    def save(self) -> bool:
        if self.editor is None:
            return False
        if self.editor.path is None:
            return self.save_as()
        return self._save_to(self.editor.path)

    def save_as(self) -> bool:
        if self.editor is None:
            return False
        start = (
            self.editor.path
            or self.settings.last_directory() / f"{_file_stem(self.editor.graph.name)}.lcproj"
        )
        path, _ = QFileDialog.getSaveFileName(self, "Save project as", str(start), PROJECT_FILTER)
        if not path:
            return False
        path = Path(path)
        if path.suffix.lower() != ".lcproj":
            path = path.with_name(path.name + ".lcproj")
        return self._save_to(path)

    def _save_to(self, path: Path) -> bool:
        try:
            saved = self.editor.save(path)
        except (OSError, ValueError) as err:
            self._warn("Cannot save", f"The project could not be written to {path}:\n{err}")
            return False
        self.settings.add_recent_file(saved)
        self.settings.set_last_directory(saved)
        self._update_title()
        self.statusBar().showMessage(f"Saved {saved}", 4000)
        return True

    def _fill_recent_menu(self) -> None:
        menu = self.recent_menu
        menu.clear()
        recent = self.settings.recent_files()
        for path in recent:
            action = menu.addAction(path.name)
            action.setToolTip(str(path))
            action.setStatusTip(str(path))
            action.triggered.connect(lambda _c=False, p=path: self.open_project(p))
        if not recent:
            empty = menu.addAction("No recent projects")
            empty.setEnabled(False)
        menu.addSeparator()
        clear = menu.addAction("Clear Recent")
        clear.setEnabled(bool(recent))
        clear.triggered.connect(self.settings.clear_recent_files)

    @staticmethod
    def _example_title(path: Path) -> str:
        try:
            return Project.load(path).name
        except (ProjectError, OSError):
            return path.stem

    # -- ONNX and model files ---------------------------------------------------------------------

    def import_onnx_dialog(self) -> bool:
        if not self.confirm_discard():
            return False
        source, _ = QFileDialog.getOpenFileName(
            self, "Import ONNX model", str(self.settings.last_directory()), "ONNX models (*.onnx)"
        )
        if not source:
            return False
        default = Path(source).with_suffix(".lcproj")
        target, _ = QFileDialog.getSaveFileName(
            self, "Save the imported project as", str(default), PROJECT_FILTER
        )
        if not target:
            return False
        return self.import_onnx(source, target)

    def import_onnx(self, source: str | Path, target: str | Path) -> bool:
        """Import ``source`` (.onnx) as a project ``target`` (.lcproj) with its weights in a
        ``.lcmodel`` beside it (as ``layercanvas import`` does), then open it."""
        from engine.io import save_model  # noqa: PLC0415
        from engine.onnx import OnnxImportError, import_model  # noqa: PLC0415

        source, target = Path(source), Path(target)
        if target.suffix.lower() != ".lcproj":
            target = target.with_name(target.name + ".lcproj")
        weights = target.with_suffix(".lcmodel")
        try:
            result = import_model(source, name=source.stem)
        except OnnxImportError as err:
            issues = [f"• {issue.describe()}" for issue in err.issues[:12]]
            self._warn("Cannot import ONNX model", "\n".join([err.headline, *issues]))
            return False
        except (OSError, ValueError) as err:
            self._warn("Cannot import ONNX model", f"{source}: {err}")
            return False
        project = Project(
            graph=result.graph_document(name=source.stem),
            dataset={},
            training=result.training_defaults(),
            description=f"Imported from {source.name}",
            weights=weights.name,
        )
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            save_model(result.model, weights)
            project.save(target)
        except OSError as err:
            self._warn("Cannot import ONNX model", f"Could not write {target}: {err}")
            return False
        for warning in result.warnings:
            self.training_panel.log(f"Import: {warning}")
        opened = self.open_project(target, ask=False)
        if opened:
            self.statusBar().showMessage(
                f"Imported {source.name}: choose a dataset in the Data panel to train it", 8000
            )
        return opened

    def _model_for_export(self):
        """``(model, note)`` to export: the model trained in this session, else the
        project's weights file, else (after asking) freshly initialised weights."""
        result = self.controller.result
        if result is not None:
            same = result.project_json.get("graph") == self.editor.graph.to_json()
            note = (
                "trained" if same else "trained (the graph changed since; exporting it as trained)"
            )
            return result.model, note
        project = self.editor.project
        if project.weights is not None:
            from engine.io import load_model  # noqa: PLC0415

            path = project.weights_path
            try:
                return load_model(path, compile=False), f"weights from {project.weights}"
            except (OSError, ValueError) as err:
                self._warn("Cannot export", f"The project's weights file could not be read: {err}")
                return None, None
        answer = QMessageBox.question(
            self,
            "Export untrained model?",
            "This model has not been trained yet. Export it with freshly initialised weights?",
        )
        if answer != QMessageBox.StandardButton.Yes:
            return None, None
        from engine.graph.convert import model_from_document  # noqa: PLC0415

        try:
            return model_from_document(self.editor.graph), "untrained"
        except ValueError as err:
            self._warn(
                "Cannot export", f"The graph cannot be built: {describe_error(err, 'Export')}"
            )
            return None, None

    def export_onnx(self, path: str | Path | None = None) -> bool:
        """Export to ONNX (asking where when ``path`` is None), verified with onnxruntime in
        the worker thread; the report is shown when it is done."""
        if self.editor is None or not self._ensure_idle("export"):
            return False
        model, note = self._model_for_export()
        if model is None:
            return False
        if path is None:
            start = self.settings.last_directory() / f"{_file_stem(self.editor.graph.name)}.onnx"
            chosen, _ = QFileDialog.getSaveFileName(
                self, "Export ONNX", str(start), "ONNX models (*.onnx)"
            )
            if not chosen:
                return False
            path = chosen
        path = Path(path)
        if path.suffix.lower() != ".onnx":
            path = path.with_name(path.name + ".onnx")
        metadata = {
            "source": self.editor.graph.name,
            "trained": "false" if note == "untrained" else "true",
        }

        def export():
            from engine.onnx import export_model  # noqa: PLC0415

            return export_model(model, path, metadata=metadata), note

        self.training_panel.log(f"Exporting {note} model to {path}...")
        self.settings.set_last_directory(path)
        return self.controller.run_task("export_onnx", export, "ONNX export")

    def export_trained_model(self, path: str | Path | None = None) -> bool:
        """Save the model trained in this session as a ``.lcmodel`` file."""
        if not self._ensure_idle("save the model"):
            return False
        result = self.controller.result
        if result is None:
            self._warn("No trained model", "Train the model first (F5), then export it.")
            return False
        if path is None:
            start = self.settings.last_directory() / f"{_file_stem(self.editor.graph.name)}.lcmodel"
            chosen, _ = QFileDialog.getSaveFileName(
                self, "Export trained model", str(start), "LayerCanvas models (*.lcmodel)"
            )
            if not chosen:
                return False
            path = chosen
        path = Path(path)
        if path.suffix.lower() != ".lcmodel":
            path = path.with_name(path.name + ".lcmodel")
        from engine.io import save_model  # noqa: PLC0415

        try:
            save_model(result.model, path)
        except (OSError, ValueError, TypeError) as err:
            self._warn("Cannot save the model", f"{path}: {err}")
            return False
        self.settings.set_last_directory(path)
        self.training_panel.log(f"Saved the trained model to {path}")
        self.statusBar().showMessage(f"Saved {path}", 4000)
        self.modelSaved.emit(path)
        return True

    # -- training ---------------------------------------------------------------------------------

    def _ensure_idle(self, what: str) -> bool:
        if self.controller.busy:
            self._warn(
                "Busy",
                f"Cannot {what} while the model is training or exporting. Stop training first.",
            )
            return False
        return True

    def train(self) -> bool:
        if self.editor is None or not self._ensure_idle("start training"):
            return False
        self.editor.refresh()
        errors = [d for d in self.editor.diagnostics if d.severity == "error"]
        if errors:
            self.diagnostics_dock.show()
            self.diagnostics_dock.raise_()
            first = errors[0]
            self._warn(
                "Cannot train yet",
                f"The project has {_count(len(errors), 'problem')}; fix them first "
                f"(see the Problems panel).\n\n{first.text()}",
            )
            return False
        self.training_panel.sketch.set_model(
            None, None, (), "Training... the pad is back when it ends."
        )
        started = self.controller.start(self.editor.project)
        if started:
            self.training_dock.show()
            self.training_dock.raise_()
            self.training_panel.show_message_tab("Curves")
        return started

    def evaluate(self) -> bool:
        if not self._ensure_idle("evaluate"):
            return False
        if self.controller.result is None:
            self._warn("No trained model", "Train the model first (F5), then evaluate it.")
            return False
        return self.controller.evaluate()

    def _on_state(self, state: str) -> None:
        self.training_panel.set_state(state)
        running = state in ("preparing", "training", "paused", "stopping")
        idle = state == "idle"
        self.actions["train"].setEnabled(idle)
        self.actions["pause"].setEnabled(state in ("training", "paused"))
        self.actions["pause"].setText("&Resume" if state == "paused" else "&Pause")
        self.actions["stop"].setEnabled(state in ("preparing", "training", "paused"))
        self.actions["evaluate"].setEnabled(idle)
        for name in ("export_onnx", "export_model", "import_onnx"):
            self.actions[name].setEnabled(idle)
        if not running and state == "idle":
            self.training_status.setText("")

    def _on_started(self, info: RunInfo) -> None:
        description = (
            f"Training '{info.project_name}': {_count(info.parameters, 'parameter')}, "
            f"{info.train_samples:,} training / {info.validation_samples:,} validation samples, "
            f"{info.epochs} epochs of {info.steps_per_epoch} batches"
        )
        self.training_panel.begin_run(info.epochs, description)
        for warning in info.warnings:
            self.training_panel.log(f"Warning: {warning}")

    def _on_batches(self, update: BatchUpdate) -> None:
        panel = self.training_panel
        panel.add_batches(update.x, update.values)
        panel.show_progress(
            update.epoch,
            update.epochs,
            update.samples_done,
            update.samples_total,
            update.samples_per_second,
            update.eta_seconds,
            update.elapsed_seconds,
        )
        self.training_status.setText(
            f"Epoch {update.epoch + 1}/{update.epochs} · {update.fraction:.0%} · "
            f"{format_duration(update.eta_seconds)} left"
        )

    def _on_run_ended(self, result: TrainingResult, how: str) -> None:
        history = result.history
        parts = [f"{k} {v[-1]:.4g}" for k, v in history.items() if v and k != "learning_rate"]
        verb = "Finished" if how == "finished" else "Stopped"
        text = (
            f"{verb} · {result.epochs_completed}/{result.epochs_planned} epochs · "
            f"{format_duration(result.elapsed_seconds)}"
        )
        self.training_panel.end_run(text)
        if parts:
            self.training_panel.log("Final: " + ", ".join(parts))
        self.statusBar().showMessage(text, 8000)
        if result.evaluation is not None:
            self.show_evaluation(result.evaluation)
        self._arm_sketchpad(result)

    def _on_failed(self, message: str) -> None:
        self.training_panel.end_run("Training failed")
        self.training_panel.log(message)
        if self.controller.result is not None:
            self._arm_sketchpad(self.controller.result)
        self._warn("Training failed", message)

    def _arm_sketchpad(self, result: TrainingResult) -> None:
        sketch = self.training_panel.sketch
        if result.task == "classification" and sketch_supports(result.input_shape):
            sketch.set_model(
                self.controller.predict_function(), result.input_shape, result.class_names or ()
            )
        else:
            shape = _fmt_shape(result.input_shape)
            sketch.set_model(
                None, None, (), f"Drawing works with image classifiers; this model takes {shape}."
            )

    def show_evaluation(self, evaluation: Evaluation) -> None:
        """Fill the confusion matrix and the sample grid from an evaluation."""
        panel = self.training_panel
        n = len(evaluation.x_display)
        if evaluation.task == "classification":
            panel.confusion.set_predictions(
                evaluation.y_true,
                evaluation.y_pred,
                evaluation.class_names,
                evaluation.num_classes,
            )
        else:
            panel.confusion.clear("The confusion matrix is for classifiers; this is regression.")
        panel.samples.set_samples(
            SampleSet(
                x=evaluation.x_display,
                y_true=evaluation.y_true[:n],
                y_pred=evaluation.y_pred[:n],
                task=evaluation.task,
                class_names=evaluation.class_names,
                confidence=None if evaluation.confidence is None else evaluation.confidence[:n],
                texts=evaluation.texts,
                feature_names=evaluation.feature_names,
            )
        )
        logs = ", ".join(f"{k} {v:.4g}" for k, v in evaluation.logs.items())
        accuracy = evaluation.accuracy
        summary = f"{evaluation.split} split: {evaluation.total_samples:,} samples"
        if accuracy is not None:
            summary += f", accuracy {accuracy:.1%}"
        panel.log(f"Evaluation on the {summary}" + (f" ({logs})" if logs else ""))

    def _on_task_finished(self, name: str, value: Any) -> None:
        if name == "evaluate":
            self.show_evaluation(value)
            self.training_panel.show_message_tab("Confusion")
        elif name == "export_onnx":
            report, note = value
            text = report.summary()
            self.training_panel.log(f"ONNX export ({note} model): {text}")
            self.statusBar().showMessage(f"Exported {report.path}", 6000)
            self._inform("ONNX export verified", f"Exported the {note} model.\n\n{text}")
            self.onnxExported.emit(report)

    def _on_task_failed(self, name: str, message: str) -> None:
        title = {"export_onnx": "ONNX export failed", "evaluate": "Evaluation failed"}.get(
            name, "Failed"
        )
        self.training_panel.log(message)
        self._warn(title, message)

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

    def _warn(self, title: str, text: str) -> None:
        self.statusBar().showMessage(text.splitlines()[0] if text else title, 8000)
        self._show_box(QMessageBox.Icon.Warning, title, text)

    def _inform(self, title: str, text: str) -> None:
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
        self.settings.save_window(self.saveGeometry(), self.saveState())
        event.accept()


def _detach(project: Project) -> None:
    """Make ``project`` a new, unsaved one that still finds its files: relative paths (the
    weights it starts from, data files) become absolute, then it forgets its own path."""
    from engine.data import FORMATS  # noqa: PLC0415

    base = project.base_dir
    if project.weights is not None:
        project.weights = str(project.weights_path)
    fmt = project.dataset.get("format")
    path_keys = FORMATS[fmt][2] if fmt in FORMATS else set()
    for key in path_keys:
        value = project.dataset.get(key)
        if isinstance(value, str) and value and not Path(value).is_absolute():
            project.dataset[key] = str((base / value).resolve())
    project.path = None


def _project_error_text(err: ProjectError) -> str:
    where = f"\nAt: {err.key}" if err.key else ""
    file = f"{err.file}" if err.file else "The project"
    return f"{file} could not be opened.{where}\nProblem: {err.problem}"


def _file_stem(name: str) -> str:
    """A file name from a project name ("Digits CNN" -> "digits_cnn")."""
    stem = "".join(c if c.isalnum() else "_" for c in name.strip().lower()).strip("_")
    return stem or "untitled"


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
    if not opened and project_path is None:
        example = EXAMPLES_DIR / DEFAULT_EXAMPLE
        if example.is_file():
            window.open_example(example, ask=False)
    window.show()
    return int(app.exec())
