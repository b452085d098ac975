"""A layer's card on the canvas: the projection of one document node.

The card shows the node id (title), its type and a few of its settings (subtitle), a
category colour band, and — from the compiler's latest check — its output shape and
parameter count, or, for a broken node, a red outline, an error badge and the diagnostic as
tooltip. Input ports sit on the left edge, the output port on the right.

The card never writes to the document: when the user drags it, the scene collects the new
positions on release and asks the editor for one move command.
"""

from __future__ import annotations

import html

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFontMetricsF, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsItem

from engine.graph.diagnostics import Diagnostic
from engine.graph.document import Node
from widgets.canvas import theme
from widgets.canvas.port_item import INPUT, OUTPUT, PortItem
from widgets.canvas.text import (
    count_text,
    flops_text,
    param_summary,
    shape_text,
    short_message,
)

__all__ = ["NodeItem", "layer_info_or_none"]


def layer_info_or_none(type_name: str):
    from engine.graph.registry_info import layer_info  # noqa: PLC0415

    try:
        return layer_info(type_name)
    except KeyError:
        return None


class NodeItem(QGraphicsItem):
    """The card of node ``node_id``. ``sync`` re-reads the node, ``set_report`` the check."""

    #: The least card height (a block's card, :mod:`widgets.canvas.block_item`, is taller).
    min_height = theme.NODE_HEIGHT

    def __init__(self, node: Node):
        super().__init__()
        self.node_id = node.id
        self.type_name = node.type
        self.info = layer_info_or_none(node.type)
        self.accent = theme.node_color(node.type, self.info.category if self.info else None)
        self.summary = ""
        self.report = None
        self.diagnostics: list[Diagnostic] = []
        self.inputs: list[PortItem] = []
        self.output: PortItem | None = None
        self._hover = False
        self._title_font = theme.ui_font(9.5, bold=True)
        self._small_font = theme.ui_font(8.0)
        self.setFlags(
            QGraphicsItem.GraphicsItemFlag.ItemIsMovable
            | QGraphicsItem.GraphicsItemFlag.ItemIsSelectable
            | QGraphicsItem.GraphicsItemFlag.ItemSendsGeometryChanges
        )
        self.setAcceptHoverEvents(True)
        self.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self.height = theme.NODE_HEIGHT
        # Every layer has one output; input ports are made by sync(), which knows how many
        # edges come in (a variadic Add grows a free port as edges arrive).
        self.output = PortItem(self, OUTPUT)
        self.output.setPos(theme.NODE_WIDTH, theme.NODE_HEIGHT / 2)
        self.sync(node, 0)
        self.setPos(QPointF(*node.position))

    # -- following the document --------------------------------------------------------------------

    def sync(self, node: Node, used_ports: int) -> None:
        """Re-read id, parameters and port count (``used_ports``: one more than the highest
        input port an edge uses)."""
        self.node_id = node.id
        schema = self.info.params if self.info else ()
        self.summary = param_summary(node.params, schema)
        self.frozen = node.params.get("trainable") is False
        if self.frozen:
            # Frozen layers (transfer learning) must be visible at a glance on the canvas.
            self.summary = f"❄ frozen · {self.summary}" if self.summary else "❄ frozen"
        self._set_input_count(self._input_count(used_ports))
        self._refresh_tooltip()
        self.update()

    def _input_count(self, used_ports: int) -> int:
        if self.info is None:
            return max(1, used_ports)
        return max(self.info.port_count(used_ports), used_ports)

    def _set_input_count(self, count: int) -> None:
        while len(self.inputs) > count:
            port = self.inputs.pop()
            port.setParentItem(None)
            if port.scene() is not None:
                port.scene().removeItem(port)
        while len(self.inputs) < count:
            self.inputs.append(PortItem(self, INPUT, len(self.inputs)))
        height = max(self.min_height, 28.0 + (count - 1) * theme.PORT_SPACING)
        if height != self.height:
            self.prepareGeometryChange()
            self.height = height
        for port, y in zip(self.inputs, _port_ys(count, height)):
            port.setPos(0.0, y)

    def input_port(self, index: int) -> PortItem | None:
        return self.inputs[index] if 0 <= index < len(self.inputs) else None

    def set_report(self, report, diagnostics: list[Diagnostic]) -> None:
        """Show the compiler's findings: shape, counts and the diagnostics naming this node."""
        self.report = report
        self.diagnostics = list(diagnostics)
        self._refresh_tooltip()
        self.update()

    @property
    def has_error(self) -> bool:
        return any(d.is_error for d in self.diagnostics)

    @property
    def has_warning(self) -> bool:
        return bool(self.diagnostics) and not self.has_error

    # -- geometry ----------------------------------------------------------------------------------

    def boundingRect(self) -> QRectF:  # noqa: N802 - Qt's name
        # Room for the outline, the shadow and the badge past the card's corner.
        return QRectF(-10, -10, theme.NODE_WIDTH + 20, self.height + 22)

    def shape(self) -> QPainterPath:
        path = QPainterPath()
        path.addRoundedRect(self.card_rect(), theme.NODE_RADIUS, theme.NODE_RADIUS)
        return path

    def card_rect(self) -> QRectF:
        return QRectF(0, 0, theme.NODE_WIDTH, self.height)

    def center(self) -> QPointF:
        return self.pos() + self.card_rect().center()

    # -- painting ----------------------------------------------------------------------------------

    def paint(self, painter, option, widget=None) -> None:
        painter.setRenderHint(painter.RenderHint.Antialiasing)
        painter.setRenderHint(painter.RenderHint.TextAntialiasing)
        rect = self.card_rect()
        radius = theme.NODE_RADIUS
        card = QPainterPath()
        card.addRoundedRect(rect, radius, radius)

        # A soft shadow: a few widening translucent outlines below the card.
        painter.setPen(Qt.PenStyle.NoPen)
        for i, alpha in enumerate((46, 28, 14)):
            grow = 1.5 + 1.8 * i
            painter.setBrush(QColor(0, 0, 0, alpha))
            painter.drawRoundedRect(
                rect.adjusted(-grow + 1, -grow + 3, grow + 1, grow + 4),
                radius + grow,
                radius + grow,
            )

        painter.setBrush(theme.NODE_BODY)
        painter.drawPath(card)
        if getattr(self, "frozen", False):
            # Frozen (transfer learning): an icy wash over the card, readable at any zoom.
            painter.setBrush(QColor(120, 190, 255, 30))
            painter.drawPath(card)

        # Header tinted with the category colour, then the band on the left.
        header_h = 45.0
        painter.save()
        painter.setClipPath(card)
        tint = QColor(self.accent)
        tint.setAlpha(34)
        painter.setBrush(theme.NODE_HEADER)
        painter.drawRect(QRectF(0, 0, rect.width(), header_h))
        painter.setBrush(tint)
        painter.drawRect(QRectF(0, 0, rect.width(), header_h))
        painter.setBrush(self.accent)
        painter.drawRect(QRectF(0, 0, theme.BAND_WIDTH, rect.height()))
        painter.setPen(QPen(QColor(255, 255, 255, 14), 1))
        painter.drawLine(QPointF(theme.BAND_WIDTH, header_h), QPointF(rect.width(), header_h))
        painter.restore()

        left = theme.BAND_WIDTH + 9
        badge = self.has_error or self.has_warning
        text_width = rect.width() - left - (26 if badge else 10)

        painter.setFont(self._title_font)
        painter.setPen(theme.TEXT)
        metrics = QFontMetricsF(self._title_font)
        painter.drawText(
            QRectF(left, 6, text_width, 18),
            Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
            metrics.elidedText(self.node_id, Qt.TextElideMode.ElideRight, text_width),
        )

        small = QFontMetricsF(self._small_font)
        painter.setFont(self._small_font)
        type_label = self.info.display_name if self.info else self.type_name
        subtitle = f"{type_label} · {self.summary}" if self.summary else type_label
        painter.setPen(theme.TEXT_MUTED)
        painter.drawText(
            QRectF(left, 24, text_width + (16 if badge else 0), 16),
            Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
            small.elidedText(subtitle, Qt.TextElideMode.ElideRight, text_width),
        )
        self._paint_footer(painter, QRectF(left, header_h + 4, rect.width() - left - 10, 20))

        # Outline: selection wins, then error, then hover.
        if self.isSelected():
            pen = QPen(theme.SELECTION, 2.0)
        elif self.has_error:
            pen = QPen(theme.ERROR, 1.8)
        elif self._hover:
            pen = QPen(theme.NODE_BORDER_HOVER, 1.2)
        else:
            pen = QPen(theme.NODE_BORDER, 1.0)
        painter.setPen(pen)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRoundedRect(rect.adjusted(0.5, 0.5, -0.5, -0.5), radius, radius)
        if self.isSelected() and self.has_error:
            painter.setPen(QPen(theme.ERROR, 1.2))
            painter.drawRoundedRect(rect.adjusted(3, 3, -3, -3), radius - 2, radius - 2)
        if badge:
            self._paint_badge(painter, QPointF(rect.width() - 14, 15))

    def _paint_footer(self, painter, area: QRectF) -> None:
        metrics = QFontMetricsF(self._small_font)
        painter.setFont(self._small_font)
        align = Qt.AlignmentFlag.AlignVCenter
        report = self.report
        if self.has_error:
            first = next(d for d in self.diagnostics if d.is_error)
            painter.setPen(theme.ERROR)
            text = metrics.elidedText(
                short_message(first, self.type_name, self.node_id),
                Qt.TextElideMode.ElideRight,
                area.width(),
            )
            painter.drawText(area, align | Qt.AlignmentFlag.AlignLeft, text)
            return
        if report is None or report.output_shape is None:
            painter.setPen(theme.TEXT_FAINT)
            painter.drawText(area, align | Qt.AlignmentFlag.AlignLeft, "shape unknown")
            return
        right = (
            f"{count_text(report.param_count, compact=True)} params" if report.param_count else ""
        )
        right_width = metrics.horizontalAdvance(right) + 6 if right else 0
        painter.setPen(theme.TEXT)
        shape = "→ " + shape_text(report.output_shape, tight=True)
        painter.drawText(
            QRectF(area.left(), area.top(), area.width() - right_width, area.height()),
            align | Qt.AlignmentFlag.AlignLeft,
            metrics.elidedText(shape, Qt.TextElideMode.ElideRight, area.width() - right_width),
        )
        if right:
            painter.setPen(theme.TEXT_MUTED)
            painter.drawText(area, align | Qt.AlignmentFlag.AlignRight, right)

    def _paint_badge(self, painter, center: QPointF) -> None:
        color = theme.ERROR if self.has_error else theme.WARNING
        painter.setPen(QPen(theme.NODE_BODY, 1.5))
        painter.setBrush(QBrush(color))
        painter.drawEllipse(center, 7.5, 7.5)
        painter.setPen(QPen(QColor("#1b1d21"), 1.9, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap))
        painter.drawLine(
            QPointF(center.x(), center.y() - 3.6), QPointF(center.x(), center.y() + 0.8)
        )
        painter.drawPoint(QPointF(center.x(), center.y() + 3.6))

    def _refresh_tooltip(self) -> None:
        info = self.info
        lines = [f"<b>{html.escape(self.node_id)}</b> — {html.escape(self.type_name)}"]
        if info is not None and info.description:
            lines.append(f"<span style='color:#98a2ae'>{html.escape(info.description)}</span>")
        report = self.report
        if report is not None and report.output_shape is not None:
            lines.append(
                f"Output {html.escape(shape_text(report.output_shape))} · "
                f"{count_text(report.param_count)} params · {flops_text(report.flops)} FLOPs"
            )
        for d in self.diagnostics:
            color = "#f25f5c" if d.is_error else "#f0ad4e"
            label = "Error" if d.is_error else "Warning"
            text = f"<span style='color:{color}'><b>{label}:</b></span> {html.escape(d.message)}"
            if d.fix:
                text += f"<br><i>Fix:</i> {html.escape(d.fix)}"
            lines.append(text)
        self.setToolTip("<br>".join(lines))

    # -- interaction -------------------------------------------------------------------------------

    def itemChange(self, change, value):  # noqa: N802 - Qt's name
        scene = self.scene()
        if change == QGraphicsItem.GraphicsItemChange.ItemPositionChange and scene is not None:
            if getattr(scene, "dragging_nodes", False):
                step = theme.SNAP
                return QPointF(round(value.x() / step) * step, round(value.y() / step) * step)
        elif (
            change == QGraphicsItem.GraphicsItemChange.ItemPositionHasChanged
            and scene is not None
            and hasattr(scene, "node_item_moved")
        ):
            scene.node_item_moved(self)
        return super().itemChange(change, value)

    def hoverEnterEvent(self, event) -> None:  # noqa: N802 - Qt's name
        self._hover = True
        self.update()
        super().hoverEnterEvent(event)

    def hoverLeaveEvent(self, event) -> None:  # noqa: N802 - Qt's name
        self._hover = False
        self.update()
        super().hoverLeaveEvent(event)


def _port_ys(count: int, height: float) -> list[float]:
    """Input ports spread down the card's edge (one port sits level with the output)."""
    if count <= 1:
        return [theme.NODE_HEIGHT / 2]
    top, bottom = 16.0, height - 12.0
    step = (bottom - top) / (count - 1)
    return [top + i * step for i in range(count)]
