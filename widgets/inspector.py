"""The inspector: a form for the selected layer, generated from its parameter schema.

For one selected node it shows the layer's type and description, its name (the node id,
renamable), one editor per parameter — spin boxes for numbers (with the schema's range),
a check box for flags, a list for choices, a text field for shapes and integer tuples that
is checked as you type — then the compiler's findings for the node (input and output
shapes, parameter count, FLOPs) and its diagnostics with their suggested fixes. With no
selection it summarises the whole model.

Edits are requests: the inspector calls the editor (``set_param``, ``rename_node``), which
turns them into undo commands; the form then follows the document's events. Values are
written into the widgets inside signal blockers, so showing a value never sends it back.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QSignalBlocker, Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QScrollArea,
    QSizePolicy,
    QStackedWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from widgets.canvas import theme
from widgets.canvas.api import disconnect_quietly
from widgets.canvas.block_item import BLOCK_PARTS
from widgets.canvas.node_item import layer_info_or_none
from widgets.canvas.text import count_text, flops_text, shape_text
from widgets.inspector_fields import NONE_TEXT, Field, list_text, make_field, parse_int_list
from widgets.inspector_labels import (
    diagnostic_card,
    esc,
    facts_grid,
    param_tooltip,
    polish,
    rich_label,
)
from widgets.inspector_summary import ModelSummaryPage

__all__ = ["Inspector", "parse_int_list"]


# Every layer but Input can be frozen; the compiler reads ``"trainable": false`` beside the
# schema's parameters (transfer learning: keep a pre-trained base, train a new head).
TRAINABLE_PARAM = {
    "name": "trainable",
    "kind": "bool",
    "default": True,
    "help": "Update this layer's weights during training (off freezes them, as in Keras)",
}


def _form_params(info) -> list[dict]:
    """The fields of a layer type's form: its schema, then the trainable switch."""
    params = list(info.params)
    if info.type_name != "Input":
        params.append(TRAINABLE_PARAM)
    return params


# -- the panel -------------------------------------------------------------------------------------


class Inspector(QScrollArea):
    """Shows and edits the selected node; summarises the model when nothing is selected.

    Connect the canvas's ``selectedNodesChanged(list)`` to :meth:`show_nodes`.
    """

    def __init__(self, editor=None, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("Inspector")
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.editor = None
        self.node_id: str | None = None
        self._selection: list[str] = []
        self._type: str | None = None
        self.fields: dict[str, Field] = {}
        self._value_problems: dict[str, str] = {}
        self._labels: dict[str, QLabel] = {}
        self._resets: dict[str, QToolButton] = {}

        self.pages = QStackedWidget()
        self.pages.setObjectName("InspectorPages")
        self.setWidget(self.pages)
        self._summary_page = ModelSummaryPage()
        # The page's labels, under the names the window and its tests read.
        self.summary_title = self._summary_page.title
        self.summary_values = self._summary_page.values
        self.summary_status = self._summary_page.status
        self._node_page = QWidget()
        self._node_page.setObjectName("InspectorNodePage")
        self.pages.addWidget(self._summary_page)
        self.pages.addWidget(self._node_page)
        self._build_node_page()
        self.set_editor(editor)

    # -- wiring ------------------------------------------------------------------------------------

    def set_editor(self, editor) -> None:
        if self.editor is not None:
            disconnect_quietly(self.editor.graphChanged, self._on_graph_event)
            disconnect_quietly(self.editor.checked, self._on_checked)
        self.editor = editor
        self._selection = []
        self.node_id = None
        self._type = None
        if editor is not None:
            editor.graphChanged.connect(self._on_graph_event)
            editor.checked.connect(self._on_checked)
        self._show()

    def show_nodes(self, node_ids: list[str]) -> None:
        """Show the single selected node, or a summary for none or several."""
        self._selection = list(node_ids)
        self.node_id = node_ids[0] if len(node_ids) == 1 else None
        self._show()

    def show_node(self, node_id: str | None) -> None:
        self.show_nodes([node_id] if node_id else [])

    def _on_graph_event(self, event) -> None:
        if event.kind == "node_renamed":
            self._selection = [event.new if i == event.old else i for i in self._selection]
            if self.node_id == event.old:
                self.node_id = event.new
                with QSignalBlocker(self.name_edit):
                    self.name_edit.setText(event.new)
                self._set_name_problem(None)
                return
        if event.kind == "node_removed" and event.node_id in self._selection:
            self._selection.remove(event.node_id)
            if self.node_id == event.node_id:
                self.node_id = None
            self._show()
            return
        if event.kind == "params_changed" and event.node_id == self.node_id:
            self._show_values()

    def _on_checked(self, _result) -> None:
        if self.node_id is not None:
            self._show_report()
        else:
            self._summary_page.show_summary(self.editor, self._selection)

    def _show(self) -> None:
        editor = self.editor
        if editor is None or self.node_id is None or self.node_id not in editor.graph:
            self.node_id = None
            self._type = None
            self.pages.setCurrentWidget(self._summary_page)
            self._summary_page.show_summary(self.editor, self._selection)
            return
        node = editor.graph.node(self.node_id)
        if node.type != self._type:
            self._build_form(node.type)
        self.pages.setCurrentWidget(self._node_page)
        with QSignalBlocker(self.name_edit):
            self.name_edit.setText(node.id)
        self._set_name_problem(None)
        self._show_values()
        self._show_report()

    # -- the node page -----------------------------------------------------------------------------

    def _build_node_page(self) -> None:
        layout = QVBoxLayout(self._node_page)
        layout.setContentsMargins(12, 12, 12, 12)
        layout.setSpacing(10)

        header = QFrame()
        header.setObjectName("InspectorHeader")
        head = QHBoxLayout(header)
        head.setContentsMargins(0, 0, 0, 0)
        head.setSpacing(10)
        self.band = QFrame()
        self.band.setObjectName("InspectorBand")
        self.band.setFixedWidth(4)
        titles = QVBoxLayout()
        titles.setSpacing(1)
        self.type_label = rich_label("", "title", wrap=True)
        self.category_label = rich_label("", "muted")
        titles.addWidget(self.type_label)
        titles.addWidget(self.category_label)
        head.addWidget(self.band)
        head.addLayout(titles, 1)
        layout.addWidget(header)

        self.description = rich_label("", "description", wrap=True)
        layout.addWidget(self.description)

        layout.addWidget(rich_label("LAYER NAME", "section"))
        self.name_edit = QLineEdit()
        self.name_edit.setObjectName("NodeName")
        self.name_edit.setToolTip("The layer's name: its id in the graph, model files and ONNX")
        self.name_edit.textEdited.connect(self._name_typing)
        self.name_edit.editingFinished.connect(self._name_finished)
        layout.addWidget(self.name_edit)
        self.name_problem = rich_label("", "error", wrap=True)
        self.name_problem.hide()
        layout.addWidget(self.name_problem)

        self.params_title = rich_label("PARAMETERS", "section")
        layout.addWidget(self.params_title)
        self.form_host = QWidget()
        self.form = QFormLayout(self.form_host)
        self.form.setContentsMargins(0, 0, 0, 0)
        self.form.setHorizontalSpacing(10)
        self.form.setVerticalSpacing(7)
        self.form.setLabelAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        self.form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        layout.addWidget(self.form_host)

        layout.addWidget(rich_label("OUTPUT", "section"))
        facts, self.fact_values = facts_grid(
            (("inputs", "Input"), ("output", "Output"), ("params", "Parameters"),
             ("flops", "FLOPs / sample")),
            selectable=True,
        )  # fmt: skip
        layout.addWidget(facts)

        self.problems_title = rich_label("PROBLEMS", "section")
        layout.addWidget(self.problems_title)
        self.problems = QVBoxLayout()
        self.problems.setSpacing(6)
        layout.addLayout(self.problems)
        layout.addStretch(1)

    def _build_form(self, type_name: str) -> None:
        while self.form.rowCount():
            self.form.removeRow(0)
        self.fields.clear()
        self._labels.clear()
        self._resets.clear()
        self._type = type_name
        info = layer_info_or_none(type_name)
        color = theme.node_color(type_name, info.category if info else None)
        self.band.setStyleSheet(f"background: {color.name()}; border-radius: 2px;")
        if info is None and type_name in BLOCK_PARTS:  # a block or its port, not a layer
            title, kind, text, color = BLOCK_PARTS[type_name]
            self.band.setStyleSheet(f"background: {color.name()}; border-radius: 2px;")
            self.type_label.setText(title)
            self.category_label.setText(kind)
            self.description.setText(text)
            self.params_title.hide()
            return
        if info is None:
            self.type_label.setText(esc(type_name))
            self.category_label.setText("Unknown layer type")
            self.description.setText(
                "LayerCanvas has no layer type of this name, so it cannot be edited here. "
                "See the problem below for the closest type."
            )
            self.params_title.hide()
            return
        self.type_label.setText(esc(info.display_name))
        suffix = f" · {info.type_name}" if info.type_name != info.display_name else ""
        self.category_label.setText(esc(f"{info.category}{suffix}"))
        self.description.setText(esc(info.description))
        self.params_title.setVisible(bool(_form_params(info)))
        for param in _form_params(info):
            name = param["name"]
            field = make_field(param, lambda value, n=name: self._commit(n, value))
            field.widget.setObjectName(f"param_{name}")
            field.widget.setToolTip(param.get("help", ""))
            label = rich_label(name, "param")
            label.setToolTip(param_tooltip(param))
            reset = QToolButton()
            reset.setObjectName("ResetButton")
            reset.setText("↺")
            reset.setAutoRaise(True)
            default = list_text(param.get("default"))
            reset.setToolTip(f"Back to the default ({default or NONE_TEXT})")
            reset.clicked.connect(lambda _=False, n=name: self._commit(n, None))
            row = QWidget()
            row_layout = QHBoxLayout(row)
            row_layout.setContentsMargins(0, 0, 0, 0)
            row_layout.setSpacing(4)
            if isinstance(field.widget, QCheckBox):
                row_layout.addWidget(field.widget)
                row_layout.addStretch(1)
            else:
                field.widget.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
                row_layout.addWidget(field.widget, 1)
            row_layout.addWidget(reset)
            self.form.addRow(label, row)
            self.fields[name] = field
            self._labels[name] = label
            self._resets[name] = reset

    def _show_values(self) -> None:
        if self.node_id is None:
            return
        node = self.editor.graph.node(self.node_id)
        info = layer_info_or_none(node.type)
        if info is None:
            return
        # Parameters in the file that the type does not take: shown with a way out.
        for i in reversed(range(self.form.rowCount())):
            label = self.form.itemAt(i, QFormLayout.ItemRole.LabelRole)
            if label is not None and label.widget().property("unknownParam"):
                self.form.removeRow(i)
        for name, value in node.params.items():
            if name not in self.fields:
                self._add_unknown_row(name, value)
        self._value_problems = {}
        for param in _form_params(info):
            name = param["name"]
            field = self.fields[name]
            explicit = name in node.params
            value = node.params.get(name, param.get("default"))
            if not field.show_value(value):
                self._value_problems[name] = f"{value!r} is not a valid value here"
            polish(self._labels[name], "explicit", explicit)
            self._resets[name].setVisible(explicit and not param.get("required"))
        self._mark_fields()

    def _mark_fields(self) -> None:
        """Red frames on the fields a diagnostic names, or whose value cannot be shown."""
        by_param = {}
        if self.editor is not None and self.node_id is not None:
            for d in self.editor.check_result.for_node(self.node_id):
                if d.param:
                    by_param.setdefault(d.param, d.text())
        for name, field in self.fields.items():
            field.set_problem(by_param.get(name) or self._value_problems.get(name))

    def _add_unknown_row(self, name: str, value: Any) -> None:
        label = rich_label(name, "param")
        label.setProperty("unknownParam", True)
        polish(label, "error", True)
        button = QToolButton()
        button.setText("Remove")
        button.setObjectName(f"remove_{name}")
        button.setToolTip(f"{self._type} has no parameter '{name}'; remove it from this layer")
        button.clicked.connect(lambda _=False, n=name: self._commit(n, None))
        row = QWidget()
        row_layout = QHBoxLayout(row)
        row_layout.setContentsMargins(0, 0, 0, 0)
        value_label = rich_label(esc(list_text(value)), "error")
        row_layout.addWidget(value_label, 1)
        row_layout.addWidget(button)
        self.form.addRow(label, row)
        label.show()
        row.show()

    def _show_report(self) -> None:
        if self.node_id is None or self.editor is None:
            return
        result = self.editor.check_result
        report = result.nodes.get(self.node_id)
        facts = self.fact_values
        if report is None or not report.input_shapes:
            facts["inputs"].setText("—")
        else:
            facts["inputs"].setText("<br>".join(esc(shape_text(s)) for s in report.input_shapes))
        if report is not None and report.output_shape is not None:
            facts["output"].setText(esc(shape_text(report.output_shape)))
            facts["params"].setText(count_text(report.param_count))
            facts["flops"].setText(flops_text(report.flops))
        else:
            unknown = "not known yet" if report is None or report.status == "unknown" else "—"
            for key in ("output", "params", "flops"):
                facts[key].setText(unknown)

        while self.problems.count():
            widget = self.problems.takeAt(0).widget()
            if widget is not None:
                widget.deleteLater()
        diagnostics = result.for_node(self.node_id)
        self.problems_title.setText("PROBLEMS" if diagnostics else "STATUS")
        if not diagnostics:
            ok = report is not None and report.status == "ok"
            text = "No problems." if ok else "Waiting for the layers before it to be fixed."
            self.problems.addWidget(rich_label(text, "ok" if ok else "muted", wrap=True))
        for d in diagnostics:
            self.problems.addWidget(diagnostic_card(d))
        for i in range(self.problems.count()):
            # Shown now, not on the next event-loop turn as a layout would do it.
            self.problems.itemAt(i).widget().show()
        self._mark_fields()

    # -- edits -------------------------------------------------------------------------------------

    def _commit(self, name: str, value: Any) -> None:
        if self.editor is None or self.node_id is None:
            return
        self.editor.set_param(self.node_id, name, value)

    def _name_typing(self, text: str) -> None:
        if self.editor is None or self.node_id is None:
            return
        self._set_name_problem(self.editor.node_id_problem(text, self.node_id))

    def _name_finished(self) -> None:
        if self.editor is None or self.node_id is None:
            return
        new_id = self.name_edit.text()
        if new_id == self.node_id:
            self._set_name_problem(None)
            return
        try:
            self.editor.rename_node(self.node_id, new_id)
        except ValueError as err:
            self._set_name_problem(str(err))
            return
        self._set_name_problem(None)

    def _set_name_problem(self, problem: str | None) -> None:
        polish(self.name_edit, "error", bool(problem))
        self.name_problem.setText(esc(problem or ""))
        self.name_problem.setVisible(bool(problem))

    def keyPressEvent(self, event) -> None:  # noqa: N802 - Qt's name
        # Escape in the name field gives the name back.
        if event.key() == Qt.Key.Key_Escape and self.node_id is not None:
            with QSignalBlocker(self.name_edit):
                self.name_edit.setText(self.node_id)
            self._set_name_problem(None)
            event.accept()
            return
        super().keyPressEvent(event)
