"""A block's card on the canvas: one node standing for a small graph (a block definition).

It reads apart from a layer's card at a glance: a stack of cards behind it, a gold band and
a block glyph, the definition's title under the node's name, a ``linked ×N`` chip when
several uses share the definition (editing inside one changes them all), the summed
parameter count and output shape from the check, and its input ports named after the
definition's inputs. Double-clicking it asks the scene to open the block
(``GraphScene.blockOpened``), which the app answers by showing the definition's graph.

The card only reads: ``root`` is the project's top-level document (``GraphDocument.blocks``
holds every definition, also those used inside other blocks), found through the editor's
``blocks_root`` (the top-level graph also while a block's inside is shown).
"""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFontMetricsF, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsItem

from engine.graph.document import Node
from widgets.canvas import theme
from widgets.canvas.node_item import NodeItem
from widgets.canvas.text import count_text, flops_text, shape_text, short_message

__all__ = [
    "BLOCK_PARTS",
    "BLOCK_COLOR",
    "BLOCK_MIME",
    "BLOCK_INPUT_TYPE",
    "BLOCK_TYPE",
    "BlockInputItem",
    "BlockCardInfo",
    "BlockItem",
    "OutputMarker",
    "block_card_info",
    "make_item",
    "mark_block_output",
    "touches_blocks",
]

#: The node type of a block use (``{"type": "Block", "params": {"block": name}}``).
BLOCK_TYPE = "Block"
#: The node type of a block's input port, inside its definition.
BLOCK_INPUT_TYPE = "BlockInput"
#: Drag-and-drop payload of a palette block: its library file's path, UTF-8.
BLOCK_MIME = "application/x-layercanvas-block"
BLOCK_COLOR = QColor("#e8b64c")
#: What the inspector says of the nodes that are parts of blocks, not layers:
#: type -> (title, kind, description, band colour).
BLOCK_PARTS = {
    BLOCK_TYPE: (
        "Block",
        "Reusable block",
        "One node standing for a small graph of layers. Double-click its card to edit "
        "inside (Esc goes back out); Ctrl+Shift+G ungroups it. Right-click it to make a "
        "linked block an independent copy, rename it or save it to the library.",
        BLOCK_COLOR,
    ),
    BLOCK_INPUT_TYPE: (
        "Block input",
        "Port of this block",
        "Data enters the block here: its shape is whatever feeds this port of the block "
        "where the block is used.",
        theme.INPUT_COLOR,
    ),
}
_HEIGHT = 92.0
_HEADER = 45.0
_PORT_ROW = 18.0  # a named input port's row, below the contents line
_FOOTER = 24.0


@dataclass(frozen=True)
class BlockCardInfo:
    """What a block's card shows of its definition."""

    name: str
    title: str = ""
    description: str = ""
    ports: tuple[str, ...] = ()
    uses: int = 0
    missing: bool = False
    layers: tuple[str, ...] = ()  # the inner nodes' types, BlockInput ports left out

    def contents(self) -> str:
        """``7 layers: Conv2D, BatchNormalization, ReLU, Add`` (each type named once)."""
        if not self.layers:
            return "empty" if not self.missing else ""
        kinds = ", ".join(dict.fromkeys(self.layers))
        count = len(self.layers)
        return f"{count} layer{'' if count == 1 else 's'}: {kinds}"


def block_uses(root, name: str) -> int:
    """How many Block nodes, in the project and inside every definition, use ``name``."""
    graphs = [root] + [d.graph for d in getattr(root, "blocks", {}).values()]
    return sum(
        1
        for graph in graphs
        for node in graph.nodes
        if node.type == BLOCK_TYPE and node.params.get("block") == name
    )


def block_card_info(root, name) -> BlockCardInfo:
    """The card's view of definition ``name`` in project document ``root``."""
    if not isinstance(name, str):
        return BlockCardInfo(str(name), missing=True)
    definition = getattr(root, "blocks", {}).get(name) if root is not None else None
    if definition is None:
        return BlockCardInfo(name, missing=True)
    return BlockCardInfo(
        name,
        definition.title or name,
        definition.description or "",
        tuple(definition.inputs),
        block_uses(root, name),
        layers=tuple(n.type for n in definition.graph.nodes if n.type != BLOCK_INPUT_TYPE),
    )


def touches_blocks(event) -> bool:
    """Whether a document event can change what block cards show (a definition, a use)."""
    node = event.node
    return event.kind == "blocks_changed" or (node is not None and node.type == BLOCK_TYPE)


def make_item(node: Node, root: Callable[[], object]) -> NodeItem:
    """The card for ``node``: a :class:`BlockItem` for a block use, a
    :class:`BlockInputItem` for a block's input port, else a layer's."""
    if node.type == BLOCK_TYPE:
        return BlockItem(node, root)
    if node.type == BLOCK_INPUT_TYPE:
        return BlockInputItem(node)
    return NodeItem(node)


class BlockInputItem(NodeItem):
    """An input port inside a block: data enters here, so it looks like an Input and has
    no input of its own."""

    def __init__(self, node: Node):
        super().__init__(node)
        self.accent = QColor(theme.INPUT_COLOR)

    def _input_count(self, used_ports: int) -> int:
        return used_ports  # only an edge a broken file brings in gets a port


class BlockItem(NodeItem):
    """The card of a block use; ``root()`` gives the project document (see module doc)."""

    min_height = _HEIGHT

    def __init__(self, node: Node, root: Callable[[], object]):
        self.block = BlockCardInfo(str(node.params.get("block", "")), missing=True)
        super().__init__(node)
        self._root = root
        self.accent = QColor(BLOCK_COLOR)
        self._chip_font = theme.ui_font(7.5, bold=True)
        self.sync(node, 0)

    # -- following the document --------------------------------------------------------------------

    def sync(self, node: Node, used_ports: int) -> None:
        root = getattr(self, "_root", None)
        self.block = block_card_info(root() if root else None, node.params.get("block"))
        super().sync(node, used_ports)
        self.summary = self.block.title

    def _input_count(self, used_ports: int) -> int:
        return max(len(self.block.ports), used_ports, 1)

    def _set_input_count(self, count: int) -> None:
        super()._set_input_count(count)
        if count < 2:
            return
        # Several inputs: one named row each in the body, between contents and footer.
        height = _HEADER + 24 + count * _PORT_ROW + _FOOTER - 4
        if height != self.height:
            self.prepareGeometryChange()
            self.height = height
        for i, port in enumerate(self.inputs):
            port.setPos(0.0, _HEADER + 24 + (i + 0.5) * _PORT_ROW)

    # -- painting ----------------------------------------------------------------------------------

    def paint(self, painter, option, widget=None) -> None:
        painter.setRenderHint(painter.RenderHint.Antialiasing)
        painter.setRenderHint(painter.RenderHint.TextAntialiasing)
        rect = self.card_rect()
        radius = theme.NODE_RADIUS
        card = QPainterPath()
        card.addRoundedRect(rect, radius, radius)

        # Two cards peeking out behind: "many layers in one".
        painter.setPen(QPen(theme.NODE_BORDER, 1.0))
        for offset, shade in ((7.0, "#1e2126"), (3.5, "#23272d")):
            painter.setBrush(QColor(shade))
            painter.drawRoundedRect(rect.translated(offset, offset), radius, radius)

        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(theme.NODE_BODY)
        painter.drawPath(card)
        painter.save()
        painter.setClipPath(card)
        tint = QColor(self.accent)
        tint.setAlpha(40)
        painter.setBrush(theme.NODE_HEADER)
        painter.drawRect(QRectF(0, 0, rect.width(), _HEADER))
        painter.setBrush(tint)
        painter.drawRect(QRectF(0, 0, rect.width(), _HEADER))
        painter.setBrush(self.accent)
        painter.drawRect(QRectF(0, 0, theme.BAND_WIDTH + 1, rect.height()))
        painter.setPen(QPen(QColor(255, 255, 255, 14), 1))
        painter.drawLine(QPointF(theme.BAND_WIDTH, _HEADER), QPointF(rect.width(), _HEADER))
        painter.restore()

        left = theme.BAND_WIDTH + 9
        badge = self.has_error or self.has_warning
        self._paint_glyph(painter, QPointF(left, 8))
        title_left = left + 18
        text_width = rect.width() - title_left - (26 if badge else 10)
        painter.setFont(self._title_font)
        painter.setPen(theme.TEXT)
        metrics = QFontMetricsF(self._title_font)
        painter.drawText(
            QRectF(title_left, 6, text_width, 18),
            Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
            metrics.elidedText(self.node_id, Qt.TextElideMode.ElideRight, text_width),
        )
        subtitle_width = rect.width() - left - 10
        small = QFontMetricsF(self._small_font)
        painter.setFont(self._small_font)
        painter.setPen(theme.ERROR if self.block.missing else BLOCK_COLOR.lighter(115))
        subtitle = "definition missing" if self.block.missing else self.block.title
        painter.drawText(
            QRectF(left, 24, subtitle_width, 16),
            Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
            small.elidedText(subtitle, Qt.TextElideMode.ElideRight, subtitle_width),
        )
        # The body line: what is inside, and the linked chip (the title keeps its room).
        body_width = rect.width() - left - 10
        chip = self._chip_text()
        if chip:
            chip_center = QPointF(rect.width() - 8, _HEADER + 12)
            body_width -= self._paint_chip(painter, chip, chip_center) + 6
        painter.setFont(self._small_font)
        painter.setPen(theme.TEXT_MUTED)
        contents = small.elidedText(self.block.contents(), Qt.TextElideMode.ElideRight, body_width)
        painter.drawText(QRectF(left, _HEADER + 4, body_width, 16),
                         Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                         contents)  # fmt: skip
        self._paint_port_names(painter)
        footer_top = rect.height() - _FOOTER
        self._paint_footer(painter, QRectF(left, footer_top, rect.width() - left - 10, 20))

        if self.isSelected():
            pen = QPen(theme.SELECTION, 2.0)
        elif self.has_error:
            pen = QPen(theme.ERROR, 1.8)
        elif self._hover:
            pen = QPen(BLOCK_COLOR, 1.3)
        else:
            pen = QPen(BLOCK_COLOR.darker(160), 1.2)
        painter.setPen(pen)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRoundedRect(rect.adjusted(0.5, 0.5, -0.5, -0.5), radius, radius)
        if badge:
            self._paint_badge(painter, QPointF(rect.width() - 14, 15))

    def boundingRect(self) -> QRectF:  # noqa: N802 - Qt's name
        # Room for the stacked cards behind, the outline and the badge.
        return QRectF(-10, -10, theme.NODE_WIDTH + 24, self.height + 26)

    def _chip_text(self) -> str:
        if self.block.uses > 1:
            return f"linked ×{self.block.uses}"
        return ""

    def _paint_chip(self, painter, text: str, right_center: QPointF) -> float:
        """A rounded chip ending at ``right_center``; returns its width."""
        metrics = QFontMetricsF(self._chip_font)
        width = metrics.horizontalAdvance(text) + 12
        box = QRectF(right_center.x() - width, right_center.y() - 7.5, width, 15)
        fill = QColor(BLOCK_COLOR)
        fill.setAlpha(48)
        painter.setPen(QPen(BLOCK_COLOR.darker(120), 1.0))
        painter.setBrush(fill)
        painter.drawRoundedRect(box, 7.5, 7.5)
        painter.setFont(self._chip_font)
        painter.setPen(BLOCK_COLOR.lighter(130))
        painter.drawText(box, Qt.AlignmentFlag.AlignCenter, text)
        return width

    def _paint_glyph(self, painter, top_left: QPointF) -> None:
        """A small 2x2 grid of squares: the block symbol."""
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(BLOCK_COLOR)
        size, gap = 5.0, 2.0
        for dx in (0, 1):
            for dy in (0, 1):
                corner = top_left + QPointF(dx * (size + gap), 2 + dy * (size + gap))
                painter.drawRoundedRect(QRectF(corner.x(), corner.y(), size, size), 1.2, 1.2)

    def _paint_port_names(self, painter) -> None:
        """Name the inputs when there are several (which edge goes into which port)."""
        if len(self.block.ports) < 2:
            return
        painter.setFont(self._small_font)
        painter.setPen(theme.TEXT_FAINT)
        metrics = QFontMetricsF(self._small_font)
        width = theme.NODE_WIDTH - 30
        for port, name in zip(self.inputs, self.block.ports):
            y = port.pos().y()
            text = metrics.elidedText(f"in: {name}", Qt.TextElideMode.ElideRight, width)
            painter.drawText(QRectF(12, y - 7, width, 14), Qt.AlignmentFlag.AlignVCenter, text)

    def _paint_footer(self, painter, area: QRectF) -> None:
        if self.has_error:
            first = next(d for d in self.diagnostics if d.is_error)
            metrics = QFontMetricsF(self._small_font)
            painter.setFont(self._small_font)
            painter.setPen(theme.ERROR)
            text = short_message(first, self.type_name, self.node_id)
            painter.drawText(
                area,
                Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
                metrics.elidedText(text, Qt.TextElideMode.ElideRight, area.width()),
            )
            return
        super()._paint_footer(painter, area)

    def _refresh_tooltip(self) -> None:
        block = getattr(self, "block", None)
        if block is None:
            return
        lines = [
            f"<b>{html.escape(self.node_id)}</b> — block "
            f"<i>{html.escape(block.title or block.name)}</i> ({html.escape(block.name)})"
        ]
        if block.missing:
            lines.append(f"<span style='color:#f25f5c'>No definition '{html.escape(block.name)}'"
                         " in this project</span>")  # fmt: skip
        elif block.description:
            lines.append(f"<span style='color:#98a2ae'>{html.escape(block.description)}</span>")
        if block.uses > 1:
            lines.append(
                f"Linked: {block.uses} uses share this definition — an edit inside changes all"
            )
        report = self.report
        if report is not None and report.output_shape is not None:
            lines.append(
                f"Output {html.escape(shape_text(report.output_shape))} · "
                f"{count_text(report.param_count)} params · {flops_text(report.flops)} FLOPs"
            )
        for d in self.diagnostics:
            color = "#f25f5c" if d.is_error else "#f0ad4e"
            label = "Error" if d.is_error else "Warning"
            lines.append(f"<span style='color:{color}'><b>{label}:</b></span> "
                         f"{html.escape(d.message)}")  # fmt: skip
        lines.append("<span style='color:#98a2ae'>Double-click to edit inside</span>")
        self.setToolTip("<br>".join(lines))

    # -- interaction -------------------------------------------------------------------------------

    def mouseDoubleClickEvent(self, event) -> None:  # noqa: N802 - Qt's name
        scene = self.scene()
        if event.button() == Qt.MouseButton.LeftButton and hasattr(scene, "blockOpened"):
            scene.blockOpened.emit(self.node_id)
            event.accept()
            return
        super().mouseDoubleClickEvent(event)


class OutputMarker(QGraphicsItem):
    """A pill right of a card's output port, inside a block: "this layer's output is the
    block's output"."""

    def __init__(self, card: NodeItem):
        super().__init__(card)
        self._font = theme.ui_font(7.5, bold=True)
        self.text = "block output"
        width = QFontMetricsF(self._font).horizontalAdvance(self.text) + 16
        self._rect = QRectF(14, -8, width, 16)
        self.setPos(card.output.pos())
        self.setZValue(3)
        self.setToolTip("The block's output: what follows the block on the outside gets this")

    def boundingRect(self) -> QRectF:  # noqa: N802 - Qt's name
        return self._rect.adjusted(-14, -2, 2, 2)

    def paint(self, painter, option, widget=None) -> None:
        painter.setRenderHint(painter.RenderHint.Antialiasing)
        painter.setPen(QPen(BLOCK_COLOR, 1.6))
        painter.drawLine(QPointF(6, 0), QPointF(self._rect.left(), 0))
        fill = QColor(BLOCK_COLOR)
        fill.setAlpha(52)
        painter.setBrush(fill)
        painter.setPen(QPen(BLOCK_COLOR.darker(115), 1.0))
        painter.drawRoundedRect(self._rect, 8, 8)
        painter.setFont(self._font)
        painter.setPen(BLOCK_COLOR.lighter(130))
        painter.drawText(self._rect, Qt.AlignmentFlag.AlignCenter, self.text)


def mark_block_output(scene, node_id: str | None) -> None:
    """Show the output marker on card ``node_id`` of ``scene`` only (``None``: on none)."""
    for card in scene.node_items.values():
        marker = getattr(card, "output_marker", None)
        if marker is not None and card.node_id != node_id:
            scene.removeItem(marker)
            card.output_marker = None
    card = scene.node_items.get(node_id) if node_id else None
    if card is not None and getattr(card, "output_marker", None) is None:
        card.output_marker = OutputMarker(card)
