"""Undo commands: every user edit of a project, as a ``QUndoCommand`` that changes the
document and nothing else (DESIGN.md, "The app").

Each command calls the mutation methods of :class:`engine.graph.document.GraphDocument` (or,
for the dataset and training settings, :meth:`app.editing.EditorDocument.apply_settings`);
the canvas, inspector and problems panel follow through the document's events, so a
command never touches a widget. ``undo`` puts the document back *exactly* — node and edge
order included — so ``doc.to_json()`` before an edit equals ``doc.to_json()`` after its undo.

Multi-item edits are macros: :class:`RemoveItems` and :class:`PasteNodes` are one command
made of steps (remove an edge, remove a node, add a node, ...) that undo in reverse order,
which restores every list position. A drag is one :class:`MoveNodes` on release, holding
every moved node.

The clipboard format for copy, paste and duplicate (:func:`nodes_to_clip`)::

    {"format": "layercanvas-nodes", "nodes": [<node JSON>, ...], "edges": [<edge JSON>, ...]}

holds the chosen nodes and only the edges between them; pasting gives every node a fresh id.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from PySide6.QtGui import QUndoCommand

from engine.graph.document import Edge, GraphDocument, GraphFormatError, Node

__all__ = [
    "CLIP_FORMAT",
    "AddNode",
    "ApplyChanges",
    "Connect",
    "Disconnect",
    "MoveEdge",
    "MoveNodes",
    "PasteNodes",
    "RemoveItems",
    "RemoveNode",
    "RenameGraph",
    "RenameNode",
    "SetParams",
    "SetSettings",
    "clip_to_graph",
    "node_id_problem",
    "nodes_to_clip",
]

CLIP_FORMAT = "layercanvas-nodes"

# Ids name layers (in model files and ONNX graphs), so keep them to what every tool reads.
_ID_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")
_MAX_ID_LENGTH = 64

# Command ids for QUndoStack merging (any distinct positive ints).
_SET_PARAMS_ID = 1001


def node_id_problem(doc: GraphDocument, new_id: str, old_id: str | None = None) -> str | None:
    """Why ``new_id`` cannot name a node (``None`` if it can). ``old_id`` is the node being
    renamed, which may keep its own id."""
    if not isinstance(new_id, str) or not new_id.strip():
        return "a layer needs a name"
    if new_id != new_id.strip():
        return "a name cannot start or end with a space"
    if len(new_id) > _MAX_ID_LENGTH:
        return f"a name has at most {_MAX_ID_LENGTH} characters"
    if not _ID_PATTERN.match(new_id):
        return "use letters, digits, '_', '.' or '-', starting with a letter or '_'"
    if new_id != old_id and new_id in doc:
        return f"another layer is already called '{new_id}'"
    return None


class AddNode(QUndoCommand):
    """Add one node (a fresh id derived from its type unless ``node_id`` is given)."""

    def __init__(
        self,
        doc: GraphDocument,
        type_name: str,
        position: Sequence[float],
        params: Mapping[str, Any] | None = None,
        node_id: str | None = None,
        parent: QUndoCommand | None = None,
    ):
        super().__init__(parent)
        self.doc = doc
        node_id = node_id or doc.unique_id(type_name)
        # The snapshot every redo re-adds, so redo after undo gives the very same node.
        self._node = Node(node_id, type_name, copy.deepcopy(dict(params or {})), list(position))
        self.setText(f"Add {type_name} '{node_id}'")

    @property
    def node_id(self) -> str:
        return self._node.id

    def redo(self) -> None:
        self.doc.add_node(self._node.copy())

    def undo(self) -> None:
        self.doc.remove_node(self._node.id)


class RemoveNode(QUndoCommand):
    """Remove a node and the edges touching it; undo puts them back at their old indices."""

    def __init__(self, doc: GraphDocument, node_id: str, parent: QUndoCommand | None = None):
        super().__init__(parent)
        self.doc = doc
        self.node_id = node_id
        self._removed = None
        self.setText(f"Delete '{node_id}'")

    def redo(self) -> None:
        self._removed = self.doc.remove_node(self.node_id)

    def undo(self) -> None:
        self.doc.restore_node(self._removed)


class Disconnect(QUndoCommand):
    """Remove one edge; undo puts it back at its old index."""

    def __init__(self, doc: GraphDocument, edge: Edge, parent: QUndoCommand | None = None):
        super().__init__(parent)
        self.doc = doc
        self.edge = edge
        self._index = None
        self.setText(f"Disconnect {edge.source} → {edge.target}")

    def redo(self) -> None:
        self._index = self.doc.remove_edge(self.edge)

    def undo(self) -> None:
        self.doc.add_edge(self.edge, self._index)


class _Macro(QUndoCommand):
    """One undo step made of several: ``redo`` runs the steps in order, ``undo`` undoes
    them in reverse, so every list index the steps recorded is valid when it is used.

    (Qt's own child commands are not used: a child made from Python is owned twice, by its
    wrapper and by its C++ parent, and is freed twice when a command is dropped unpushed.)
    """

    def __init__(self, parent: QUndoCommand | None = None):
        super().__init__(parent)
        self.steps: list[QUndoCommand] = []

    def redo(self) -> None:
        for step in self.steps:
            step.redo()

    def undo(self) -> None:
        for step in reversed(self.steps):
            step.undo()


class RemoveItems(_Macro):
    """Delete nodes and edges as one macro: first the chosen edges that no chosen node
    takes with it, then the nodes (each with its edges)."""

    def __init__(
        self,
        doc: GraphDocument,
        node_ids: Iterable[str],
        edges: Iterable[Edge] = (),
        parent: QUndoCommand | None = None,
    ):
        super().__init__(parent)
        present = {n.id for n in doc.nodes}
        ids = list(dict.fromkeys(i for i in node_ids if i in present))
        gone = set(ids)
        edge_list = list(dict.fromkeys(edges))
        own_edges = [
            e for e in edge_list if e in doc.edges and e.source not in gone and e.target not in gone
        ]
        self.steps = [Disconnect(doc, edge) for edge in own_edges]
        self.steps += [RemoveNode(doc, node_id) for node_id in ids]
        self.count = len(ids) + len(own_edges)
        if len(ids) == 1 and not own_edges:
            self.setText(f"Delete '{ids[0]}'")
        elif not ids and len(own_edges) == 1:
            self.setText(f"Delete edge {own_edges[0].source} → {own_edges[0].target}")
        else:
            self.setText(f"Delete {self.count} items")


class MoveNodes(QUndoCommand):
    """Move nodes to new positions: one command for a whole drag, released once."""

    def __init__(
        self,
        doc: GraphDocument,
        positions: Mapping[str, Sequence[float]],
        parent: QUndoCommand | None = None,
        text: str | None = None,
    ):
        super().__init__(parent)
        self.doc = doc
        self.new = {i: list(p) for i, p in positions.items()}
        self.old = {i: list(doc.node(i).position) for i in self.new}
        count = len(self.new)
        default = f"Move '{next(iter(self.new))}'" if count == 1 else f"Move {count} layers"
        self.setText(text or default)

    def redo(self) -> None:
        for node_id, position in self.new.items():
            self.doc.move_node(node_id, position)

    def undo(self) -> None:
        for node_id, position in self.old.items():
            self.doc.move_node(node_id, position)


class SetParams(QUndoCommand):
    """Replace a node's parameters. Consecutive changes of the same parameter of the same
    node (spin-box steps) merge into one undo step."""

    def __init__(
        self,
        doc: GraphDocument,
        node_id: str,
        params: Mapping[str, Any],
        changed: str | None = None,
        parent: QUndoCommand | None = None,
    ):
        super().__init__(parent)
        self.doc = doc
        self.node_id = node_id
        self.old = copy.deepcopy(doc.node(node_id).params)
        self.new = copy.deepcopy(dict(params))
        self.changed = changed
        what = f"{changed} of" if changed else "parameters of"
        self.setText(f"Change {what} '{node_id}'")

    def id(self) -> int:  # noqa: A003 - Qt's name
        return _SET_PARAMS_ID

    def mergeWith(self, other: QUndoCommand) -> bool:  # noqa: N802 - Qt's name
        if not isinstance(other, SetParams) or self.changed is None:
            return False
        if (other.node_id, other.changed) != (self.node_id, self.changed):
            return False
        self.new = copy.deepcopy(other.new)
        # Stepping a value back to where it started leaves nothing to undo.
        self.setObsolete(self.new == self.old)
        return True

    def redo(self) -> None:
        self.doc.set_params(self.node_id, self.new)

    def undo(self) -> None:
        self.doc.set_params(self.node_id, self.old)


class RenameNode(QUndoCommand):
    """Give a node a new id (its layer name); its edges follow."""

    def __init__(
        self, doc: GraphDocument, old_id: str, new_id: str, parent: QUndoCommand | None = None
    ):
        super().__init__(parent)
        self.doc = doc
        self.old_id = old_id
        self.new_id = new_id
        self.setText(f"Rename '{old_id}' to '{new_id}'")

    def redo(self) -> None:
        self.doc.rename_node(self.old_id, self.new_id)

    def undo(self) -> None:
        self.doc.rename_node(self.new_id, self.old_id)


class Connect(QUndoCommand):
    """Connect ``source``'s output to input ``port`` of ``target``. An input port holds one
    edge, so edges already into that port are removed by the same command."""

    def __init__(
        self,
        doc: GraphDocument,
        source: str,
        target: str,
        port: int = 0,
        parent: QUndoCommand | None = None,
    ):
        super().__init__(parent)
        self.doc = doc
        self.edge = Edge(source, target, int(port))
        self._replaced: list[tuple[int, Edge]] = []
        self.setText(f"Connect {source} → {target}")

    def redo(self) -> None:
        self._replaced = []
        for edge in list(self.doc.edges):
            if edge.target == self.edge.target and edge.target_port == self.edge.target_port:
                self._replaced.append((self.doc.remove_edge(edge), edge))
        self.doc.add_edge(self.edge)

    def undo(self) -> None:
        self.doc.remove_edge(self.edge)
        for index, edge in reversed(self._replaced):
            self.doc.add_edge(edge, index)


class MoveEdge(_Macro):
    """Take an edge off its input port and plug it into another (``target``, ``port``),
    replacing what was there, as one step."""

    def __init__(
        self,
        doc: GraphDocument,
        edge: Edge,
        target: str,
        port: int = 0,
        parent: QUndoCommand | None = None,
    ):
        super().__init__(parent)
        self.steps = [Disconnect(doc, edge), Connect(doc, edge.source, target, port)]
        self.setText(f"Reconnect {edge.source} → {target}")


class PasteNodes(_Macro):
    """Add the nodes of clipboard data (see :func:`nodes_to_clip`) with fresh ids, moved by
    ``offset``, and the edges between them. ``created`` maps old ids to the new ones."""

    def __init__(
        self,
        doc: GraphDocument,
        data: Any,
        offset: Sequence[float] = (0, 0),
        parent: QUndoCommand | None = None,
        verb: str = "Paste",
    ):
        super().__init__(parent)
        graph = clip_to_graph(data)
        taken = {n.id for n in doc.nodes}
        self.created: dict[str, str] = {}
        dx, dy = offset
        for node in graph.nodes:
            if node.id in self.created:  # duplicated ids in hand-made clipboard text
                continue
            new_id = _fresh_id(node.id, node.type, taken)
            taken.add(new_id)
            self.created[node.id] = new_id
            x, y = node.position
            self.steps.append(AddNode(doc, node.type, [x + dx, y + dy], node.params, new_id))
        for edge in graph.edges:
            if edge.source in self.created and edge.target in self.created:
                source, target = self.created[edge.source], self.created[edge.target]
                self.steps.append(Connect(doc, source, target, edge.target_port))
        count = len(self.created)
        self.setText(f"{verb} {count} layer" + ("" if count == 1 else "s"))


def _fresh_id(old_id: str, type_name: str, taken: set[str]) -> str:
    """``dense_3`` -> ``dense_4`` (the next free number on the same stem), else from the
    type."""
    match = re.match(r"^(.*?)(?:_(\d+))?$", old_id)
    stem = match.group(1) if match and match.group(1) else type_name.lower()
    i = int(match.group(2)) + 1 if match and match.group(2) else 1
    while f"{stem}_{i}" in taken:
        i += 1
    return f"{stem}_{i}"


class RenameGraph(QUndoCommand):
    """Rename the project (the graph's name)."""

    def __init__(self, doc: GraphDocument, name: str, parent: QUndoCommand | None = None):
        super().__init__(parent)
        self.doc = doc
        self.new = name
        self.old = doc.name
        self.setText(f"Rename project to '{name}'")

    def redo(self) -> None:
        self.doc.rename(self.new)

    def undo(self) -> None:
        self.doc.rename(self.old)


class SetSettings(QUndoCommand):
    """Replace the project's ``"dataset"`` or ``"training"`` settings.

    ``target`` is anything with ``settings(key)`` and ``apply_settings(key, value)`` — the
    :class:`app.editing.EditorDocument`, which owns the project and announces the change.
    """

    KEYS = ("dataset", "training")

    def __init__(
        self, target, key: str, value: Mapping[str, Any], parent: QUndoCommand | None = None
    ):
        super().__init__(parent)
        if key not in self.KEYS:
            raise ValueError(f"settings key must be one of {self.KEYS}, got {key!r}")
        self.target = target
        self.key = key
        self.old = copy.deepcopy(target.settings(key))
        self.new = copy.deepcopy(dict(value))
        self.setText(f"Change {key} settings")

    def redo(self) -> None:
        self.target.apply_settings(self.key, copy.deepcopy(self.new))

    def undo(self) -> None:
        self.target.apply_settings(self.key, copy.deepcopy(self.old))


class ApplyChanges(_Macro):
    """New training settings and node parameters as one undo step (an experiment's "Apply
    best"). ``target`` is the :class:`app.editing.EditorDocument`; ``training`` replaces the
    training settings (``None``: unchanged), ``nodes`` maps node ids to their new parameters.
    Only what differs becomes a step; ``changes_anything`` says whether any does."""

    def __init__(
        self,
        target,
        training: Mapping[str, Any] | None,
        nodes: Mapping[str, Mapping[str, Any]],
        text: str,
        parent: QUndoCommand | None = None,
    ):
        super().__init__(parent)
        if training is not None and dict(training) != target.settings("training"):
            self.steps.append(SetSettings(target, "training", training))
        for node_id, params in nodes.items():
            if dict(params) != target.graph.node(node_id).params:
                self.steps.append(SetParams(target.graph, node_id, params))
        self.setText(text)

    @property
    def changes_anything(self) -> bool:
        return bool(self.steps)


# -- clipboard data --------------------------------------------------------------------------------


def nodes_to_clip(doc: GraphDocument, node_ids: Iterable[str]) -> dict[str, Any]:
    """The chosen nodes (in document order) and the edges among them, as clipboard data."""
    chosen = set(node_ids)
    nodes = [n.to_json() for n in doc.nodes if n.id in chosen]
    edges = [e.to_json() for e in doc.edges if e.source in chosen and e.target in chosen]
    return {"format": CLIP_FORMAT, "nodes": nodes, "edges": edges}


def clip_to_graph(data: Any) -> GraphDocument:
    """Read clipboard data; ``ValueError`` with a clear message when it is not ours."""
    if not isinstance(data, dict) or data.get("format") != CLIP_FORMAT:
        raise ValueError("the clipboard holds no LayerCanvas layers")
    try:
        return GraphDocument.from_json({"nodes": data.get("nodes"), "edges": data.get("edges", [])})
    except GraphFormatError as err:
        raise ValueError(f"the copied layers are damaged ({err})") from None
