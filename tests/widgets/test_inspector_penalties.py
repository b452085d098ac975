"""The inspector's regularizer and constraint editors: a name list and its arguments,
each edit one undo step, bad values from a file shown as errors."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402
from PySide6.QtWidgets import QComboBox, QLineEdit  # noqa: E402

from widgets.inspector import Inspector  # noqa: E402
from widgets.inspector_fields import arguments_text, parse_arguments  # noqa: E402


@pytest.fixture
def inspector(qtbot, editor):
    inspector = Inspector(editor)
    qtbot.addWidget(inspector)
    inspector.resize(320, 800)
    inspector.show()
    inspector.show_node("wide")  # a Dense layer
    return inspector


def _parts(inspector, name) -> tuple[QComboBox, QLineEdit]:
    widget = inspector.fields[name].widget
    return widget.findChild(QComboBox, "names"), widget.findChild(QLineEdit, "arguments")


def _choose(combo: QComboBox, text: str) -> None:
    index = combo.findText(text)
    assert index >= 0, text
    combo.setCurrentIndex(index)
    combo.activated.emit(index)


def _type(edit: QLineEdit, text: str) -> None:
    edit.setFocus()
    edit.selectAll()
    QTest.keyClicks(edit, text)
    QTest.keyClick(edit, Qt.Key.Key_Return)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("l2=0.0001", {"l2": 0.0001}),
        ("l1=0.01, l2=1e-3", {"l1": 0.01, "l2": 0.001}),
        ("factor=0.1, mode=columns", {"factor": 0.1, "mode": "columns"}),
        ("max_value=3, axis=[0, 1, 2]", {"max_value": 3, "axis": [0, 1, 2]}),
        ("", {}),
    ],
)
def test_arguments_are_read_and_written_back(text, value):
    assert parse_arguments(text) == (value, None)
    assert parse_arguments(arguments_text(value)) == (value, None)


def test_arguments_that_are_not_name_value_pairs_are_a_problem():
    arguments, problem = parse_arguments("0.01")
    assert arguments is None and "name=value" in problem


def test_choosing_a_regularizer_and_editing_its_arguments(inspector, editor):
    names, arguments = _parts(inspector, "kernel_regularizer")
    assert names.currentText() == "none" and not arguments.isEnabled()
    assert [names.itemText(i) for i in range(names.count())] == [
        "none",
        "l1",
        "l2",
        "l1_l2",
        "orthogonal_regularizer",
    ]
    _choose(names, "l2")
    assert editor.graph.node("wide").params["kernel_regularizer"] == {"name": "l2", "l2": 0.01}
    assert arguments.text() == "l2=0.01"
    _type(arguments, "l2=0.0001")
    assert editor.graph.node("wide").params["kernel_regularizer"] == {"name": "l2", "l2": 0.0001}
    # Successive edits of one parameter merge into one undo step, as spin-box steps do.
    assert editor.undo_stack.count() == 1
    editor.undo_stack.undo()
    assert "kernel_regularizer" not in editor.graph.node("wide").params
    assert names.currentText() == "none" and arguments.text() == ""  # the form follows
    editor.undo_stack.redo()
    assert arguments.text() == "l2=0.0001"
    _choose(names, "none")
    assert "kernel_regularizer" not in editor.graph.node("wide").params
    assert not arguments.isEnabled()


def test_choosing_a_constraint_gives_its_keras_defaults(inspector, editor):
    names, arguments = _parts(inspector, "kernel_constraint")
    _choose(names, "max_norm")
    assert editor.graph.node("wide").params["kernel_constraint"] == {
        "name": "max_norm",
        "max_value": 2,
        "axis": 0,
    }
    _type(arguments, "max_value=3, axis=0")
    assert editor.graph.node("wide").params["kernel_constraint"]["max_value"] == 3


def test_bad_values_are_marked_not_lost(inspector, editor):
    editor.set_param("wide", "kernel_regularizer", {"name": "l2", "l2": -1})
    inspector.show_node("wide")
    widget = inspector.fields["kernel_regularizer"].widget
    assert widget.property("error") is True
    assert "l2 must be" in widget.toolTip()
    names, arguments = _parts(inspector, "kernel_regularizer")
    assert arguments.text() == "l2=-1"
    editor.set_param("wide", "bias_constraint", {"name": "max_nrom"})
    inspector.show_node("wide")
    names, _ = _parts(inspector, "bias_constraint")
    assert names.currentText() == "max_nrom (not allowed)"
    assert inspector.fields["bias_constraint"].widget.property("error") is True
    # Text that is not name=value pairs is refused before anything is stored.
    names, arguments = _parts(inspector, "activity_regularizer")
    _choose(names, "l1")
    count = editor.undo_stack.count()
    _type(arguments, "lots")
    assert editor.undo_stack.count() == count
    assert inspector.fields["activity_regularizer"].widget.property("error") is True
