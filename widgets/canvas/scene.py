"""The canvas scene: a projection of a graph document.

:class:`GraphScene` creates, updates and removes node and edge items in response to the
document's events — never the other way round — and paints each node with the editor's
latest check (shapes, parameter counts, errors). User gestures on the items become
requests to the editor (see :mod:`widgets.canvas.api`):

- dragging nodes moves the items freely (snapped to the grid) and, on release, asks for one
  ``move_nodes`` with every moved node; the document's ``node_moved`` events then put the
  items where the document says;
- dragging from a port draws a rubber edge that snaps to compatible ports (no self loops,
  no cycles) and, released on one, asks for ``connect_ports``;
- Alt-dragging nodes leaves them in place and drops copies (with their internal edges)
  where they were released, one ``paste_nodes``;
- a lone unconnected single-input card released on an edge is spliced into it
  (:mod:`widgets.canvas.edge_drop`), the edge highlighted while it hovers there.
"""

from __future__ import annotations

import shiboken6
from PySide6.QtCore import QPointF, Qt, Signal
from PySide6.QtWidgets import QGraphicsScene

from engine.graph.document import Edge, GraphEvent, Node
from widgets.canvas.api import disconnect_quietly
from widgets.canvas.block_item import BLOCK_TYPE as BLOCK
from widgets.canvas.block_item import make_item, touches_blocks
from widgets.canvas.edge_drop import EdgeHighlight, edge_at, insert_node_into_edge
from widgets.canvas.edge_item import EdgeItem
from widgets.canvas.node_item import NodeItem
from widgets.canvas.scene_connect import PortDragMixin

__all__ = ["GraphScene"]

#: Diagnostics whose edges are themselves wrong (and turn red). Others, such as "needs
#: more inputs", name the edges of their node only for context.
_EDGE_CODES = frozenset(
    {"shape", "cycle", "port_conflict", "too_many_inputs", "port_out_of_range", "dangling_edge"}
)


class GraphScene(PortDragMixin, QGraphicsScene):
    """Shows ``editor.graph`` and forwards edits to ``editor``.

    Signals:
        selectedNodesChanged(list): ids of the selected nodes, in document order.
        statusMessage(str): a short note for the status bar (e.g. why a connection was
            refused).
        blockOpened(str): a block's card was double-clicked (its node id).
    """

    selectedNodesChanged = Signal(list)
    statusMessage = Signal(str)
    blockOpened = Signal(str)

    def __init__(self, editor=None, parent=None):
        super().__init__(parent)
        self.setSceneRect(-50_000, -50_000, 100_000, 100_000)
        self.setItemIndexMethod(QGraphicsScene.ItemIndexMethod.NoIndex)
        self.editor = None
        self.node_items: dict[str, NodeItem] = {}
        self.edge_items: dict[Edge, list[EdgeItem]] = {}
        self.dragging_nodes = False  # read by NodeItem to snap while the user drags
        self._drag_start: dict[str, QPointF] = {}
        self._connection = None  # the port drag in progress (scene_connect.PortDragMixin)
        self._unsubscribe = None
        self._last_selection: list[str] = []
        self._alt_drag = False
        self.edge_highlight = EdgeHighlight()
        self.addItem(self.edge_highlight)
        self.selectionChanged.connect(self._on_selection_changed)
        if editor is not None:
            self.set_editor(editor)

    # -- the document ------------------------------------------------------------------------------

    @property
    def graph(self):
        return self.editor.graph if self.editor is not None else None

    def set_editor(self, editor) -> None:
        """Show another editor's graph (``None``: an empty, inert canvas)."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        if self.editor is not None:
            disconnect_quietly(self.editor.checked, self.apply_check)
        self.cancel_connection()
        for items in list(self.edge_items.values()):
            for item in items:
                self.removeItem(item)
        for item in list(self.node_items.values()):
            self.removeItem(item)
        self.node_items.clear()
        self.edge_items.clear()
        self.editor = editor
        if editor is None:
            return
        for node in editor.graph.nodes:
            self._add_node_item(node)
        # Ports first, for all nodes in one pass (a big project opens in linear time), then
        # the edges onto them.
        self._refresh_ports(self.node_items)
        for edge in editor.graph.edges:
            self._add_edge_item(edge, sync=False)
        self._refresh_ports(self.node_items)
        self._unsubscribe = editor.graph.subscribe(self._on_event)
        editor.checked.connect(self.apply_check)
        self.apply_check(editor.check_result)

    def _on_event(self, event: GraphEvent) -> None:
        if not shiboken6.isValid(self):  # the scene was deleted while the document lives on
            if self._unsubscribe is not None:
                self._unsubscribe()
            return
        kind = event.kind
        if kind == "node_added":
            self._add_node_item(event.node)
            touched = {event.node_id}
            for edge in self.graph.edges:  # edges a file had waiting for this id
                if event.node_id in (edge.source, edge.target) and edge not in self.edge_items:
                    self._add_edge_item(edge)
                    touched.update((edge.source, edge.target))
            self._refresh_ports(touched)
        elif kind == "node_removed":
            item = self.node_items.pop(event.node_id, None)
            if item is not None:
                touched = self._remove_edges_touching(event.node_id)
                self.removeItem(item)
                self._refresh_ports(touched)
        elif kind == "node_moved":
            item = self.node_items.get(event.node_id)
            if item is not None:
                item.setPos(QPointF(*event.new))
        elif kind == "node_renamed":
            item = self.node_items.pop(event.old, None)
            if item is not None:
                item.node_id = event.new  # (a card without inputs is not synced below)
                self.node_items[event.new] = item
                touched = self._remove_edges_touching(event.old) | {event.new}
                for edge in self.graph.edges:
                    if event.new in (edge.source, edge.target) and edge not in self.edge_items:
                        self._add_edge_item(edge)
                        touched.update((edge.source, edge.target))
                self._refresh_ports(touched)
            self._emit_selection(force=True)
        elif kind == "params_changed":
            self._sync_node(event.node_id)
        elif kind == "edge_added":
            self._add_edge_item(event.edge)
            self._refresh_ports({event.edge.source, event.edge.target})
        elif kind == "edge_removed":
            items = self.edge_items.get(event.edge)
            if items:
                self.removeItem(items.pop())
                if not items:
                    del self.edge_items[event.edge]
            self._refresh_ports({event.edge.source, event.edge.target})
        if touches_blocks(event):  # a block card shows its definition and its uses
            self._refresh_ports([i for i, c in self.node_items.items() if c.type_name == BLOCK])

    def _add_node_item(self, node: Node) -> None:
        if node.id in self.node_items:
            return  # a duplicate id from a file: the compiler reports it, the first is shown
        item = make_item(node, lambda: getattr(self.editor, "blocks_root", None))
        self.node_items[node.id] = item
        self.addItem(item)

    def _used_ports(self, node_id: str) -> int:
        ports = [e.target_port for e in self.graph.edges if e.target == node_id]
        return max(ports) + 1 if ports else 0

    def _sync_node(self, node_id: str) -> None:
        item = self.node_items.get(node_id)
        if item is not None and node_id in self.graph:
            item.sync(self.graph.node(node_id), self._used_ports(node_id))

    def _add_edge_item(self, edge: Edge, sync: bool = True) -> None:
        source = self.node_items.get(edge.source)
        target = self.node_items.get(edge.target)
        if source is None or target is None or edge.target_port < 0:
            return  # a dangling edge: the problems panel explains it
        if sync:
            self._sync_node(edge.target)  # a variadic target grows a port first
        port = target.input_port(edge.target_port)
        if port is None:
            return
        item = EdgeItem(edge, source.output, port)
        self.edge_items.setdefault(edge, []).append(item)
        self.addItem(item)

    def _remove_edges_touching(self, node_id: str) -> set[str]:
        """Drop the edge items at a node; returns the nodes at their other ends."""
        touched = set()
        for edge in [e for e in self.edge_items if node_id in (e.source, e.target)]:
            touched.update((edge.source, edge.target))
            for item in self.edge_items.pop(edge):
                self.removeItem(item)
        touched.discard(node_id)
        return touched

    def _refresh_ports(self, node_ids) -> None:
        """Port counts (variadic layers grow a free port) and which ports are connected, for
        the nodes an event touched; their edges follow ports that moved."""
        items = [self.node_items[i] for i in node_ids if i in self.node_items]
        if not items:
            return
        connected_in = {(e.target, e.target_port) for e in self.edge_items}
        connected_out = {e.source for e in self.edge_items}
        nodes = {n.id: n for n in self.graph.nodes}
        used: dict[str, int] = {}
        for e in self.graph.edges:
            used[e.target] = max(used.get(e.target, 0), e.target_port + 1)
        for item in items:
            node = nodes.get(item.node_id)
            if node is not None:
                item.sync(node, used.get(item.node_id, 0))
            for port in item.inputs:
                port.set_connected((item.node_id, port.index) in connected_in)
            item.output.set_connected(item.node_id in connected_out)
        ids = {item.node_id for item in items}
        for edge, edge_items in self.edge_items.items():  # edges follow ports that moved
            if edge.source in ids or edge.target in ids:
                for edge_item in edge_items:
                    edge_item.update_path()

    # -- the check ---------------------------------------------------------------------------------

    def apply_check(self, result) -> None:
        """Paint every node with its report and diagnostics, and mark broken edges."""
        if result is None:
            return
        for node_id, item in self.node_items.items():
            report, found = result.nodes.get(node_id), result.for_node(node_id)
            # After an edit most cards read the same: repaint only those that changed.
            if report != item.report or list(found) != item.diagnostics:
                item.set_report(report, found)
        edge_errors: dict[str, str] = {}
        for d in result.diagnostics:
            if d.is_error and d.code in _EDGE_CODES:
                for edge_id in d.edge_ids:
                    edge_errors.setdefault(edge_id, d.text())
        for edge, items in self.edge_items.items():
            source = result.nodes.get(edge.source)
            shape = source.output_shape if source is not None else None
            error = edge_errors.get(edge.id)
            for item in items:
                if getattr(item, "shown_check", None) != (shape, error):
                    item.shown_check = (shape, error)  # what it shows, to skip repeats
                    item.set_error(error)
                    item.update_tooltip(shape)

    # -- selection ---------------------------------------------------------------------------------

    def selected_node_ids(self) -> list[str]:
        chosen = {i.node_id for i in self.selectedItems() if isinstance(i, NodeItem)}
        if self.graph is None:
            return sorted(chosen)
        return [n.id for n in self.graph.nodes if n.id in chosen]

    def selected_edges(self) -> list[Edge]:
        return [i.edge for i in self.selectedItems() if isinstance(i, EdgeItem)]

    def select_nodes(self, node_ids) -> None:
        wanted = set(node_ids)
        self.blockSignals(True)
        try:
            self.clearSelection()
            for node_id in wanted:
                item = self.node_items.get(node_id)
                if item is not None:
                    item.setSelected(True)
        finally:
            self.blockSignals(False)
        self._on_selection_changed()

    def _on_selection_changed(self) -> None:
        for item in self.node_items.values():
            item.setZValue(1 if item.isSelected() else 0)
        self._emit_selection()

    def _emit_selection(self, force: bool = False) -> None:
        ids = self.selected_node_ids()
        if force or ids != self._last_selection:
            self._last_selection = ids
            self.selectedNodesChanged.emit(ids)

    # -- moving nodes (one command per drag, on release) -------------------------------------------

    def mousePressEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().mousePressEvent(event)
        if isinstance(self.mouseGrabberItem(), NodeItem) and self.editor is not None:
            self._drag_start = {
                i.node_id: QPointF(i.pos()) for i in self.selectedItems() if isinstance(i, NodeItem)
            }
            self.dragging_nodes = True
            self._alt_drag = bool(event.modifiers() & Qt.KeyboardModifier.AltModifier)

    def mouseMoveEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().mouseMoveEvent(event)
        if self.dragging_nodes:
            self.edge_highlight.show_edge(self, self._splice_target())

    def _splice_target(self) -> Edge | None:
        """The edge a lone dragged card would be spliced into if released now."""
        if self._alt_drag or len(self._drag_start) != 1:
            return None
        node_id = next(iter(self._drag_start))
        item = self.node_items.get(node_id)
        if item is None or any(node_id in (e.source, e.target) for e in self.edge_items):
            return None
        return edge_at(self, item.sceneBoundingRect().center(), {node_id})

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().mouseReleaseEvent(event)
        if not self.dragging_nodes:
            return
        splice = self._splice_target()
        self.edge_highlight.show_edge(self, None)
        self.dragging_nodes = False
        starts, self._drag_start = self._drag_start, {}
        moves = {}
        for node_id, start in starts.items():
            item = self.node_items.get(node_id)
            if item is None or item.pos() == start:
                continue
            moves[node_id] = [item.pos().x(), item.pos().y()]
        if moves and self._alt_drag:
            # The originals go back (below); copies land where the drag ended.
            node_id, pos = next(iter(moves.items()))
            offset = (pos[0] - starts[node_id].x(), pos[1] - starts[node_id].y())
            created = self.editor.duplicate_nodes(list(starts), offset)
            self._reset_items(starts)
            self.select_nodes(created)
            return
        if moves and splice is not None:
            node_id, pos = next(iter(moves.items()))
            if insert_node_into_edge(self.editor, splice, node_id, pos):
                moves = {}
        if moves:
            self.editor.move_nodes(moves)
        self._reset_items(starts)

    def _reset_items(self, starts) -> None:
        # Whatever the editor did, the items show the document's positions.
        for node_id in starts:
            item = self.node_items.get(node_id)
            if item is not None and node_id in self.graph:
                x, y = self.graph.node(node_id).position
                if item.pos() != QPointF(x, y):
                    item.setPos(QPointF(x, y))

    def node_item_moved(self, item: NodeItem) -> None:
        """Keep the edges of a moving card attached (called by the card)."""
        for items in self.edge_items.values():
            for edge_item in items:
                if item in (edge_item.source_port.node_item, edge_item.target_port.node_item):
                    edge_item.update_path()
