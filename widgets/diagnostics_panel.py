"""The problems panel: every diagnostic of the project in one list.

Each row shows the severity, the message and, below it, the suggested fix; on the right it
names the layer (or the settings key) it concerns. Clicking a row emits
:attr:`DiagnosticsPanel.nodeActivated` with the first node it names — connect it to
``GraphView.focus_node`` to select and centre that node.
"""

from __future__ import annotations

import html

from PySide6.QtCore import QPointF, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPainter, QPen, QPixmap
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from engine.graph.diagnostics import Diagnostic
from widgets.canvas import theme
from widgets.canvas.api import disconnect_quietly

__all__ = ["DiagnosticRow", "DiagnosticsPanel", "severity_icon", "where_text"]

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


class DiagnosticRow(QFrame):
    """One diagnostic: severity badge, message, suggested fix, and where it is."""

    clicked = Signal(object)

    def __init__(self, diagnostic: Diagnostic, parent: QWidget | None = None):
        super().__init__(parent)
        self.diagnostic = d = diagnostic
        self.setObjectName("DiagnosticRow")
        self.setProperty("severity", d.severity)
        if d.node_ids:
            self.setCursor(Qt.CursorShape.PointingHandCursor)
            self.setToolTip("Click to show it on the canvas")
        icon = QLabel()
        icon.setPixmap(severity_icon(d.severity).pixmap(14, 14))
        icon.setAlignment(Qt.AlignmentFlag.AlignTop)
        icon.setContentsMargins(0, 2, 0, 0)
        self.message = _rich_label(_esc(d.message), "message")
        text = QVBoxLayout()
        text.setSpacing(2)
        text.addWidget(self.message)
        self.fix = None
        if d.fix:
            self.fix = _rich_label(f"<b>Fix:</b> {_esc(d.fix)}", "fix")
            text.addWidget(self.fix)
        self.where = QLabel(_esc(where_text(d)))
        self.where.setObjectName("DiagnosticWhere")
        self.where.setProperty("link", bool(d.node_ids))
        self.where.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignRight)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 7, 10, 7)
        layout.setSpacing(8)
        layout.addWidget(icon)
        layout.addLayout(text, 1)
        layout.addWidget(self.where)

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802 - Qt's name
        if event.button() == Qt.MouseButton.LeftButton and self.rect().contains(
            event.position().toPoint()
        ):
            self.clicked.emit(self.diagnostic)
            event.accept()
            return
        super().mouseReleaseEvent(event)


def where_text(d: Diagnostic) -> str:
    """The layers a diagnostic names (at most three), else its place in the project file."""
    if d.node_ids:
        return ", ".join(d.node_ids[:3]) + ("…" if len(d.node_ids) > 3 else "")
    key = (d.key or "").removeprefix("graph").strip(".")
    return key or "project"


def _esc(text: str) -> str:
    return html.escape(str(text), quote=False)


def _rich_label(text: str, role: str) -> QLabel:
    label = QLabel(text)
    label.setTextFormat(Qt.TextFormat.RichText)
    label.setWordWrap(True)
    label.setProperty("role", role)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.NoTextInteraction)
    return label


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
        self._shown = False  # set_diagnostics has filled the list at least once
        self.rows: list[DiagnosticRow] = []

        self.summary = QLabel(self)
        self.summary.setObjectName("DiagnosticsSummary")
        self.summary_icon = QLabel(self)
        header = QHBoxLayout()
        header.setContentsMargins(10, 8, 10, 6)
        header.setSpacing(6)
        header.addWidget(self.summary_icon)
        header.addWidget(self.summary, 1)

        self.list_host = QWidget()
        self.list_host.setObjectName("DiagnosticsList")
        self.list_layout = QVBoxLayout(self.list_host)
        self.list_layout.setContentsMargins(8, 0, 8, 8)
        self.list_layout.setSpacing(5)
        self.list_layout.addStretch(1)
        self.scroll = QScrollArea(self)
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.scroll.setWidget(self.list_host)
        self.empty = QLabel(
            "Problems with the graph, its data or its training settings appear here, each "
            "with a suggested fix.",
            self,
        )
        self.empty.setObjectName("DiagnosticsEmpty")
        self.empty.setProperty("role", "muted")
        self.empty.setWordWrap(True)
        self.empty.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.empty.setContentsMargins(34, 0, 10, 0)
        self.pages = QStackedWidget(self)
        self.pages.addWidget(self.scroll)
        self.pages.addWidget(self.empty)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addLayout(header)
        layout.addWidget(self.pages, 1)
        self.set_editor(editor)

    def set_editor(self, editor) -> None:
        if self.editor is not None:
            disconnect_quietly(self.editor.diagnosticsChanged, self.set_diagnostics)
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
        if self._shown and ordered == self.diagnostics:
            return  # most edits leave the problems as they were: keep the rows
        self._shown = True
        self.diagnostics = ordered
        for row in self.rows:
            self.list_layout.removeWidget(row)
            # Hidden at once: deleteLater waits for the event loop, and until then the old
            # row would still paint over the new ones (a grab right after a change showed it).
            row.hide()
            row.deleteLater()
        self.rows = []
        for d in ordered:
            row = DiagnosticRow(d, self.list_host)
            row.clicked.connect(self._activate)
            self.list_layout.insertWidget(self.list_layout.count() - 1, row)
            row.show()
            self.rows.append(row)
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
        self.pages.setCurrentWidget(self.scroll if ordered else self.empty)

    def activate(self, index: int) -> None:
        """Act as if row ``index`` was clicked."""
        self._activate(self.diagnostics[index])

    def _activate(self, d: Diagnostic) -> None:
        self.diagnosticActivated.emit(d)
        if d.node_ids:
            self.nodeActivated.emit(d.node_ids[0])
