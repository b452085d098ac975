"""The minimap: a small overview in the view's bottom-right corner with every node and the
rectangle the view shows. Clicking or dragging in it centres the view there.

It is shown on big graphs only — more than :data:`BIG_GRAPH` nodes, or a graph that does not
fit in the view at its current zoom — and hidden otherwise, so small graphs stay uncluttered.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import QWidget

from widgets.canvas import theme

__all__ = ["BIG_GRAPH", "Minimap"]

BIG_GRAPH = 30
_SIZE = (220, 150)
_MARGIN = 12
_PAD = 8


class Minimap(QWidget):
    """An overview of ``view``'s graph, drawn from the node items' scene rectangles."""

    def __init__(self, view):
        super().__init__(view)
        self.view = view
        self.setObjectName("Minimap")
        self.setFixedSize(*_SIZE)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setToolTip("Overview: click or drag to move the view")
        self._held: QRectF | None = None  # the map's area, kept still while dragging in it
        self.hide()

    # -- geometry ----------------------------------------------------------------------------------

    def graph_rect(self) -> QRectF:
        rect = QRectF()
        for item in self.view.graph_scene.node_items.values():
            rect = rect.united(item.sceneBoundingRect())
        return rect

    def visible_rect(self) -> QRectF:
        return self.view.mapToScene(self.view.viewport().rect()).boundingRect()

    def _world(self) -> QRectF:
        """The scene area the map shows: the graph and the view's rectangle together."""
        if self._held is not None:
            return self._held
        return self.graph_rect().united(self.visible_rect()).adjusted(-40, -40, 40, 40)

    def _scale(self, world: QRectF) -> tuple[float, float, float]:
        inner_w, inner_h = self.width() - 2 * _PAD, self.height() - 2 * _PAD
        s = min(inner_w / max(world.width(), 1.0), inner_h / max(world.height(), 1.0))
        ox = _PAD + (inner_w - world.width() * s) / 2
        oy = _PAD + (inner_h - world.height() * s) / 2
        return s, ox, oy

    def to_map(self, scene_rect: QRectF, world: QRectF) -> QRectF:
        s, ox, oy = self._scale(world)
        return QRectF(
            ox + (scene_rect.left() - world.left()) * s,
            oy + (scene_rect.top() - world.top()) * s,
            scene_rect.width() * s,
            scene_rect.height() * s,
        )

    def to_scene(self, point: QPointF) -> QPointF:
        world = self._world()
        s, ox, oy = self._scale(world)
        return QPointF(world.left() + (point.x() - ox) / s, world.top() + (point.y() - oy) / s)

    # -- showing -----------------------------------------------------------------------------------

    def wanted(self) -> bool:
        items = self.view.graph_scene.node_items
        if not items:
            return False
        if len(items) > BIG_GRAPH:
            return True
        return not self.visible_rect().contains(self.graph_rect())

    def refresh(self) -> None:
        """Show or hide as the graph's size asks, keep to the corner, repaint."""
        area = self.view.viewport().geometry()
        self.move(area.right() - self.width() - _MARGIN, area.bottom() - self.height() - _MARGIN)
        show = self.wanted()
        if show != self.isVisible():
            self.setVisible(show)
        if show:
            self.raise_()
            self.update()

    # -- painting and input ------------------------------------------------------------------------

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt's name
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        back = QColor(theme.NODE_BODY)
        back.setAlpha(235)
        painter.setPen(QPen(theme.NODE_BORDER, 1))
        painter.setBrush(back)
        painter.drawRoundedRect(QRectF(self.rect()).adjusted(0.5, 0.5, -0.5, -0.5), 6, 6)
        # One pass over the cards, and two batched draws: the map repaints on every scene
        # change, so a 300-node graph must not walk its items three times per edit.
        cards = [
            (item.sceneBoundingRect(), item.isSelected())
            for item in self.view.graph_scene.node_items.values()
        ]
        if self._held is not None:
            world = self._held
        else:
            world = QRectF()
            for rect, _selected in cards:
                world = world.united(rect)
            world = world.united(self.visible_rect()).adjusted(-40, -40, 40, 40)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)  # tiny rectangles
        painter.setPen(Qt.PenStyle.NoPen)
        k, ox, oy = self._scale(world)
        left, top = world.left(), world.top()
        for selected in (False, True):
            rects = [
                QRectF(
                    ox + (r.left() - left) * k,
                    oy + (r.top() - top) * k,
                    r.width() * k,
                    r.height() * k,
                )
                for r, sel in cards
                if sel is selected
            ]
            if rects:
                painter.setBrush(QColor(theme.SELECTION if selected else theme.TEXT_MUTED))
                painter.drawRects(rects)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        frame = QColor(theme.SELECTION)
        painter.setPen(QPen(frame, 1.5))
        frame.setAlpha(40)
        painter.setBrush(frame)
        painter.drawRect(self.to_map(self.visible_rect(), world))

    def mousePressEvent(self, event) -> None:  # noqa: N802 - Qt's name
        if event.button() == Qt.MouseButton.LeftButton:
            self._held = self._world()
            self.view.centerOn(self.to_scene(event.position()))
            event.accept()

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802 - Qt's name
        self._held = None
        self.update()
        event.accept()

    def mouseMoveEvent(self, event) -> None:  # noqa: N802 - Qt's name
        if event.buttons() & Qt.MouseButton.LeftButton:
            self.view.centerOn(self.to_scene(event.position()))
            event.accept()
