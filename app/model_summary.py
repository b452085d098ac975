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
        self.clear()
        reports = result.nodes
        ordered = [i for i in result.order if i in reports]
        ordered += [n.id for n in graph.nodes if n.id in reports and n.id not in ordered]
        for node_id in ordered:
            report = reports[node_id]
            params = "" if report.param_count is None else f"{report.param_count:,}"
            flops = "" if report.flops is None else f"{report.flops:,}"
            shape = fmt_shape(report.output_shape) if report.status == "ok" else "—"
            item = QTreeWidgetItem([node_id, report.type_name, shape, params, flops])
            for column in (3, 4):
                item.setTextAlignment(column, Qt.AlignmentFlag.AlignRight)
            if report.status != "ok":
                item.setForeground(2, theme.ERROR if report.status == "error" else theme.TEXT_FAINT)
            self.addTopLevelItem(item)
        total = QTreeWidgetItem(
            ["Total", "", "", f"{result.total_params:,}", f"{result.total_flops:,}"]
        )
        font = total.font(0)
        font.setBold(True)
        for column in range(len(self.COLUMNS)):
            total.setFont(column, font)
        for column in (3, 4):
            total.setTextAlignment(column, Qt.AlignmentFlag.AlignRight)
        self.addTopLevelItem(total)
