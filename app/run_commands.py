"""Undo commands of the Runs panel: putting a recorded run's graph and settings back.

:class:`ReplaceGraph` swaps every node and edge of the document for another graph's, and
back on undo — the document's own mutations only, so the canvas follows through its events
and ``doc.to_json()`` after undo equals what it was before. :class:`RestoreRun` is the one
undo step "Restore graph" pushes: the graph plus the run's dataset and training settings
(so training again repeats the run), each part only when it differs from what is open.
"""

from __future__ import annotations

import copy
from typing import Any

from PySide6.QtGui import QUndoCommand

from app.commands import SetSettings
from engine.graph.document import GraphDocument

__all__ = ["ReplaceGraph", "RestoreRun"]


class ReplaceGraph(QUndoCommand):
    """Replace all nodes and edges of ``doc`` with those of ``graph`` (its name stays)."""

    def __init__(self, doc: GraphDocument, graph: GraphDocument, parent=None):
        super().__init__(parent)
        self.doc = doc
        self._old = _contents(doc)
        self._new = _contents(graph)
        self.setText("Replace the graph")

    def redo(self) -> None:
        self._put(self._new)

    def undo(self) -> None:
        self._put(self._old)

    def _put(self, contents) -> None:
        nodes, edges, extra = contents
        doc = self.doc
        for node in reversed(doc.nodes):  # each removal takes the node's edges with it
            doc.remove_node(node.id)
        for node in nodes:
            doc.add_node(node.copy())
        for edge in edges:
            doc.add_edge(edge)
        doc.extra = copy.deepcopy(extra)


class RestoreRun(QUndoCommand):
    """One undo step: the run's graph, dataset and training settings back in ``editor``
    (an :class:`app.editing.EditorDocument`). ``project`` is the run's parsed project."""

    def __init__(self, editor, project, run_name: str, parent=None):
        super().__init__(parent)
        self.steps: list[QUndoCommand] = []
        if project.graph.to_json() != editor.graph.to_json():
            self.steps.append(ReplaceGraph(editor.graph, project.graph))
        for key, value in (("dataset", project.dataset), ("training", project.training)):
            if value != editor.settings(key):
                self.steps.append(SetSettings(editor, key, value))
        self.setText(f"Restore the graph of run '{run_name}'")

    @property
    def changes_anything(self) -> bool:
        return bool(self.steps)

    def redo(self) -> None:
        for step in self.steps:
            step.redo()

    def undo(self) -> None:
        for step in reversed(self.steps):
            step.undo()


def _contents(graph: GraphDocument) -> tuple[list, list, dict[str, Any]]:
    return [n.copy() for n in graph.nodes], list(graph.edges), copy.deepcopy(graph.extra)
