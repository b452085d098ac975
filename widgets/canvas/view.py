"""The canvas view: zoom, pan, fit, rubber-band selection, keyboard editing, and the drop
target for layers dragged from the palette.

Gestures: the mouse wheel zooms about the cursor; the middle button, or the left button
with Space held, pans; dragging on empty canvas selects with a rubber band; Delete removes
the selection; Ctrl+C / Ctrl+V / Ctrl+D copy, paste and duplicate; F fits the graph in the
window; Ctrl+0 resets the zoom. The same edits are available as ``QAction``s
(:meth:`GraphView.edit_actions`) for the window's menus.
"""

from __future__ import annotations

import json

from PySide6.QtCore import QMimeData, QPoint, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QAction, QColor, QKeySequence, QPainter, QPen
from PySide6.QtWidgets import QApplication, QGraphicsView, QMenu

from widgets.canvas import theme
from widgets.canvas.api import LAYER_MIME, NODES_MIME
from widgets.canvas.edge_item import EdgeItem
from widgets.canvas.node_item import NodeItem
from widgets.canvas.scene import GraphScene

__all__ = ["GraphView"]

_ZOOM_STEP = 1.2


class GraphView(QGraphicsView):
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

    @property
    def editor(self):
        return self.graph_scene.editor

    def set_editor(self, editor) -> None:
        self.graph_scene.set_editor(editor)
        # Fitting needs the real viewport size: before the window is shown, wait for it.
        self._fit_pending = not self.isVisible()
        if not self._fit_pending:
            self.fit_to_view()

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        if self._fit_pending and self.isVisible():
            self._fit_pending = False
            self.fit_to_view()

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

    def fit_to_view(self) -> None:
        """Show the whole graph (at most at 100 %, so a small graph is not blown up)."""
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
            ("arrange", "Arrange Layers", [QKeySequence("Ctrl+L")], self.arrange),
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
        """Lay the graph out left to right in columns by depth (one undo step), then fit."""
        from engine.graph.convert import auto_layout  # noqa: PLC0415

        if self.editor is None or not len(self.editor.graph):
            return
        self.editor.move_nodes(auto_layout(self.editor.graph), text="Arrange layers")
        self.fit_to_view()

    def select_all(self) -> None:
        self.graph_scene.select_nodes(list(self.graph_scene.node_items))

    def copy_selection(self) -> bool:
        nodes = self.graph_scene.selected_node_ids()
        if self.editor is None or not nodes:
            return False
        data = self.editor.copy_nodes(nodes)
        text = json.dumps(data, indent=1)
        mime = QMimeData()
        mime.setData(NODES_MIME, text.encode("utf-8"))
        mime.setText(text)
        QApplication.clipboard().setMimeData(mime)
        self.statusMessage.emit(f"Copied {_layers(len(nodes))}")
        return True

    def cut_selection(self) -> None:
        if self.copy_selection():
            self.delete_selection()

    def paste(self) -> None:
        """Paste copied layers under the mouse (or at the view's centre) with fresh ids."""
        if self.editor is None:
            return
        mime = QApplication.clipboard().mimeData()
        if mime is None:
            return
        if mime.hasFormat(NODES_MIME):
            raw = bytes(mime.data(NODES_MIME)).decode("utf-8", errors="replace")
        elif mime.hasText():
            raw = mime.text()
        else:
            self.statusMessage.emit("Nothing to paste: the clipboard holds no layers")
            return
        try:
            data = json.loads(raw)
            nodes = data["nodes"]
            xs = [float(n["position"][0]) for n in nodes]
            ys = [float(n["position"][1]) for n in nodes]
        except (ValueError, KeyError, TypeError, IndexError, RecursionError):
            self.statusMessage.emit("Nothing to paste: the clipboard holds no layers")
            return
        if not nodes:
            return
        target = self._paste_point()
        offset = (target.x() - min(xs), target.y() - min(ys))
        try:
            created = self.editor.paste_nodes(data, offset)
        except ValueError as err:
            self.statusMessage.emit(f"Cannot paste: {err}")
            return
        self.graph_scene.select_nodes(created)
        self.statusMessage.emit(f"Pasted {_layers(len(created))}")

    def duplicate_selection(self) -> None:
        nodes = self.graph_scene.selected_node_ids()
        if self.editor is None or not nodes:
            return
        created = self.editor.duplicate_nodes(nodes, (theme.PASTE_OFFSET, theme.PASTE_OFFSET))
        self.graph_scene.select_nodes(created)

    def _paste_point(self) -> QPointF:
        cursor = self.mapFromGlobal(self.cursor().pos())
        if self.viewport().rect().contains(cursor):
            return self.mapToScene(cursor) - QPointF(theme.NODE_WIDTH / 2, theme.NODE_HEIGHT / 2)
        return self.free_spot_near(self.mapToScene(self.viewport().rect().center()))

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
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event) -> None:  # noqa: N802 - Qt's name
        mime = event.mimeData()
        if not mime.hasFormat(LAYER_MIME) or self.editor is None:
            event.ignore()
            return
        type_name = bytes(mime.data(LAYER_MIME)).decode("utf-8", errors="replace").strip()
        if not type_name:
            event.ignore()
            return
        self.add_layer_at(type_name, self.mapToScene(event.position().toPoint()))
        event.acceptProposedAction()

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
            menu.addAction(self._actions["delete"])
        else:
            self._add_layer_menu(menu, scene_pos)
            menu.addSeparator()
            menu.addAction(self._actions["paste"])
            menu.addAction(self._actions["select_all"])
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

    # -- painting ----------------------------------------------------------------------------------

    def drawBackground(self, painter, rect: QRectF) -> None:  # noqa: N802 - Qt's name
        painter.fillRect(rect, theme.CANVAS)
        zoom = self.zoom()
        step = theme.GRID_STEP
        major = step * theme.GRID_MAJOR_EVERY
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        if zoom * step >= 9:  # minor lines only where they are not a blur
            self._draw_grid(painter, rect, step, theme.GRID_MINOR)
        self._draw_grid(painter, rect, major, theme.GRID_MAJOR)

    @staticmethod
    def _draw_grid(painter, rect: QRectF, step: float, color: QColor) -> None:
        pen = QPen(color, 0)  # cosmetic: one pixel at any zoom
        painter.setPen(pen)
        left = int(rect.left() // step) * step
        top = int(rect.top() // step) * step
        x = left
        while x < rect.right():
            painter.drawLine(QPointF(x, rect.top()), QPointF(x, rect.bottom()))
            x += step
        y = top
        while y < rect.bottom():
            painter.drawLine(QPointF(rect.left(), y), QPointF(rect.right(), y))
            y += step

    def drawForeground(self, painter, rect: QRectF) -> None:  # noqa: N802 - Qt's name
        if self.graph_scene.node_items or self.editor is None:
            return
        # An empty canvas says how to start.
        painter.save()
        painter.resetTransform()
        area = QRectF(self.viewport().rect())
        painter.setPen(theme.TEXT_MUTED)
        painter.setFont(theme.ui_font(12, bold=True))
        painter.drawText(area.adjusted(0, -24, 0, -24), Qt.AlignmentFlag.AlignCenter,
                         "Start building your network")  # fmt: skip
        painter.setFont(theme.ui_font(9.5))
        painter.setPen(theme.TEXT_FAINT)
        painter.drawText(
            area.adjusted(0, 16, 0, 16),
            Qt.AlignmentFlag.AlignCenter,
            "Drag a layer from the palette — or double-click one — then connect the ports.",
        )
        painter.restore()


def _layers(n: int) -> str:
    return f"{n} layer" + ("" if n == 1 else "s")
