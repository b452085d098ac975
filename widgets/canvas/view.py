"""The canvas view: zoom, pan, fit, rubber-band selection, keyboard editing, and the drop
target for layers dragged from the palette.

Gestures: the mouse wheel zooms about the cursor; the middle button, or the left button
with Space held, pans; dragging on empty canvas selects with a rubber band; Delete removes
the selection; Ctrl+C / Ctrl+V / Ctrl+D copy, paste and duplicate; F fits the graph in the
window; Ctrl+0 resets the zoom; Ctrl+L auto-arranges (:mod:`engine.graph.layout`); Tab,
or typing on the empty canvas, opens the quick-add box (:mod:`widgets.canvas.quick_add`).
A layer dropped on an edge is inserted into it (:mod:`widgets.canvas.edge_drop`); big graphs
get a minimap (:mod:`widgets.canvas.minimap`). The same edits are available as
``QAction``s (:meth:`GraphView.edit_actions`) for the window's menus.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QPoint, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QAction, QKeySequence, QPainter
from PySide6.QtWidgets import QGraphicsView, QMenu

from engine.graph import layout
from widgets.canvas import edge_drop, theme
from widgets.canvas.api import LAYER_MIME
from widgets.canvas.edge_item import EdgeItem
from widgets.canvas.minimap import Minimap
from widgets.canvas.node_item import NodeItem
from widgets.canvas.quick_add import QuickAddBox
from widgets.canvas.scene import GraphScene
from widgets.canvas.view_clipboard import ClipboardMixin
from widgets.canvas.view_paint import PaintMixin

__all__ = ["GraphView"]

_ZOOM_STEP = 1.2
#: The least zoom a project opens at: below it card text is too small to read, so a big
#: graph opens at this zoom on its inputs and the minimap shows the rest.
READABLE_ZOOM = 0.7


class GraphView(ClipboardMixin, PaintMixin, QGraphicsView):
    """A view of a :class:`GraphScene` (made here when not given).

    Signals:
        statusMessage(str): a short note for the status bar (a refused paste, a zoom level).
        zoomChanged(float): the zoom factor (1.0 = 100 %).
    """

    statusMessage = Signal(str)
    zoomChanged = Signal(float)

    def __init__(self, scene: GraphScene | None = None, parent=None):
        super().__init__(parent)
        self.graph_scene = scene if scene is not None else GraphScene(parent=self)
        self.setScene(self.graph_scene)
        self.graph_scene.statusMessage.connect(self.statusMessage)
        self.setObjectName("GraphView")
        self.setRenderHints(QPainter.RenderHint.Antialiasing | QPainter.RenderHint.TextAntialiasing)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.FullViewportUpdate)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setDragMode(QGraphicsView.DragMode.RubberBandDrag)
        self.setRubberBandSelectionMode(Qt.ItemSelectionMode.IntersectsItemShape)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setFrameShape(QGraphicsView.Shape.NoFrame)
        self.setAcceptDrops(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self._pan_from: QPointF | None = None
        self._space_held = False
        self._fit_pending = False
        self._actions = self._make_actions()
        # Actions the app adds to a layer's right-click menu (e.g. "Freeze Up to Here").
        self.node_menu_actions: list[QAction] = []
        self.quick_add = QuickAddBox(self)
        self.quick_add.chosen.connect(self._quick_add_chosen)
        self.quick_add.closed.connect(self.setFocus)
        self.minimap = Minimap(self)
        self.zoomChanged.connect(lambda _zoom: self.minimap.refresh())
        self.graph_scene.changed.connect(lambda _rects: self.minimap.refresh())

    @property
    def editor(self):
        return self.graph_scene.editor

    def set_editor(self, editor) -> None:
        self.graph_scene.set_editor(editor)
        # Fitting needs the real viewport size: before the window is shown, wait for it.
        self._fit_pending = not self.isVisible()
        if not self._fit_pending:
            self.fit_to_view(readable=True)
        self.minimap.refresh()

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        if self._fit_pending and self.isVisible():
            self._fit_pending = False
            self.fit_to_view(readable=True)
        self.minimap.refresh()

    def scrollContentsBy(self, dx: int, dy: int) -> None:  # noqa: N802 - Qt's name
        super().scrollContentsBy(dx, dy)
        self.minimap.refresh()

    # -- zoom and pan ------------------------------------------------------------------------------

    def zoom(self) -> float:
        return self.transform().m11()

    def set_zoom(self, factor: float, anchor: QPointF | None = None) -> None:
        factor = min(max(factor, theme.MIN_ZOOM), theme.MAX_ZOOM)
        scale = factor / self.zoom()
        if abs(scale - 1.0) < 1e-9:
            return
        old_anchor = self.transformationAnchor()
        if anchor is None:
            self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.scale(scale, scale)
        self.setTransformationAnchor(old_anchor)
        self.zoomChanged.emit(self.zoom())

    def zoom_in(self) -> None:
        self.set_zoom(self.zoom() * _ZOOM_STEP)

    def zoom_out(self) -> None:
        self.set_zoom(self.zoom() / _ZOOM_STEP)

    def reset_zoom(self) -> None:
        self.set_zoom(1.0)

    def fit_to_view(self, readable: bool = False) -> None:
        """Show the whole graph (at most at 100 %, so a small graph is not blown up). With
        ``readable`` (opening a project) never below :data:`READABLE_ZOOM`: a graph too big
        for that shows its top-left (where the inputs are) and the minimap the rest."""
        items = list(self.graph_scene.node_items.values())
        if not items:
            self.resetTransform()
            self.centerOn(QPointF(0, 0))
            self.zoomChanged.emit(1.0)
            return
        rect = QRectF()
        for item in items:
            rect = rect.united(item.sceneBoundingRect())
        rect = rect.adjusted(-60, -60, 60, 60)
        self.resetTransform()
        self.fitInView(rect, Qt.AspectRatioMode.KeepAspectRatio)
        if self.zoom() > 1.0:
            self.resetTransform()
        elif self.zoom() < theme.MIN_ZOOM:
            self.set_zoom(theme.MIN_ZOOM)
        if readable and self.zoom() < READABLE_ZOOM:
            self.set_zoom(READABLE_ZOOM)
            seen = self.mapToScene(self.viewport().rect()).boundingRect()
            self.centerOn(rect.left() + seen.width() / 2, rect.top() + seen.height() / 2)
        else:
            self.centerOn(rect.center())
        self.zoomChanged.emit(self.zoom())

    def focus_node(self, node_id: str) -> None:
        """Select a node and centre the view on it (e.g. from the problems panel)."""
        item = self.graph_scene.node_items.get(node_id)
        if item is None:
            return
        self.graph_scene.select_nodes([node_id])
        self.centerOn(item.center())

    def wheelEvent(self, event) -> None:  # noqa: N802 - Qt's name
        delta = event.angleDelta().y() or event.angleDelta().x()
        if delta:
            self.set_zoom(self.zoom() * (1.0015**delta), anchor=event.position())
        event.accept()

    def mousePressEvent(self, event) -> None:  # noqa: N802 - Qt's name
        panning = event.button() == Qt.MouseButton.MiddleButton or (
            event.button() == Qt.MouseButton.LeftButton and self._space_held
        )
        if panning:
            self._pan_from = event.position()
            self.viewport().setCursor(Qt.CursorShape.ClosedHandCursor)
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event) -> None:  # noqa: N802 - Qt's name
        if self._pan_from is not None:
            delta = event.position() - self._pan_from
            self._pan_from = event.position()
            h, v = self.horizontalScrollBar(), self.verticalScrollBar()
            h.setValue(h.value() - round(delta.x()))
            v.setValue(v.value() - round(delta.y()))
            event.accept()
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802 - Qt's name
        if self._pan_from is not None:
            self._pan_from = None
            self.viewport().setCursor(
                Qt.CursorShape.OpenHandCursor if self._space_held else Qt.CursorShape.ArrowCursor
            )
            event.accept()
            return
        super().mouseReleaseEvent(event)
        event.accept()  # the view handled it, even when it only ended a rubber band

    # -- keys --------------------------------------------------------------------------------------

    def keyPressEvent(self, event) -> None:  # noqa: N802 - Qt's name
        key = event.key()
        if key == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space_held = True
            self.viewport().setCursor(Qt.CursorShape.OpenHandCursor)
            event.accept()
            return
        if key == Qt.Key.Key_Escape:
            if self.graph_scene.connecting:
                self.graph_scene.cancel_connection()
            else:
                self.graph_scene.clearSelection()
            event.accept()
            return
        if key in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace):
            self.delete_selection()
            event.accept()
            return
        text = event.text()
        plain = not event.modifiers() & ~Qt.KeyboardModifier.ShiftModifier
        if plain and text.isalnum() and self._on_empty_canvas():
            self.open_quick_add(text)
            event.accept()
            return
        # Where the shortcut system did not take a key (no active window, or the window
        # claims the same keys), the canvas's own actions still answer it.
        pressed = QKeySequence(event.keyCombination())
        for action in self._actions.values():
            if any(pressed.matches(k) == QKeySequence.SequenceMatch.ExactMatch
                   for k in action.shortcuts()):  # fmt: skip
                action.trigger()
                event.accept()
                return
        super().keyPressEvent(event)

    def event(self, event) -> bool:
        # Tab would move the focus on; on the canvas it opens the quick-add box.
        if (
            event.type() == QEvent.Type.KeyPress
            and event.key() == Qt.Key.Key_Tab
            and not event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
        ):
            self.open_quick_add()
            return True
        return super().event(event)

    def _on_empty_canvas(self) -> bool:
        """Whether typing here means "find a layer": nothing selected under the cursor."""
        return self.editor is not None and not self.graph_scene.selectedItems()

    def open_quick_add(self, text: str = "") -> None:
        """Open the search box at the mouse (or the view's centre if it is elsewhere)."""
        if self.editor is None or self.quick_add.isVisible():
            return  # (Tab inside the open box reaches this shortcut too: keep what is typed)
        cursor = self.mapFromGlobal(self.cursor().pos())
        if not self.viewport().rect().contains(cursor):
            cursor = self.viewport().rect().center()
        self.quick_add.open_at(
            cursor, self.mapToScene(cursor), text if isinstance(text, str) else ""
        )

    def _quick_add_chosen(self, type_name: str, scene_pos: QPointF) -> None:
        selected = self.graph_scene.selected_node_ids()
        after = selected[0] if len(selected) == 1 else None
        corner = scene_pos - QPointF(theme.NODE_WIDTH / 2, theme.NODE_HEIGHT / 2)
        node_id = edge_drop.add_after(self.editor, type_name, (corner.x(), corner.y()), after)
        self.graph_scene.select_nodes([node_id])
        self.setFocus()

    def keyReleaseEvent(self, event) -> None:  # noqa: N802 - Qt's name
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space_held = False
            if self._pan_from is None:
                self.viewport().setCursor(Qt.CursorShape.ArrowCursor)
            event.accept()
            return
        super().keyReleaseEvent(event)

    def focusOutEvent(self, event) -> None:  # noqa: N802 - Qt's name
        self._space_held = False
        super().focusOutEvent(event)

    # -- edits -------------------------------------------------------------------------------------

    def _make_actions(self) -> dict[str, QAction]:
        specs = [
            ("delete", "Delete", [QKeySequence.StandardKey.Delete], self.delete_selection),
            ("copy", "Copy", [QKeySequence.StandardKey.Copy], self.copy_selection),
            ("cut", "Cut", [QKeySequence.StandardKey.Cut], self.cut_selection),
            ("paste", "Paste", [QKeySequence.StandardKey.Paste], self.paste),
            ("duplicate", "Duplicate", [QKeySequence("Ctrl+D")], self.duplicate_selection),
            ("select_all", "Select All", [QKeySequence.StandardKey.SelectAll], self.select_all),
            ("fit", "Fit to View", [QKeySequence("F")], self.fit_to_view),
            ("arrange", "Auto-arrange", [QKeySequence("Ctrl+L")], self.arrange),
            ("quick_add", "Quick Add Layer…", [QKeySequence("Tab")], self.open_quick_add),
            ("zoom_in", "Zoom In", [QKeySequence.StandardKey.ZoomIn, QKeySequence("Ctrl+=")],
             self.zoom_in),
            ("zoom_out", "Zoom Out", [QKeySequence.StandardKey.ZoomOut], self.zoom_out),
            ("zoom_reset", "Actual Size", [QKeySequence("Ctrl+0")], self.reset_zoom),
        ]  # fmt: skip
        actions = {}
        for name, text, keys, slot in specs:
            action = QAction(text, self)
            action.setShortcuts(keys)
            # Active only while the canvas has focus: Delete in a text field stays local.
            action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            action.triggered.connect(slot)
            self.addAction(action)
            actions[name] = action
        return actions

    def edit_actions(self) -> dict[str, QAction]:
        """The canvas's actions by name (delete, copy, cut, paste, duplicate, select_all,
        fit, arrange, zoom_in, zoom_out, zoom_reset), for menus and toolbars."""
        return dict(self._actions)

    def delete_selection(self) -> None:
        editor = self.editor
        if editor is None:
            return
        nodes = self.graph_scene.selected_node_ids()
        edges = self.graph_scene.selected_edges()
        if nodes or edges:
            editor.remove_items(nodes, edges)

    def arrange(self) -> None:
        """Lay the graph out top to bottom, layered, wrapped to fit this view (one undo
        step), then fit it."""
        editor = self.editor
        if editor is None or not len(editor.graph):
            return
        ids = [n.id for n in editor.graph.nodes]
        edges = [(e.source, e.target) for e in editor.graph.edges]
        area = self.viewport().rect()
        positions = layout.arrange(ids, edges, (area.width(), area.height()))
        editor.move_nodes(positions, text="Auto-arrange")
        self.fit_to_view(readable=True)

    def select_all(self) -> None:
        self.graph_scene.select_nodes(list(self.graph_scene.node_items))

    def add_layer_at(self, type_name: str, scene_pos: QPointF) -> str | None:
        """Add a layer centred on ``scene_pos`` and select it; returns its id."""
        if self.editor is None:
            return None
        corner = scene_pos - QPointF(theme.NODE_WIDTH / 2, theme.NODE_HEIGHT / 2)
        node_id = self.editor.add_node(type_name, (corner.x(), corner.y()))
        self.graph_scene.select_nodes([node_id])
        self.setFocus()
        return node_id

    def add_layer_at_center(self, type_name: str) -> str | None:
        """Add a layer in the middle of the view, beside what is already there."""
        center = self.mapToScene(self.viewport().rect().center())
        corner = self.free_spot_near(center - QPointF(theme.NODE_WIDTH / 2, theme.NODE_HEIGHT / 2))
        return self.add_layer_at(
            type_name, corner + QPointF(theme.NODE_WIDTH / 2, theme.NODE_HEIGHT / 2)
        )

    def free_spot_near(self, corner: QPointF) -> QPointF:
        """The first place at or below ``corner`` where a new card overlaps none."""
        step = theme.NODE_HEIGHT + 20
        for i in range(50):
            candidate = corner + QPointF(0, i * step)
            rect = QRectF(candidate, QPointF(candidate.x() + theme.NODE_WIDTH,
                                             candidate.y() + theme.NODE_HEIGHT))  # fmt: skip
            rect = rect.adjusted(-10, -10, 10, 10)
            if not any(
                rect.intersects(item.sceneBoundingRect())
                for item in self.graph_scene.node_items.values()
            ):
                return candidate
        return corner

    # -- dropping layers from the palette ----------------------------------------------------------

    def dragEnterEvent(self, event) -> None:  # noqa: N802 - Qt's name
        if event.mimeData().hasFormat(LAYER_MIME) and self.editor is not None:
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event) -> None:  # noqa: N802 - Qt's name
        if event.mimeData().hasFormat(LAYER_MIME) and self.editor is not None:
            edge = edge_drop.edge_at(self.graph_scene, self.mapToScene(event.position().toPoint()))
            self.graph_scene.edge_highlight.show_edge(self.graph_scene, edge)
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragLeaveEvent(self, event) -> None:  # noqa: N802 - Qt's name
        self.graph_scene.edge_highlight.show_edge(self.graph_scene, None)
        super().dragLeaveEvent(event)

    def dropEvent(self, event) -> None:  # noqa: N802 - Qt's name
        mime = event.mimeData()
        if not mime.hasFormat(LAYER_MIME) or self.editor is None:
            event.ignore()
            return
        type_name = bytes(mime.data(LAYER_MIME)).decode("utf-8", errors="replace").strip()
        if not type_name:
            event.ignore()
            return
        self.graph_scene.edge_highlight.show_edge(self.graph_scene, None)
        self.drop_layer(type_name, self.mapToScene(event.position().toPoint()))
        event.acceptProposedAction()

    def drop_layer(self, type_name: str, scene_pos: QPointF) -> str | None:
        """A layer dropped at ``scene_pos``: inserted into the edge there, if any, else
        added on its own; returns its id."""
        edge = edge_drop.edge_at(self.graph_scene, scene_pos)
        if edge is not None and edge_drop.takes_one_input(type_name):
            corner = scene_pos - QPointF(theme.NODE_WIDTH / 2, theme.NODE_HEIGHT / 2)
            node_id = edge_drop.insert_type_into_edge(
                self.editor, edge, type_name, (corner.x(), corner.y())
            )
            if node_id is not None:
                self.graph_scene.select_nodes([node_id])
                self.setFocus()
                return node_id
        return self.add_layer_at(type_name, scene_pos)

    # -- context menu ------------------------------------------------------------------------------

    def contextMenuEvent(self, event) -> None:  # noqa: N802 - Qt's name
        menu = self.context_menu(event.pos())
        if menu is not None:
            menu.exec(event.globalPos())

    def context_menu(self, view_pos: QPoint) -> QMenu | None:
        """The right-click menu at ``view_pos``: edits of the item there (which becomes the
        selection), or on empty canvas "Add Layer" by category, paste, arrange, fit."""
        if self.editor is None:
            return None
        scene_pos = self.mapToScene(view_pos)
        item = self.itemAt(view_pos)
        while item is not None and not isinstance(item, NodeItem | EdgeItem):
            item = item.parentItem()
        if item is not None and not item.isSelected():
            self.graph_scene.clearSelection()
            item.setSelected(True)
        menu = QMenu(self)
        if item is not None:
            if isinstance(item, NodeItem):
                menu.addAction(self._actions["duplicate"])
                menu.addAction(self._actions["copy"])
                menu.addAction(self._actions["cut"])
                menu.addSeparator()
                if self.node_menu_actions:
                    menu.addActions(self.node_menu_actions)
                    menu.addSeparator()
            menu.addAction(self._actions["delete"])
        else:
            self._add_layer_menu(menu, scene_pos)
            menu.addSeparator()
            menu.addAction(self._actions["paste"])
            menu.addAction(self._actions["select_all"])
            menu.addAction(self._actions["quick_add"])
            menu.addAction(self._actions["arrange"])
            menu.addAction(self._actions["fit"])
        return menu

    def _add_layer_menu(self, menu: QMenu, scene_pos: QPointF) -> None:
        from engine.graph.registry_info import by_category  # noqa: PLC0415

        add = menu.addMenu("Add Layer")
        for category, infos in by_category().items():
            sub = add.addMenu(category)
            for info in infos:
                action = sub.addAction(info.display_name)
                action.setToolTip(info.description)
                action.triggered.connect(
                    lambda _=False, t=info.type_name: self.add_layer_at(t, scene_pos)
                )
