"""ONNX import and export and trained-model files, for the window.

Import turns an ``.onnx`` file into a project with its weights beside it (as the CLI's
``layercanvas import`` does) and opens it. Export runs in the training controller's worker
thread and is verified with onnxruntime; the report arrives through
``app.training_wiring``. Every failure is one message naming the file and the problem.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QFileDialog, QMessageBox

from app.file_controller import PROJECT_FILTER
from app.training_controller import describe_error
from app.ui_text import file_stem
from engine.graph.project import Project

if TYPE_CHECKING:
    from app.main_window import MainWindow

__all__ = ["ExportController"]


class ExportController:
    """Imports ONNX models and exports the window's model; see the module docstring."""

    def __init__(self, window: MainWindow):
        self.window = window

    def import_onnx_dialog(self) -> bool:
        w = self.window
        if not w.files.confirm_discard():
            return False
        source, _ = QFileDialog.getOpenFileName(
            w, "Import ONNX model", str(w.settings.last_directory()), "ONNX models (*.onnx)"
        )
        if not source:
            return False
        default = Path(source).with_suffix(".lcproj")
        target, _ = QFileDialog.getSaveFileName(
            w, "Save the imported project as", str(default), PROJECT_FILTER
        )
        if not target:
            return False
        return self.import_onnx(source, target)

    def import_onnx(self, source: str | Path, target: str | Path) -> bool:
        """Import ``source`` (.onnx) as a project ``target`` (.lcproj) with its weights in a
        ``.lcmodel`` beside it (as ``layercanvas import`` does), then open it."""
        from engine.io import save_model  # noqa: PLC0415
        from engine.onnx import OnnxImportError, import_model  # noqa: PLC0415

        w = self.window
        source, target = Path(source), Path(target)
        if target.suffix.lower() != ".lcproj":
            target = target.with_name(target.name + ".lcproj")
        weights = target.with_suffix(".lcmodel")
        try:
            result = import_model(source, name=source.stem)
        except OnnxImportError as err:
            issues = [f"• {issue.describe()}" for issue in err.issues[:12]]
            w.warn("Cannot import ONNX model", "\n".join([err.headline, *issues]))
            return False
        except (OSError, ValueError) as err:
            w.warn("Cannot import ONNX model", f"{source}: {err}")
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
            w.warn("Cannot import ONNX model", f"Could not write {target}: {err}")
            return False
        for warning in result.warnings:
            w.training_panel.log(f"Import: {warning}")
        opened = w.files.open_project(target, ask=False)
        if opened:
            w.statusBar().showMessage(
                f"Imported {source.name}: choose a dataset in the Data panel to train it", 8000
            )
            # An image classifier: offer its folder of images and the mean/std it expects.
            from app.transfer_import_dialog import offer_image_dataset  # noqa: PLC0415

            offer_image_dataset(w, result.model, result.metadata)
        return opened

    def _model_for_export(self):
        """``(model, note)`` to export: the model trained in this session, else the
        project's weights file, else (after asking) freshly initialised weights."""
        w = self.window
        result = w.controller.result
        if result is not None:
            same = result.project_json.get("graph") == w.editor.graph.to_json()
            note = (
                "trained" if same else "trained (the graph changed since; exporting it as trained)"
            )
            return result.model, note
        project = w.editor.project
        if project.weights is not None:
            from engine.io import load_model  # noqa: PLC0415

            path = project.weights_path
            try:
                return load_model(path, compile=False), f"weights from {project.weights}"
            except (OSError, ValueError) as err:
                w.warn("Cannot export", f"The project's weights file could not be read: {err}")
                return None, None
        answer = QMessageBox.question(
            w,
            "Export untrained model?",
            "This model has not been trained yet. Export it with freshly initialised weights?",
        )
        if answer != QMessageBox.StandardButton.Yes:
            return None, None
        from engine.graph.convert import model_from_document  # noqa: PLC0415

        try:
            return model_from_document(w.editor.graph), "untrained"
        except ValueError as err:
            w.warn("Cannot export", f"The graph cannot be built: {describe_error(err, 'Export')}")
            return None, None

    def export_onnx(self, path: str | Path | None = None) -> bool:
        """Export to ONNX (asking where when ``path`` is None), verified with onnxruntime in
        the worker thread; the report is shown when it is done."""
        w = self.window
        if w.editor is None or not w.training.ensure_idle("export"):
            return False
        model, note = self._model_for_export()
        if model is None:
            return False
        if path is None:
            start = w.settings.last_directory() / f"{file_stem(w.editor.graph.name)}.onnx"
            chosen, _ = QFileDialog.getSaveFileName(
                w, "Export ONNX", str(start), "ONNX models (*.onnx)"
            )
            if not chosen:
                return False
            path = chosen
        path = Path(path)
        if path.suffix.lower() != ".onnx":
            path = path.with_name(path.name + ".onnx")
        metadata = {
            "source": w.editor.graph.name,
            "trained": "false" if note == "untrained" else "true",
        }

        def export():
            from engine.onnx import export_model  # noqa: PLC0415

            return export_model(model, path, metadata=metadata), note

        w.training_panel.log(f"Exporting {note} model to {path}...")
        w.settings.set_last_directory(path)
        return w.controller.run_task("export_onnx", export, "ONNX export")

    def export_trained_model(self, path: str | Path | None = None) -> bool:
        """Save the model trained in this session as a ``.lcmodel`` file."""
        w = self.window
        if not w.training.ensure_idle("save the model"):
            return False
        result = w.controller.result
        if result is None:
            w.warn("No trained model", "Train the model first (F5), then export it.")
            return False
        if path is None:
            start = w.settings.last_directory() / f"{file_stem(w.editor.graph.name)}.lcmodel"
            chosen, _ = QFileDialog.getSaveFileName(
                w, "Export trained model", str(start), "LayerCanvas models (*.lcmodel)"
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
            w.warn("Cannot save the model", f"{path}: {err}")
            return False
        w.settings.set_last_directory(path)
        w.training_panel.log(f"Saved the trained model to {path}")
        w.statusBar().showMessage(f"Saved {path}", 4000)
        w.modelSaved.emit(path)
        return True
