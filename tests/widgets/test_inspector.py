"""The inspector: a form from the schema, edits as undo commands, live diagnostics."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402
from PySide6.QtWidgets import (  # noqa: E402
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QLabel,
    QLineEdit,
    QSpinBox,
    QToolButton,
)

from engine.graph.registry_info import layer_info  # noqa: E402
from widgets.canvas.text import count_text  # noqa: E402
from widgets.inspector import Inspector  # noqa: E402


@pytest.fixture
def inspector(qtbot, editor):
    inspector = Inspector(editor)
    qtbot.addWidget(inspector)
    inspector.resize(320, 800)
    inspector.show()
    return inspector


def field(inspector, name):
    return inspector.fields[name].widget


def labels_text(widget) -> str:
    return "\n".join(label.text() for label in widget.findChildren(QLabel) if label.isVisible())


def type_into(widget, text: str) -> None:
    widget.setFocus()
    widget.selectAll()
    QTest.keyClicks(widget, text)
    QTest.keyClick(widget, Qt.Key.Key_Return)


def test_the_form_follows_the_schema(inspector, editor):
    inspector.show_node("wide")
    schema = [p["name"] for p in layer_info("Dense").params]
    assert list(inspector.fields) == [*schema, "trainable"]
    assert isinstance(field(inspector, "units"), QSpinBox)
    assert isinstance(field(inspector, "activation"), QComboBox)
    assert isinstance(field(inspector, "use_bias"), QCheckBox)
    assert field(inspector, "units").value() == 64
    assert field(inspector, "units").maximum() == 1_000_000
    assert field(inspector, "activation").currentText() == "relu"
    assert field(inspector, "use_bias").isChecked()
    assert inspector.name_edit.text() == "wide"
    assert inspector.type_label.text() == "Dense"
    editor.add_node("Dropout", (0, 300))
    inspector.show_node("dropout_1")
    assert isinstance(field(inspector, "rate"), QDoubleSpinBox)
    assert field(inspector, "rate").maximum() == 1.0
    assert field(inspector, "seed").text() == "none"  # nullable: the lowest slot
    editor.add_node("Conv2D", (0, 400))
    inspector.show_node("conv2d_1")
    assert isinstance(field(inspector, "kernel_size"), QLineEdit)
    assert field(inspector, "kernel_size").text() == "3, 3"


def test_a_spin_box_edit_is_one_undo_command(inspector, editor):
    inspector.show_node("wide")
    box = field(inspector, "units")
    type_into(box, "80")
    assert editor.graph.node("wide").params["units"] == 80
    assert editor.undo_stack.count() == 1
    QTest.keyClick(box, Qt.Key.Key_Up)
    QTest.keyClick(box, Qt.Key.Key_Up)
    assert editor.graph.node("wide").params["units"] == 82
    assert editor.undo_stack.count() == 1  # steps of one parameter merge
    editor.undo_stack.undo()
    assert box.value() == 64  # the form follows the document
    assert editor.undo_stack.count() == 1  # showing the old value sent nothing back


def test_choices_flags_and_floats(inspector, editor):
    inspector.show_node("wide")
    combo = field(inspector, "activation")
    combo.setFocus()
    QTest.keyClick(combo, Qt.Key.Key_Down)
    assert editor.graph.node("wide").params["activation"] == "sigmoid"
    QTest.mouseClick(field(inspector, "use_bias"), Qt.MouseButton.LeftButton)
    assert editor.graph.node("wide").params["use_bias"] is False
    editor.add_node("Dropout", (0, 300))
    inspector.show_node("dropout_1")
    type_into(field(inspector, "rate"), "0.25")
    assert editor.graph.node("dropout_1").params["rate"] == 0.25
    seed = field(inspector, "seed")
    type_into(seed, "7")
    assert editor.graph.node("dropout_1").params["seed"] == 7
    seed.setValue(seed.minimum())  # back to "none": the parameter is removed
    assert "seed" not in editor.graph.node("dropout_1").params


def test_a_tuple_field_is_checked_as_you_type(inspector, editor):
    editor.add_node("Conv2D", (0, 400))
    inspector.show_node("conv2d_1")
    edit = field(inspector, "kernel_size")
    type_into(edit, "5, 3")
    assert editor.graph.node("conv2d_1").params["kernel_size"] == [5, 3]
    count = editor.undo_stack.count()
    type_into(edit, "0")
    assert edit.property("error") is True
    assert "out of range" in edit.toolTip()
    assert editor.graph.node("conv2d_1").params["kernel_size"] == [5, 3]
    assert editor.undo_stack.count() == count
    type_into(edit, "7")
    assert editor.graph.node("conv2d_1").params["kernel_size"] == 7
    assert not edit.property("error")


def test_renaming_through_the_name_field(inspector, editor):
    inspector.show_node("deep1")
    type_into(inspector.name_edit, "hidden_a")
    assert "hidden_a" in editor.graph and "deep1" not in editor.graph
    assert inspector.node_id == "hidden_a"
    inspector.name_edit.setFocus()
    inspector.name_edit.selectAll()
    QTest.keyClicks(inspector.name_edit, "wide")
    assert inspector.name_problem.isVisible()
    assert "already called 'wide'" in inspector.name_problem.text()
    QTest.keyClick(inspector.name_edit, Qt.Key.Key_Return)
    assert "hidden_a" in editor.graph
    assert editor.undo_stack.count() == 1
    QTest.keyClick(inspector, Qt.Key.Key_Escape)
    assert inspector.name_edit.text() == "hidden_a"
    editor.undo_stack.undo()
    assert inspector.name_edit.text() == "deep1"


def test_diagnostics_with_their_fix_appear_and_go_as_the_node_is_edited(inspector, editor):
    inspector.show_node("deep2")
    assert "No problems." in labels_text(inspector)
    box = field(inspector, "units")
    editor.set_param("deep2", "units", 0)  # as a hand-edited file might have it
    assert box.value() == 0  # shown as it is, not clamped into the range
    text = labels_text(inspector)
    assert "out of range" in text
    assert "<b>Fix:</b> set units to an integer &gt;= 1" in text
    assert box.property("error") is True
    assert inspector.fact_values["output"].text() == "—"
    type_into(box, "12")
    assert "No problems." in labels_text(inspector)
    assert not box.property("error")
    assert inspector.fact_values["output"].text() == "12"
    assert inspector.fact_values["params"].text() == count_text(32 * 12 + 12)


def test_facts_show_shapes_params_and_flops(inspector, editor):
    inspector.show_node("merge")
    assert inspector.fact_values["inputs"].text() == "64<br>32"
    assert inspector.fact_values["output"].text() == "96"
    inspector.show_node("output")
    assert inspector.fact_values["params"].text() == "970"


def test_unknown_parameters_can_be_removed(inspector, editor):
    editor.set_param("wide", "unit", 5)  # a typo from a hand-edited file
    inspector.show_node("wide")
    remove = inspector.findChild(QToolButton, "remove_unit")
    assert remove is not None and remove.isVisible()
    assert "no such parameter" in labels_text(inspector)
    QTest.mouseClick(remove, Qt.MouseButton.LeftButton)
    assert "unit" not in editor.graph.node("wide").params
    assert inspector.findChild(QToolButton, "remove_unit") is None


def test_a_value_of_the_wrong_type_is_shown_as_an_error_not_a_crash(inspector, editor):
    editor.set_param("wide", "units", "many")
    editor.set_param("wide", "activation", "swoosh")
    inspector.show_node("wide")
    assert field(inspector, "units").property("error") is True
    combo = field(inspector, "activation")
    assert combo.currentText() == "swoosh (not allowed)"
    assert combo.property("error") is True


def test_reset_buttons_bring_back_defaults(inspector, editor):
    inspector.show_node("wide")
    reset = inspector._resets["activation"]
    assert reset.isVisibleTo(inspector)
    assert not inspector._resets["units"].isVisibleTo(inspector)  # required: no default to use
    assert not inspector._resets["use_bias"].isVisibleTo(inspector)  # not set
    QTest.mouseClick(reset, Qt.MouseButton.LeftButton)
    assert "activation" not in editor.graph.node("wide").params
    assert field(inspector, "activation").currentText() == "linear"


def test_the_summary_page_without_a_single_selection(inspector, editor):
    inspector.show_nodes([])
    assert inspector.pages.currentWidget() is inspector._summary_page
    result = editor.check_result
    # Counted as the status bar counts them: every node but the Inputs.
    layers = [n for n in editor.graph.nodes if n.type != "Input"]
    assert inspector.summary_values["layers"].text() == str(len(layers))
    assert inspector.summary_values["params"].text() == count_text(result.total_params)
    assert inspector.summary_status.text() == "Ready to train"
    inspector.show_nodes(["wide", "deep1"])
    assert inspector.summary_title.text() == "2 layers selected"
    assert inspector.summary_values["params"].text() == count_text(4160 + 2080)
    editor.set_param("wide", "units", 0)
    assert "1 error" in inspector.summary_status.text()


def test_the_inspector_follows_the_canvas_selection_and_removals(inspector, view, editor):
    from widgets.canvas import link_widgets  # noqa: PLC0415

    link_widgets(view, inspector=inspector)
    view.graph_scene.select_nodes(["deep1"])
    assert inspector.node_id == "deep1"
    assert inspector.pages.currentWidget() is inspector._node_page
    editor.remove_items(["deep1"])
    assert inspector.node_id is None
    assert inspector.pages.currentWidget() is inspector._summary_page


def test_an_unknown_layer_type_is_explained(inspector, editor):
    node_id = editor.add_node("Dence", (0, 0))
    inspector.show_node(node_id)
    assert inspector.fields == {}
    assert "Unknown layer type" in inspector.category_label.text()
    assert "did you mean 'Dense'?" in labels_text(inspector)


def test_the_panel_fits_a_narrow_dock_whatever_it_shows(inspector, editor):
    editor.rename_project("A project with a long name that would widen a panel a lot")
    for node_id in [None, "wide", "merge"]:
        inspector.show_node(node_id)
        assert inspector.pages.minimumSizeHint().width() <= 300, node_id


def test_freezing_a_layer_is_an_undoable_edit_the_compiler_honours(inspector, editor):
    """The trainable switch writes ``"trainable": false`` on the node; the built model's
    layer is then frozen (transfer learning from the canvas)."""
    from engine.graph.compiler import build_model

    inspector.show_node("wide")
    switch = field(inspector, "trainable")
    assert isinstance(switch, QCheckBox) and switch.isChecked()
    QTest.mouseClick(switch, Qt.MouseButton.LeftButton)
    assert editor.graph.node("wide").params["trainable"] is False
    layer = build_model(editor.graph).get_layer("wide")
    assert not layer.trainable and layer.trainable_weights == []
    editor.undo_stack.undo()
    assert "trainable" not in editor.graph.node("wide").params
    assert switch.isChecked()
    inspector.show_node(next(n.id for n in editor.graph.nodes if n.type == "Input"))
    assert "trainable" not in inspector.fields
