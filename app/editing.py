"""The editing document: one open project, its undo stack, and its live diagnostics.

:class:`EditorDocument` wraps a :class:`engine.graph.project.Project` for the window. It
owns the pure-Python :class:`~engine.graph.document.GraphDocument` (the only source of
truth), a ``QUndoStack`` whose clean state *is* the "modified" flag, the file path, and a
:class:`~engine.graph.compiler.GraphChecker` that re-checks the project after every change
and announces the result as Qt signals.

It is also the *editor* the canvas, palette, inspector and problems panel are given
(``widgets.canvas.api.GraphEditor``): every edit they request — add, delete, move, connect,
change a parameter, rename, paste — becomes one undo command (:mod:`app.commands`) pushed
on the stack. Widgets never change the document themselves.

Re-checking: an edit made through the undo stack is re-checked once, synchronously, when
the stack reports the command done (``indexChanged``) — one check per command however many
document events a macro emits. Changes made outside the stack are re-checked on the next
turn of the event loop, or at once when :attr:`check_result` is read.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import shiboken6
from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QUndoStack

from app import commands
from app.graph_edits import GraphEdits
from engine.graph.compiler import CheckResult, GraphChecker
from engine.graph.diagnostics import Diagnostic
from engine.graph.document import GraphDocument, GraphEvent
from engine.graph.project import Project, ProjectCheck, load_project

__all__ = ["DEFAULT_TRAINING", "EditorDocument"]

#: Training settings of a new, empty project (the user changes them in the training panel).
DEFAULT_TRAINING: dict[str, Any] = {
    "loss": "sparse_categorical_crossentropy",
    "optimizer": {"name": "adam", "learning_rate": 0.001},
    "metrics": ["accuracy"],
    "batch_size": 32,
    "epochs": 20,
    "seed": 0,
}


class EditorDocument(GraphEdits, QObject):
    """An open project: document, undo stack, path, modified flag and live diagnostics.

    Signals:
        checked(CheckResult): the graph was re-checked (after every change).
        diagnosticsChanged(list): every diagnostic of the project — the graph's and the
            dataset/training settings' — each with its ``key`` in the file.
        graphChanged(GraphEvent): relays each document event (for views that do not
            subscribe to the document themselves).
        settingsChanged(str): ``"dataset"`` or ``"training"`` settings were replaced.
        modifiedChanged(bool): the document became modified, or clean (saved / undone back).
        pathChanged(object): the project file path (a ``Path``) changed on "save as".
    """

    checked = Signal(object)
    diagnosticsChanged = Signal(list)
    graphChanged = Signal(object)
    settingsChanged = Signal(str)
    modifiedChanged = Signal(bool)
    pathChanged = Signal(object)

    def __init__(self, project: Project | None = None, parent: QObject | None = None):
        super().__init__(parent)
        if project is None:
            project = Project(GraphDocument("Untitled"), training=copy.deepcopy(DEFAULT_TRAINING))
        self._project = project
        self._checker = GraphChecker()
        self._check: ProjectCheck | None = None
        self._dirty = True
        self._flush_pending = False
        self.undo_stack = QUndoStack(self)
        # Bound methods (not lambdas): Qt drops these connections when this object dies.
        self.undo_stack.cleanChanged.connect(self._on_clean_changed)
        # indexChanged comes once a push/undo/redo (a whole macro) has finished.
        self.undo_stack.indexChanged.connect(self._on_index_changed)
        self._unsubscribe = project.graph.subscribe(self._on_graph_event)

    @classmethod
    def open(cls, path: str | os.PathLike, parent: QObject | None = None) -> EditorDocument:
        """Load a project file; raises :class:`engine.graph.project.ProjectError` (with the
        file, key and problem) when it cannot be read."""
        return cls(load_project(path), parent)

    # -- what the window reads ---------------------------------------------------------------------

    @property
    def project(self) -> Project:
        return self._project

    @property
    def graph(self) -> GraphDocument:
        return self._project.graph

    @property
    def path(self) -> Path | None:
        return self._project.path

    @property
    def modified(self) -> bool:
        return not self.undo_stack.isClean()

    @property
    def title(self) -> str:
        """The project name with ``*`` when modified (for the window title)."""
        return self.graph.name + ("*" if self.modified else "")

    @property
    def project_check(self) -> ProjectCheck:
        self.refresh()
        return self._check

    @property
    def check_result(self) -> CheckResult:
        """The graph's latest check (per-node shapes, parameter counts, diagnostics)."""
        return self.project_check.graph

    @property
    def diagnostics(self) -> list[Diagnostic]:
        """Every diagnostic of the project (graph and settings)."""
        return list(self.project_check.diagnostics)

    def settings(self, key: str) -> dict[str, Any]:
        """A copy of the ``"dataset"`` or ``"training"`` settings."""
        return copy.deepcopy(getattr(self._project, _settings_key(key)))

    # -- checking ----------------------------------------------------------------------------------

    def refresh(self) -> None:
        """Re-check now if anything changed since the last check (and emit the signals)."""
        if not self._dirty:
            return
        self._dirty = False
        self._check = self._project.check(self._checker)
        self.checked.emit(self._check.graph)
        self.diagnosticsChanged.emit(list(self._check.diagnostics))

    def _on_clean_changed(self, clean: bool) -> None:
        self.modifiedChanged.emit(not clean)

    def _on_index_changed(self, _index: int) -> None:
        self.refresh()

    def _mark_dirty(self) -> None:
        self._dirty = True
        if not self._flush_pending:
            self._flush_pending = True
            QTimer.singleShot(0, self._flush)

    def _flush(self) -> None:
        self._flush_pending = False
        self.refresh()

    def _on_graph_event(self, event: GraphEvent) -> None:
        if not shiboken6.isValid(self):  # deleted without close(): stop listening
            self._unsubscribe()
            return
        self._mark_dirty()
        self.graphChanged.emit(event)

    # -- files -------------------------------------------------------------------------------------

    def save(self, path: str | os.PathLike | None = None) -> Path:
        """Write the project atomically (to ``path``, or where it came from) and mark the
        document clean. Raises ``ValueError`` when there is no path and ``OSError`` when the
        file cannot be written (the document then stays modified)."""
        old = self._project.path
        target = self._project.save(path)
        self.undo_stack.setClean()
        if old is None or Path(old) != target:
            self.pathChanged.emit(target)
        return target

    def close(self) -> None:
        """Stop listening to the document (before the editor is dropped)."""
        self._unsubscribe()

    # -- edits (the GraphEditor protocol, app.graph_edits): each pushes one undo command ---------

    def push(self, command) -> None:
        self.undo_stack.push(command)

    def set_settings(self, key: str, value: Mapping[str, Any]) -> None:
        """Replace the dataset or training settings as one undo step."""
        if dict(value) != getattr(self._project, _settings_key(key)):
            self.push(commands.SetSettings(self, key, value))

    def apply_settings(self, key: str, value: dict[str, Any]) -> None:
        """Called by :class:`app.commands.SetSettings` only (the undoable path)."""
        setattr(self._project, _settings_key(key), value)
        self._mark_dirty()
        self.settingsChanged.emit(key)


def _settings_key(key: str) -> str:
    if key not in commands.SetSettings.KEYS:
        raise ValueError(f"settings key must be one of {commands.SetSettings.KEYS}, got {key!r}")
    return key


def demo(project_path: str | None = None) -> int:
    """Show the editing widgets on a project in a bare window (``python -m app.editing
    [PROJECT]``), for trying them out apart from the main window."""
    import sys  # noqa: PLC0415

    from PySide6.QtWidgets import QApplication, QMainWindow  # noqa: PLC0415

    from widgets.canvas import EditorWorkspace  # noqa: PLC0415
    from widgets.canvas.theme import apply_style  # noqa: PLC0415

    app = QApplication.instance() or QApplication(sys.argv[:1])
    apply_style(app)
    editor = EditorDocument.open(project_path) if project_path else EditorDocument()
    window = QMainWindow()
    workspace = EditorWorkspace(editor)
    window.setCentralWidget(workspace)
    window.setWindowTitle(f"{editor.title} — LayerCanvas")
    workspace.view.statusMessage.connect(lambda text: window.statusBar().showMessage(text, 4000))
    window.resize(1440, 860)
    window.show()
    workspace.view.fit_to_view()
    return app.exec()


if __name__ == "__main__":
    import sys

    sys.exit(demo(sys.argv[1] if len(sys.argv) > 1 else None))
