"""The problems panel: every diagnostic of the project in one list.

Each row shows the severity, the message and, below it, the suggested fix; the column on
the right names the layer (or the settings key) it concerns. Clicking a row emits
:attr:`DiagnosticsPanel.nodeActivated` with the first node it names — connect it to
``GraphView.focus_node`` to select and centre that node.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPainter, QPen, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from engine.graph.diagnostics import Diagnostic
from widgets.canvas import theme

__all__ = ["DiagnosticsPanel", "severity_icon"]

_DIAGNOSTIC_ROLE = Qt.ItemDataRole.UserRole + 1
_ICONS: dict[str, QIcon] = {}


def severity_icon(severity: str, size: int = 14) -> QIcon:
    """A round badge: red "!" for errors, amber "!" for warnings, green tick for "ok"."""
    key = f"{severity}:{size}"
    if key in _ICONS:
        return _ICONS[key]
    color = {"error": theme.ERROR, "warning": theme.WARNING}.get(severity, theme.OK)
    pixmap = QPixmap(size * 2, size * 2)  # drawn at 2x so it stays crisp on HiDPI
    pixmap.setDevicePixelRatio(2.0)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(color)
    painter.drawEllipse(1, 1, size - 2, size - 2)
    pen = QPen(QColor("#17191d"), size / 8, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap)
    painter.setPen(pen)
    c = size / 2
    if severity in ("error", "warning"):
        painter.drawLine(QPointF(c, size * 0.28), QPointF(c, size * 0.58))
        painter.drawPoint(QPointF(c, size * 0.74))
    else:
        pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
        painter.setPen(pen)
        painter.drawPolyline(
            [
                QPointF(size * 0.3, c),
                QPointF(size * 0.45, size * 0.66),
                QPointF(size * 0.7, size * 0.36),
            ]
        )
    painter.end()
    _ICONS[key] = QIcon(pixmap)
    return _ICONS[key]


class DiagnosticsPanel(QWidget):
    """Lists diagnostics (from an editor's ``diagnosticsChanged``, or :meth:`set_diagnostics`).

    Signals:
        nodeActivated(str): a row naming a node was clicked (the first node it names).
        diagnosticActivated(object): a row was clicked (the :class:`Diagnostic`).
    """

    nodeActivated = Signal(str)
    diagnosticActivated = Signal(object)

    def __init__(self, editor=None, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("DiagnosticsPanel")
        self.editor = None
        self.diagnostics: list[Diagnostic] = []

        self.summary = QLabel(self)
        self.summary.setObjectName("DiagnosticsSummary")
        self.summary_icon = QLabel(self)
        header = QHBoxLayout()
        header.setContentsMargins(10, 6, 10, 6)
        header.setSpacing(6)
        header.addWidget(self.summary_icon)
        header.addWidget(self.summary, 1)

        self.tree = QTreeWidget(self)
        self.tree.setObjectName("DiagnosticsList")
        self.tree.setColumnCount(2)
        self.tree.setHeaderLabels(["Problem", "Where"])
        self.tree.setRootIsDecorated(False)
        self.tree.setIndentation(0)
        self.tree.setUniformRowHeights(False)
        self.tree.setWordWrap(True)
        self.tree.setAlternatingRowColors(False)
        self.tree.setIconSize(QSize(14, 14))
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.tree.header().setStretchLastSection(False)
        self.tree.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.tree.header().setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        self.tree.itemClicked.connect(self._activate)
        self.tree.itemActivated.connect(self._activate)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addLayout(header)
        layout.addWidget(self.tree, 1)
        self.set_editor(editor)

    def set_editor(self, editor) -> None:
        if self.editor is not None:
            self.editor.diagnosticsChanged.disconnect(self.set_diagnostics)
        self.editor = editor
        if editor is not None:
            editor.diagnosticsChanged.connect(self.set_diagnostics)
            self.set_diagnostics(editor.diagnostics)
        else:
            self.set_diagnostics([])

    def set_diagnostics(self, diagnostics: list[Diagnostic]) -> None:
        """Show these diagnostics, errors first (the compiler's order within each)."""
        ordered = [d for d in diagnostics if d.is_error] + [
            d for d in diagnostics if not d.is_error
        ]
        self.diagnostics = ordered
        self.tree.clear()
        for d in ordered:
            text = d.message if not d.fix else f"{d.message}\nFix: {d.fix}"
            where = ", ".join(d.node_ids[:3]) + ("…" if len(d.node_ids) > 3 else "")
            if not where:
                where = (d.key or "").removeprefix("graph").strip(".") or "project"
            item = QTreeWidgetItem([text, where])
            item.setIcon(0, severity_icon(d.severity))
            item.setToolTip(0, d.text())
            item.setToolTip(1, "Click to show it on the canvas" if d.node_ids else d.key or "")
            item.setData(0, _DIAGNOSTIC_ROLE, d)
            if d.node_ids:
                item.setForeground(1, QColor("#7cc4ff"))
            else:
                item.setForeground(1, theme.TEXT_MUTED)
            self.tree.addTopLevelItem(item)
        errors = sum(d.is_error for d in ordered)
        warnings = len(ordered) - errors
        if not ordered:
            self.summary.setText("No problems — the project is ready to train")
            self.summary_icon.setPixmap(severity_icon("ok").pixmap(14, 14))
        else:
            parts = []
            if errors:
                parts.append(f"{errors} error" + ("s" if errors != 1 else ""))
            if warnings:
                parts.append(f"{warnings} warning" + ("s" if warnings != 1 else ""))
            self.summary.setText(", ".join(parts))
            severity = "error" if errors else "warning"
            self.summary_icon.setPixmap(severity_icon(severity).pixmap(14, 14))
        self.tree.setVisible(bool(ordered))

    def _activate(self, item: QTreeWidgetItem, _column: int = 0) -> None:
        d = item.data(0, _DIAGNOSTIC_ROLE)
        if d is None:
            return
        self.diagnosticActivated.emit(d)
        if d.node_ids:
            self.nodeActivated.emit(d.node_ids[0])
