"""The inspector's page for no single selection: the model (or the selected layers) summed
up — layer count, parameters, FLOPs per sample, inputs, outputs — and whether it is ready
to train."""

from __future__ import annotations

from PySide6.QtWidgets import QVBoxLayout, QWidget

from widgets.canvas.text import count_text, flops_text
from widgets.inspector_labels import esc, facts_grid, polish, rich_label

__all__ = ["ModelSummaryPage"]

SUMMARY_ROWS = (
    ("layers", "Layers"),
    ("params", "Parameters"),
    ("flops", "FLOPs / sample"),
    ("inputs", "Inputs"),
    ("outputs", "Outputs"),
)


class ModelSummaryPage(QWidget):
    """Totals for the whole model, or for a multiple selection."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("InspectorSummary")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 12, 12, 12)
        layout.setSpacing(10)
        # Titles wrap: a long project name must not widen the panel past its dock.
        self.title = rich_label("Model", "title", wrap=True)
        self.hint = rich_label("", "muted", wrap=True)
        layout.addWidget(self.title)
        layout.addWidget(self.hint)
        layout.addWidget(rich_label("SUMMARY", "section"))
        facts, self.values = facts_grid(SUMMARY_ROWS)
        layout.addWidget(facts)
        self.status = rich_label("", "ok", wrap=True)
        layout.addWidget(self.status)
        layout.addStretch(1)

    def show_summary(self, editor, selection: list[str]) -> None:
        """Fill the page from the editor's latest check; ``selection`` holds the selected ids."""
        values = self.values
        if editor is None:
            self.title.setText("No project")
            self.hint.setText("Open or create a project to edit its layers.")
            for value in values.values():
                value.setText("—")
            self.status.setText("")
            return
        result = editor.check_result
        chosen = [i for i in selection if i in result.nodes]
        if len(chosen) > 1:
            self.title.setText(f"{len(chosen)} layers selected")
            self.hint.setText("Select a single layer to edit its parameters.")
            reports = [result.nodes[i] for i in chosen]
        else:
            self.title.setText(esc(editor.graph.name))
            self.hint.setText("Select a layer on the canvas to edit it.")
            reports = list(result.nodes.values())
        # Layers as the status bar counts them: the Input nodes are data, not layers.
        ids = chosen if len(chosen) > 1 else list(result.nodes)
        types = {node.id: node.type for node in editor.graph.nodes}  # one pass, not one per id
        layers = sum(1 for i in ids if types.get(i) not in ("Input", "BlockInput"))
        values["layers"].setText(str(layers))
        values["params"].setText(count_text(sum(r.param_count or 0 for r in reports)))
        values["flops"].setText(flops_text(sum(r.flops or 0 for r in reports)))
        values["inputs"].setText(esc(", ".join(result.inputs) or "—"))
        values["outputs"].setText(esc(", ".join(result.outputs) or "—"))
        errors, warnings = len(result.errors), len(result.warnings)
        if errors:
            text = f"{errors} error" + ("s" if errors > 1 else "") + " to fix before training"
            polish(self.status, "role", "error")
        elif warnings:
            text = f"Ready to train · {warnings} warning" + ("s" if warnings > 1 else "")
            polish(self.status, "role", "warning")
        else:
            text = "Ready to train" if result.nodes else "The graph is empty"
            polish(self.status, "role", "ok" if result.nodes else "muted")
        self.status.setText(text)
