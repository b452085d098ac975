"""The Summary dock: Keras's ``model.summary()`` as a table that follows the editor."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHeaderView, QTreeWidget, QTreeWidgetItem, QWidget

from app.ui_text import fmt_shape
from widgets.canvas import theme

__all__ = ["ModelSummary"]


class ModelSummary(QTreeWidget):
    """Keras's ``model.summary()`` as a table: layer, type, output shape, parameters, FLOPs
    per node in execution order, with the totals on the last row. Follows the editor's
    ``checked`` signal."""

    COLUMNS = ("Layer", "Type", "Output shape", "Parameters", "FLOPs")

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("ModelSummary")
        self.setColumnCount(len(self.COLUMNS))
        self.setHeaderLabels(list(self.COLUMNS))
        self.setRootIsDecorated(False)
        self.setUniformRowHeights(True)
        self.setAlternatingRowColors(True)
        header = self.header()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        for column in (3, 4):
            self.headerItem().setTextAlignment(column, Qt.AlignmentFlag.AlignRight)

    def show_result(self, result, graph) -> None:
        """Show ``result``'s reports in execution order, with the totals last.

        Rows are updated in place and only the cells whose text changed are set: after one
        edit of a 300-node graph, clearing and rebuilding every row (each relayouting the
        resize-to-contents header) cost more than the check itself.
        """
        reports = result.nodes
        ordered = [i for i in result.order if i in reports]
        seen = set(ordered)
        ordered += [n.id for n in graph.nodes if n.id in reports and n.id not in seen]
        rows = []
        for node_id in ordered:
            report = reports[node_id]
            params = "" if report.param_count is None else f"{report.param_count:,}"
            flops = "" if report.flops is None else f"{report.flops:,}"
            shape = fmt_shape(report.output_shape) if report.status == "ok" else "—"
            rows.append(([node_id, report.type_name, shape, params, flops], report.status))
        rows.append(
            (["Total", "", "", f"{result.total_params:,}", f"{result.total_flops:,}"], None)
        )
        if self.topLevelItemCount() != len(rows):
            self._rebuild(len(rows))
        header = self.header()
        # Resize-to-contents recomputes every column on each cell's change: fix the widths
        # while the cells change and measure once at the end.
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        try:
            self._fill(rows)
        finally:
            header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
            header.setStretchLastSection(True)

    def _fill(self, rows) -> None:
        for index, (texts, status) in enumerate(rows):
            item = self.topLevelItem(index)
            for column, text in enumerate(texts):
                if item.text(column) != text:
                    item.setText(column, text)
            if status is None:
                continue
            role = Qt.ItemDataRole.ForegroundRole
            if status == "ok":
                # Back to the palette's text colour (a row can turn ok after an error).
                if item.data(2, role) is not None:
                    item.setData(2, role, None)
                continue
            color = theme.ERROR if status == "error" else theme.TEXT_FAINT
            if item.foreground(2).color() != color:
                item.setForeground(2, color)

    def _rebuild(self, count: int) -> None:
        """``count`` empty rows, the last one bold for the totals."""
        self.clear()
        items = []
        for _ in range(count):
            item = QTreeWidgetItem([""] * len(self.COLUMNS))
            for column in (3, 4):
                item.setTextAlignment(column, Qt.AlignmentFlag.AlignRight)
            items.append(item)
        font = items[-1].font(0)
        font.setBold(True)
        for column in range(len(self.COLUMNS)):
            items[-1].setFont(column, font)
        self.addTopLevelItems(items)
