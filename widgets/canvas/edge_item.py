"""Edges on the canvas: a bezier curve from a node's output port to another's input port,
and the rubber edge that follows the mouse while a connection is dragged."""

from __future__ import annotations

from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor, QPainterPath, QPainterPathStroker, QPen
from PySide6.QtWidgets import QGraphicsItem, QGraphicsPathItem

from engine.graph.document import Edge
from widgets.canvas import theme
from widgets.canvas.text import shape_text

__all__ = ["EdgeItem", "RubberEdge", "bezier_path", "set_edge_stats_provider"]

#: The scene attribute holding ``provider(source_node_id) -> str | None``: the statistics
#: of the tensor an edge carries for the picked sample (set by app.activations_controller).
_STATS_ATTR = "edge_stats_provider"


def set_edge_stats_provider(scene, provider) -> None:
    """Let edges of ``scene`` add ``provider(source_id)``'s text to their tooltips."""
    setattr(scene, _STATS_ATTR, provider)


def bezier_path(start: QPointF, end: QPointF) -> QPainterPath:
    """A left-to-right S curve: horizontal tangents at both ports, so edges leave outputs
    to the right and enter inputs from the left even when the target sits behind."""
    dx = max(abs(end.x() - start.x()) * 0.5, 50.0)
    path = QPainterPath(start)
    path.cubicTo(QPointF(start.x() + dx, start.y()), QPointF(end.x() - dx, end.y()), end)
    return path


class EdgeItem(QGraphicsPathItem):
    """The projection of one :class:`~engine.graph.document.Edge`; selectable (Delete
    removes it), highlighted on hover, red when a diagnostic names it."""

    def __init__(self, edge: Edge, source_port, target_port):
        super().__init__()
        self.edge = edge
        self.source_port = source_port
        self.target_port = target_port
        self.error: str | None = None
        self.tensor_shape: tuple | None = None
        self._hover = False
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable)
        self.setAcceptHoverEvents(True)
        self.setZValue(-1)
        self.update_path()
        self.update_tooltip()

    def update_path(self) -> None:
        self.prepareGeometryChange()
        self.setPath(bezier_path(self.source_port.scenePos(), self.target_port.scenePos()))

    def update_tooltip(self, shape: tuple | None = None) -> None:
        self.tensor_shape = shape
        self.setToolTip(self.tooltip_text())

    def tooltip_text(self) -> str:
        """The edge, the shape it carries (the compiler's inference) and, once a sample is
        picked in the Activations panel, that tensor's statistics for it."""
        text = f"{self.edge.source} → {self.edge.target} (input {self.edge.target_port + 1})"
        if self.tensor_shape is not None:
            text += f"\ncarries {shape_text(self.tensor_shape)} per sample"
        provider = getattr(self.scene(), _STATS_ATTR, None)
        stats = provider(self.edge.source) if provider is not None else None
        if stats:
            text += f"\n\n{stats}"
        if self.error:
            text += f"\n\n{self.error}"
        return text

    def set_error(self, message: str | None) -> None:
        if message != self.error:
            self.error = message
            self.update()

    def shape(self) -> QPainterPath:
        stroker = QPainterPathStroker()
        stroker.setWidth(12)
        return stroker.createStroke(self.path())

    def paint(self, painter, option, widget=None) -> None:
        color, width = QColor(theme.EDGE), theme.EDGE_WIDTH
        if self.error:
            color = QColor(theme.ERROR)
        if self._hover:
            color = theme.EDGE_HOVER if not self.error else QColor(theme.ERROR).lighter(125)
            width += 0.6
        if self.isSelected():
            color, width = QColor(theme.SELECTION), width + 0.8
        painter.setRenderHint(painter.RenderHint.Antialiasing)
        if self.isSelected() or self._hover:
            halo = QColor(color)
            halo.setAlpha(45)
            painter.setPen(QPen(halo, width + 6, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap))
            painter.drawPath(self.path())
        painter.setPen(QPen(color, width, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawPath(self.path())

    def hoverEnterEvent(self, event) -> None:  # noqa: N802 - Qt's name
        # The statistics change with the picked sample and the weights: read them now.
        self.setToolTip(self.tooltip_text())
        self._hover = True
        self.update()
        super().hoverEnterEvent(event)

    def hoverLeaveEvent(self, event) -> None:  # noqa: N802 - Qt's name
        self._hover = False
        self.update()
        super().hoverLeaveEvent(event)


class RubberEdge(QGraphicsPathItem):
    """The edge being dragged: dashed while it hangs free, solid once it snaps to a port."""

    def __init__(self):
        super().__init__()
        self.setZValue(5)
        self.snapped = False
        self._apply_pen()

    def set_ends(self, start: QPointF, end: QPointF, snapped: bool) -> None:
        if snapped != self.snapped:
            self.snapped = snapped
            self._apply_pen()
        self.setPath(bezier_path(start, end))

    def _apply_pen(self) -> None:
        style = Qt.PenStyle.SolidLine if self.snapped else Qt.PenStyle.DashLine
        pen = QPen(theme.PORT_COMPATIBLE, 2.2, style, Qt.PenCapStyle.RoundCap)
        self.setPen(pen)
