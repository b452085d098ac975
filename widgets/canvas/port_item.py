"""A node's port: a small circle on the card's edge that edges attach to and that starts a
connection when dragged (inputs on the left, the output on the right)."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QPen
from PySide6.QtWidgets import QGraphicsItem

from widgets.canvas import theme

__all__ = ["INPUT", "OUTPUT", "PortItem"]

INPUT, OUTPUT = "in", "out"


class PortItem(QGraphicsItem):
    """Input ``index`` (``kind == "in"``) or the output (``kind == "out"``) of a node.

    Dragging a port draws a rubber edge (the scene's connection drag) and releasing it on
    a compatible port asks the editor to connect them.
    """

    def __init__(self, node_item, kind: str, index: int = 0):
        super().__init__(node_item)
        self.node_item = node_item
        self.kind = kind
        self.index = index
        self.connected = False
        self.highlight = None  # None | "compatible" | "target" while an edge is dragged
        self._hover = False
        self.setAcceptHoverEvents(True)
        self.setCursor(Qt.CursorShape.CrossCursor)
        self.setZValue(2)
        self._refresh_tooltip()

    @property
    def node_id(self) -> str:
        return self.node_item.node_id

    def scene_center(self) -> QPointF:
        return self.scenePos()

    def set_connected(self, connected: bool) -> None:
        if connected != self.connected:
            self.connected = connected
            self._refresh_tooltip()
            self.update()

    def _refresh_tooltip(self) -> None:
        if self.kind == OUTPUT:
            text = "Output: drag it onto an input to connect"
        elif self.connected:
            text = f"Input {self.index + 1}: drag to move its edge, or drop it to disconnect"
        else:
            text = f"Input {self.index + 1}: drag it onto an output to connect"
        self.setToolTip(text)

    def set_highlight(self, highlight: str | None) -> None:
        if highlight != self.highlight:
            self.highlight = highlight
            self.update()

    # -- painting ----------------------------------------------------------------------------------

    def boundingRect(self) -> QRectF:  # noqa: N802 - Qt's name
        r = theme.PORT_HIT_RADIUS
        return QRectF(-r, -r, 2 * r, 2 * r)

    def paint(self, painter, option, widget=None) -> None:
        radius = theme.PORT_RADIUS
        ring = theme.PORT_RING
        fill = theme.PORT_FILL
        if self.connected:
            fill = self.node_item.accent
            ring = self.node_item.accent.lighter(130)
        if self.highlight == "compatible":
            ring = theme.PORT_COMPATIBLE
        if self._hover or self.highlight == "target":
            radius += 1.8
            ring = theme.PORT_COMPATIBLE.lighter(115)
            fill = theme.PORT_COMPATIBLE if self.highlight == "target" else fill
        painter.setRenderHint(painter.RenderHint.Antialiasing)
        if self.highlight in ("compatible", "target"):
            glow = QColor(theme.PORT_COMPATIBLE)
            glow.setAlpha(70 if self.highlight == "compatible" else 120)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(glow)
            painter.drawEllipse(QPointF(0, 0), radius + 3.5, radius + 3.5)
        painter.setPen(QPen(ring, 1.6))
        painter.setBrush(QBrush(fill))
        painter.drawEllipse(QPointF(0, 0), radius, radius)

    # -- interaction -------------------------------------------------------------------------------

    def hoverEnterEvent(self, event) -> None:  # noqa: N802 - Qt's name
        self._hover = True
        self.update()
        super().hoverEnterEvent(event)

    def hoverLeaveEvent(self, event) -> None:  # noqa: N802 - Qt's name
        self._hover = False
        self.update()
        super().hoverLeaveEvent(event)

    def mousePressEvent(self, event) -> None:  # noqa: N802 - Qt's name
        scene = self.scene()
        if event.button() == Qt.MouseButton.LeftButton and scene.begin_connection(self):
            event.accept()
            return
        event.ignore()

    def mouseMoveEvent(self, event) -> None:  # noqa: N802 - Qt's name
        self.scene().update_connection(event.scenePos())

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802 - Qt's name
        self.scene().finish_connection(event.scenePos())
