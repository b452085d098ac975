"""Project files for the window: new, open (file, example, recent), save, save as, and the
"save changes?" question before a project is replaced or the window closed.

A file that cannot be read is reported in one message naming the file and the problem, and
the open project stays as it was.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QFileDialog, QMenu, QMessageBox

from app.editing import EditorDocument
from app.ui_text import file_stem, project_error_text
from engine.graph.project import Project, ProjectError

if TYPE_CHECKING:
    from app.main_window import MainWindow

__all__ = ["EXAMPLES_DIR", "PROJECT_FILTER", "FileController", "detach", "example_projects"]

EXAMPLES_DIR = Path(__file__).resolve().parents[1] / "resources" / "examples"
PROJECT_FILTER = "LayerCanvas projects (*.lcproj)"


def example_projects() -> list[Path]:
    """The example projects shipped in ``resources/examples``, by file name."""
    return sorted(EXAMPLES_DIR.glob("*.lcproj"))


class FileController:
    """Opens and saves the window's project; see the module docstring."""

    def __init__(self, window: MainWindow):
        self.window = window

    @property
    def editor(self) -> EditorDocument | None:
        return self.window.editor

    def confirm_discard(self) -> bool:
        """True when the open project may be replaced (or the window closed): no run is
        going on (or the user stopped it), and the project is unmodified, saved now, or the
        user chose to discard the changes."""
        w = self.window
        if w.controller.busy:
            answer = QMessageBox.question(
                w, "Stop training?", "The model is still training. Stop it?"
            )
            if answer != QMessageBox.StandardButton.Yes:
                return False
            w.controller.shutdown()
        if self.editor is None or not self.editor.modified:
            return True
        answer = QMessageBox.question(
            w,
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
        self.window.set_editor(EditorDocument())
        self.window.statusBar().showMessage("New project: drag layers from the palette", 4000)
        return True

    def open_dialog(self) -> bool:
        if not self.confirm_discard():
            return False
        path, _ = QFileDialog.getOpenFileName(
            self.window,
            "Open project",
            str(self.window.settings.last_directory()),
            f"{PROJECT_FILTER};;Keras models (*.keras *.h5)",
        )
        if path and Path(path).suffix.lower() in (".keras", ".h5"):
            from app.keras_controller import keras_controller  # noqa: PLC0415

            return keras_controller(self.window).import_dialog(path)  # a project is made first
        return bool(path) and self.open_project(path, ask=False)

    def open_project(self, path: str | Path, ask: bool = True) -> bool:
        """Open a project file; a file that cannot be read is reported, nothing changes."""
        w = self.window
        if ask and not self.confirm_discard():
            return False
        path = Path(path)
        try:
            editor = EditorDocument.open(path)
        except ProjectError as err:
            w.warn("Cannot open project", project_error_text(err))
            w.settings.remove_recent_file(path)
            return False
        except OSError as err:
            w.warn("Cannot open project", f"{path}: {err.strerror or err}")
            return False
        w.set_editor(editor)
        w.settings.add_recent_file(path)
        w.settings.set_last_directory(path)
        for warning in editor.project.warnings:
            w.training_panel.log(f"{path.name}: {warning}")
        w.statusBar().showMessage(f"Opened {path}", 4000)
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
            self.window.warn("Cannot open example", str(err))
            return False
        detach(project)
        self.window.set_editor(EditorDocument(project))
        self.window.statusBar().showMessage(
            f"Example '{project.name}' opened: press F5 to train", 6000
        )
        return True

    def save(self) -> bool:
        if self.editor is None:
            return False
        if self.editor.path is None:
            return self.save_as()
        return self.save_to(self.editor.path)

    def save_as(self) -> bool:
        if self.editor is None:
            return False
        start = (
            self.editor.path
            or self.window.settings.last_directory() / f"{file_stem(self.editor.graph.name)}.lcproj"
        )
        path, _ = QFileDialog.getSaveFileName(
            self.window, "Save project as", str(start), PROJECT_FILTER
        )
        if not path:
            return False
        path = Path(path)
        if path.suffix.lower() != ".lcproj":
            path = path.with_name(path.name + ".lcproj")
        return self.save_to(path)

    def save_to(self, path: Path) -> bool:
        w = self.window
        try:
            saved = self.editor.save(path)
        except (OSError, ValueError) as err:
            w.warn("Cannot save", f"The project could not be written to {path}:\n{err}")
            return False
        w.settings.add_recent_file(saved)
        w.settings.set_last_directory(saved)
        w.update_title()
        w.statusBar().showMessage(f"Saved {saved}", 4000)
        w.projectSaved.emit(saved)
        return True

    def fill_recent_menu(self) -> None:
        menu = self.window.recent_menu
        menu.clear()
        recent = self.window.settings.recent_files()
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
        clear.triggered.connect(self.window.settings.clear_recent_files)

    def fill_examples_menu(self, menu: QMenu) -> None:
        for path in example_projects():
            action = menu.addAction(_example_title(path))
            action.setData(str(path))
            action.triggered.connect(lambda _c=False, p=path: self.open_example(p))


def _example_title(path: Path) -> str:
    try:
        return Project.load(path).name
    except (ProjectError, OSError):
        return path.stem


def detach(project: Project) -> None:
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
