"""Dropping a layer onto an edge inserts it there (source → new → target), as one undo step.

Two gestures end here: a layer type dropped from the palette (or picked in the quick-add
box) over an edge, and an existing single-input card, not yet connected, dragged onto an
edge. While something is dragged over an edge, :class:`EdgeHighlight` draws a wide accent
stroke over it, so the user sees where the layer would go.

Several document edits become one undo step through the editor's undo stack macro
(``beginMacro``/``endMacro``): Undo reverts the insertion as a whole.
"""

from __future__ import annotations

from contextlib import contextmanager

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPen
from PySide6.QtWidgets import QGraphicsPathItem

from engine.graph.document import Edge
from widgets.canvas import theme
from widgets.canvas.edge_item import EdgeItem

__all__ = [
    "EdgeHighlight",
    "add_after",
    "edge_at",
    "insert_node_into_edge",
    "insert_type_into_edge",
    "one_step",
    "takes_one_input",
]

_HIT = 14.0  # scene units around the drop point that count as "on the edge"


@contextmanager
def one_step(editor, text: str):
    """Every edit made inside is one undo step named ``text``."""
    stack = editor.undo_stack
    stack.beginMacro(text)
    try:
        yield
    finally:
        stack.endMacro()


def takes_one_input(type_name: str) -> bool:
    from engine.graph.registry_info import layer_info  # noqa: PLC0415

    try:
        info = layer_info(type_name)
    except KeyError:
        return False
    return info.min_inputs <= 1 and (info.max_inputs is None or info.max_inputs >= 1)


def edge_at(scene, pos: QPointF, ignore: set[str] = frozenset()) -> Edge | None:
    """The edge under ``pos`` (not touching a node in ``ignore``), or ``None``."""
    area = QRectF(pos.x() - _HIT, pos.y() - _HIT, 2 * _HIT, 2 * _HIT)
    for item in scene.items(area, Qt.ItemSelectionMode.IntersectsItemShape):
        if isinstance(item, EdgeItem) and item.isVisible():
            edge = item.edge
            if edge.source not in ignore and edge.target not in ignore:
                return edge
    return None


def insert_type_into_edge(editor, edge: Edge, type_name: str, corner) -> str | None:
    """Add a ``type_name`` layer with its top-left at ``corner`` between the ends of
    ``edge``; returns its id (``None`` when the edge is gone or the type takes no input)."""
    if edge not in editor.graph.edges or not takes_one_input(type_name):
        return None
    with one_step(editor, f"Insert {type_name} into {edge.source} → {edge.target}"):
        node_id = editor.add_node(type_name, corner)
        editor.connect_ports(edge.source, node_id, 0)
        editor.connect_ports(node_id, edge.target, edge.target_port)  # replaces ``edge``
    return node_id


def insert_node_into_edge(editor, edge: Edge, node_id: str, corner) -> bool:
    """Move an unconnected single-input node to ``corner`` and splice it into ``edge``."""
    graph = editor.graph
    if edge not in graph.edges or node_id in (edge.source, edge.target):
        return False
    if any(node_id in (e.source, e.target) for e in graph.edges):
        return False
    if not _node_takes_one_input(editor, graph.node(node_id)):
        return False
    with one_step(editor, f"Insert '{node_id}' into {edge.source} → {edge.target}"):
        editor.move_nodes({node_id: corner})
        editor.connect_ports(edge.source, node_id, 0)
        editor.connect_ports(node_id, edge.target, edge.target_port)
    return True


def _node_takes_one_input(editor, node) -> bool:
    if node.type == "Block":  # a block has the ports of its definition's inputs
        name = node.params.get("block")
        blocks = getattr(editor, "blocks_root", editor.graph).blocks
        definition = blocks.get(name) if isinstance(name, str) else None
        return definition is not None and definition.port_count == 1
    return takes_one_input(node.type)


def add_after(editor, type_name: str, corner, after: str | None) -> str:
    """Add a layer at ``corner``, connected after node ``after`` when given (one step)."""
    if after is None or after not in editor.graph or not takes_one_input(type_name):
        return editor.add_node(type_name, corner)
    with one_step(editor, f"Add {type_name} after '{after}'"):
        node_id = editor.add_node(type_name, corner)
        editor.connect_ports(after, node_id, 0)
    return node_id


class EdgeHighlight(QGraphicsPathItem):
    """A wide accent stroke over the edge a drop would split (one per scene, reused)."""

    def __init__(self):
        super().__init__()
        color = QColor(theme.SELECTION)
        color.setAlpha(170)
        pen = QPen(color, 7)
        pen.setCapStyle(Qt.PenCapStyle.RoundCap)
        self.setPen(pen)
        self.setZValue(-0.5)  # above edges (z -1 or 0 below cards), below the cards
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self.edge: Edge | None = None
        self.hide()

    def show_edge(self, scene, edge: Edge | None) -> None:
        self.edge = edge
        items = scene.edge_items.get(edge) if edge is not None else None
        if not items:
            self.hide()
            return
        self.setPath(items[0].path())
        self.show()
