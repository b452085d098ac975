"""The canvas view's painting (a mixin of :class:`widgets.canvas.view.GraphView`): the
grid behind the graph, and on an empty canvas a note saying how to start."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPen

from widgets.canvas import theme

__all__ = ["PaintMixin"]


class PaintMixin:
    """Needs ``zoom``, ``graph_scene``, ``editor`` and ``viewport`` from the view."""

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
            "Drag a layer from the palette (or press Tab and type), then connect the ports.",
        )
        painter.restore()
