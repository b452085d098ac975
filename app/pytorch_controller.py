"""File ▸ Export PyTorch Package…: the window's project as a standalone PyTorch training
package (what ``layercanvas export --pytorch`` writes; see :mod:`engine.export_pytorch`).

The package is written from the project as it is on the canvas now (saved or not), with
the weights of the model trained in this session when its graph is the canvas's, else the
project's weights file, else the initial weights of a run with the project's seed. The
data is prepared and the files written in the training controller's worker thread; the
result (or the one-line reason it cannot be done, naming the node or setting) is shown
when it is done.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QFileDialog, QMessageBox

from engine.graph.project import Project

if TYPE_CHECKING:
    from app.main_window import MainWindow

__all__ = ["PyTorchController", "pytorch_controller"]

TASK = "export_pytorch"


def pytorch_controller(window: MainWindow) -> PyTorchController:
    """The window's controller, made on first use (the menu calls through this)."""
    controller = getattr(window, "_pytorch_controller", None)
    if controller is None:
        controller = PyTorchController(window)
        window._pytorch_controller = controller
    return controller


class PyTorchController:
    def __init__(self, window: MainWindow):
        self.window = window
        window.controller.task_finished.connect(self._finished)
        window.controller.task_failed.connect(self._failed)

    def export_dialog(self, out_dir: str | Path | None = None) -> bool:
        """Ask for a folder (unless given), then write the package into it in the worker."""
        w = self.window
        if w.editor is None or not w.training.ensure_idle("export"):
            return False
        if out_dir is None:
            chosen = QFileDialog.getExistingDirectory(
                w, "Export PyTorch package into folder", str(w.settings.last_directory())
            )
            if not chosen:
                return False
            out_dir = chosen
        out = Path(out_dir)
        force = False
        if out.is_dir() and any(out.iterdir()):
            answer = QMessageBox.question(
                w,
                "Folder not empty",
                f"{out} already holds files. Write the package's files into it (files of the "
                "same name are replaced, others are kept)?",
            )
            if answer not in (QMessageBox.StandardButton.Yes, QMessageBox.StandardButton.Discard):
                return False
            force = True
        # The worker reads a snapshot (through JSON: the live document has listeners).
        live = w.editor.project
        project = Project.from_json(live.to_json())
        project.path = live.path  # relative data and weights paths start there
        result = w.controller.result
        weights_from = None
        if result is not None and result.project_json.get("graph") == project.graph.to_json():
            weights_from = result.model

        def export():
            from engine.export_pytorch import export_pytorch  # noqa: PLC0415

            return export_pytorch(project, out, force=force, weights_from=weights_from)

        w.training_panel.log(f"Writing a PyTorch package to {out}...")
        w.settings.set_last_directory(out / "model.py")
        return w.controller.run_task(TASK, export, "PyTorch export")

    def _finished(self, name: str, report) -> None:
        if name != TASK:
            return
        w = self.window
        lines = [
            f"Wrote {report.out_dir}: a PyTorch package of {report.parameters:,} "
            f"{'trained' if report.trained else 'initial'} weights, "
            f"{report.train_samples:,} training and {report.validation_samples:,} "
            "validation samples.",
            *(f"Note: {note}." for note in report.notes),
            "",
            "Train it on two processes with:",
            f"cd {report.out_dir} && torchrun --nproc_per_node=2 train.py",
        ]
        w.training_panel.log(lines[0])
        w.statusBar().showMessage(f"Exported the PyTorch package to {report.out_dir}", 6000)
        w.inform("PyTorch package written", "\n".join(lines))

    def _failed(self, name: str, message: str) -> None:
        if name == TASK:  # the window's own handler shows the message; say what failed
            self.window.training_panel.log("PyTorch export failed")
