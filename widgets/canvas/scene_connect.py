"""Connecting ports by dragging, for the canvas scene.

Dragging from a port draws a rubber edge that snaps to compatible ports — the other
direction, another node, and no edge that would close a cycle — and, released on one,
asks the editor for ``connect_ports``. From a connected input the existing edge is picked
up instead: dropped on another input it is reconnected, dropped in empty space removed.
:class:`PortDragMixin` holds this gesture; :class:`widgets.canvas.scene.GraphScene` mixes
it in and owns the items it reads (``node_items``, ``edge_items``, ``editor``).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from PySide6.QtCore import QPointF

from engine.graph.document import Edge
from widgets.canvas import theme
from widgets.canvas.edge_item import RubberEdge
from widgets.canvas.node_item import NodeItem
from widgets.canvas.port_item import INPUT, OUTPUT, PortItem

__all__ = ["PortDragMixin"]


@dataclass
class _Connection:
    """A connection being dragged from ``port``; ``picked`` is the edge lifted off a
    connected input (its item hidden meanwhile), which the drag moves or removes."""

    port: PortItem
    rubber: RubberEdge
    candidates: list[PortItem] = field(default_factory=list)
    target: PortItem | None = None
    picked: Edge | None = None


class PortDragMixin:
    """The port-dragging gesture of the scene (see the module docstring)."""

    _connection: _Connection | None = None

    @property
    def connecting(self) -> bool:
        return self._connection is not None

    def begin_connection(self, port: PortItem) -> bool:
        """Start dragging an edge from ``port``. From a connected input the existing edge is
        picked up instead: it hangs from its source and can be dropped on another input,
        or in empty space to remove it."""
        if self.editor is None or self._connection is not None:
            return False
        picked, origin = None, port
        if port.kind == INPUT:
            picked = next(
                (
                    e
                    for e in self.edge_items
                    if (e.target, e.target_port) == (port.node_id, port.index)
                ),
                None,
            )
            if picked is not None:
                for item in self.edge_items[picked]:
                    item.hide()
                port = self.node_items[picked.source].output
        rubber = RubberEdge()
        self.addItem(rubber)
        self._connection = _Connection(port, rubber, self._candidates(port, picked), picked=picked)
        for candidate in self._connection.candidates:
            candidate.set_highlight("compatible")
        self.update_connection(origin.scenePos())
        return True

    def update_connection(self, pos: QPointF) -> None:
        conn = self._connection
        if conn is None:
            return
        target = self._snap_target(pos)
        if target is not conn.target:
            if conn.target is not None:
                conn.target.set_highlight("compatible")
            if target is not None:
                target.set_highlight("target")
            conn.target = target
        free = target.scenePos() if target is not None else pos
        start, end = (
            (conn.port.scenePos(), free)
            if conn.port.kind == OUTPUT
            else (free, conn.port.scenePos())
        )
        conn.rubber.set_ends(start, end, target is not None)

    def finish_connection(self, pos: QPointF) -> None:
        conn = self._connection
        if conn is None:
            return
        target = self._snap_target(pos)
        self.cancel_connection()
        if conn.picked is not None:
            edge = conn.picked
            if target is None:
                self.editor.disconnect_edge(edge)
                self.statusMessage.emit(f"Disconnected {edge.source} → {edge.target}")
            elif (target.node_id, target.index) != (edge.target, edge.target_port):
                self.editor.reconnect_edge(edge, target.node_id, target.index)
            return
        if target is None:
            if conn.port.kind == OUTPUT and not conn.candidates:
                self.statusMessage.emit("No input can take this output without a cycle")
            return
        if conn.port.kind == OUTPUT:
            source, dest = conn.port, target
        else:
            source, dest = target, conn.port
        self.editor.connect_ports(source.node_id, dest.node_id, dest.index)

    def cancel_connection(self) -> None:
        conn, self._connection = self._connection, None
        if conn is None:
            return
        for candidate in conn.candidates:
            candidate.set_highlight(None)
        self.removeItem(conn.rubber)
        if conn.picked is not None:
            for item in self.edge_items.get(conn.picked, []):
                item.show()

    def _candidates(self, port: PortItem, picked: Edge | None = None) -> list[PortItem]:
        """Ports the dragged one may connect to: the other direction, another node, and no
        edge that would close a cycle (the picked-up edge no longer counts)."""
        edges = [e for e in self.graph.edges if e != picked]
        if port.kind == OUTPUT:
            # source -> T closes a cycle when T already reaches source.
            banned = _reach(edges, port.node_id, upstream=True)
            return [
                p
                for node_id, item in self.node_items.items()
                if node_id not in banned
                for p in item.inputs
            ]
        banned = _reach(edges, port.node_id, upstream=False)
        return [item.output for node_id, item in self.node_items.items() if node_id not in banned]

    def _snap_target(self, pos: QPointF) -> PortItem | None:
        conn = self._connection
        if conn is None or not conn.candidates:
            return None
        best, best_distance = None, theme.PORT_SNAP_DISTANCE
        for port in conn.candidates:
            delta = port.scenePos() - pos
            distance = (delta.x() ** 2 + delta.y() ** 2) ** 0.5
            if distance <= best_distance:
                best, best_distance = port, distance
        if best is not None:
            return best
        # Released over a card: its first free input (or its output), the port a user means.
        for item in self.items(pos):
            if isinstance(item, NodeItem):
                ports = [p for p in conn.candidates if p.node_item is item]
                if not ports:
                    return None
                free = [p for p in ports if not p.connected]
                return (free or ports)[0]
        return None


def _reach(edges, start: str, upstream: bool) -> set[str]:
    """``start`` and every node upstream (or downstream) of it."""
    links: dict[str, list[str]] = {}
    for e in edges:
        a, b = (e.target, e.source) if upstream else (e.source, e.target)
        links.setdefault(a, []).append(b)
    seen = {start}
    queue = deque([start])
    while queue:
        for nxt in links.get(queue.popleft(), []):
            if nxt not in seen:
                seen.add(nxt)
                queue.append(nxt)
    return seen
