"""Keras files in the window: File ▸ Open/Import accepts ``.keras`` and Keras 2 ``.h5``
models, File ▸ Export ▸ Keras model… and Keras code… write them.

Import does what ``layercanvas import`` does (:mod:`app.cli_keras`): the project and a
``.lcmodel`` with the file's weights are written beside each other, then opened; the notes
(inserted Permute nodes, shared layers copied, compile arguments left out) go to the
training log. Export writes the window's model (trained in this session, else the project's
weights, else after asking, untrained) with the project's training settings as its compile
arguments. Every failure is one message naming the file and the problem.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QFileDialog

from app.file_controller import PROJECT_FILTER
from app.ui_text import file_stem
from engine.graph.project import Project

if TYPE_CHECKING:
    from app.main_window import MainWindow

__all__ = ["KERAS_FILTER", "KerasController", "keras_controller"]

KERAS_FILTER = "Keras models (*.keras *.h5)"


def keras_controller(window: MainWindow) -> KerasController:
    """The window's controller, made on first use (menus call through this)."""
    controller = getattr(window, "_keras_controller", None)
    if controller is None:
        controller = KerasController(window)
        window._keras_controller = controller
    return controller


class KerasController:
    def __init__(self, window: MainWindow):
        self.window = window

    def import_dialog(self, source: str | Path | None = None) -> bool:
        w = self.window
        if source is None:  # (File ▸ Open has already asked about unsaved changes)
            if not w.files.confirm_discard():
                return False
            source, _ = QFileDialog.getOpenFileName(
                w, "Import Keras model", str(w.settings.last_directory()), KERAS_FILTER
            )
            if not source:
                return False
        default = Path(source).with_suffix(".lcproj")
        target, _ = QFileDialog.getSaveFileName(
            w, "Save the imported project as", str(default), PROJECT_FILTER
        )
        if not target:
            return False
        return self.import_keras(source, target)

    def import_keras(self, source: str | Path, target: str | Path) -> bool:
        """Import ``source`` as the project ``target`` (+ its ``.lcmodel``), then open it."""
        from engine.io import save_model  # noqa: PLC0415
        from engine.keras_io import KerasImportError, import_keras  # noqa: PLC0415

        w = self.window
        source, target = Path(source), Path(target)
        if target.suffix.lower() != ".lcproj":
            target = target.with_name(target.name + ".lcproj")
        weights = target.with_suffix(".lcmodel")
        try:
            result = import_keras(source, name=source.stem)
        except KerasImportError as err:
            lines = [err.problem, *(f"• {issue.describe()}" for issue in err.issues[:12])]
            w.warn("Cannot import Keras model", f"{source.name}: " + "\n".join(lines))
            return False
        project = Project(
            graph=result.document,
            dataset={},
            training=result.training,
            description=f"Imported from {source.name}",
            weights=weights.name,
        )
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            save_model(result.model, weights)
            project.save(target)
        except OSError as err:
            w.warn("Cannot import Keras model", f"Could not write {target}: {err}")
            return False
        opened = w.files.open_project(target, ask=False)
        for note in result.notes:
            w.training_panel.log(f"Keras import: {note}")
        if opened:
            w.statusBar().showMessage(
                f"Imported {source.name}: choose a dataset in the Data panel to train it", 8000
            )
        return opened

    def _target(self, path, title: str, suffix: str, filter_text: str) -> Path | None:
        w = self.window
        if path is None:
            start = w.settings.last_directory() / f"{file_stem(w.editor.graph.name)}{suffix}"
            chosen, _ = QFileDialog.getSaveFileName(w, title, str(start), filter_text)
            if not chosen:
                return None
            path = chosen
        path = Path(path)
        if path.suffix.lower() != suffix:
            path = path.with_name(path.name + suffix)
        return path

    def export_model(self, path: str | Path | None = None) -> bool:
        """Write a Keras 3 ``.keras`` archive of the window's model."""
        return self._export(path, code=False)

    def export_code(self, path: str | Path | None = None) -> bool:
        """Write Keras code (a ``.py`` script) that rebuilds, compiles and fits the model."""
        return self._export(path, code=True)

    def _export(self, path, code: bool) -> bool:
        from engine.keras_io import KerasExportError, export_keras, keras_code  # noqa: PLC0415
        from engine.safe_files import write_text_atomic  # noqa: PLC0415

        w = self.window
        if w.editor is None or not w.training.ensure_idle("export"):
            return False
        model, note = w.exports._model_for_export()
        if model is None:
            return False
        if code:
            path = self._target(path, "Export Keras code", ".py", "Python scripts (*.py)")
        else:
            path = self._target(path, "Export Keras model", ".keras", "Keras models (*.keras)")
        if path is None:
            return False
        training = w.editor.project.training
        try:
            if code:
                write_text_atomic(path, keras_code(model, training))
            else:
                export_keras(model, path, training)
        except KerasExportError as err:
            w.warn("Cannot export to Keras", str(err))
            return False
        except OSError as err:
            w.warn("Cannot export to Keras", f"Could not write {path}: {err.strerror or err}")
            return False
        w.settings.set_last_directory(path)
        what = "Keras code" if code else "Keras model"
        w.training_panel.log(f"Exported the {note} model as {what} to {path}")
        w.statusBar().showMessage(f"Wrote {path}", 4000)
        return True
