"""The inspector's ``padding`` editor (schema kind "padding"): the named choices in a list,
explicit zero padding typed as numbers, each edit one undo step, a bad text refused before
anything is stored; the canvas re-checks shapes with the new padding."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402

from widgets.inspector import Inspector  # noqa: E402
from widgets.padding_text import padding_text, parse_padding  # noqa: E402

EXAMPLES = Path(__file__).resolve().parents[2] / "resources" / "examples"


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("same", "same"),
        ("1", [[1, 1], [1, 1]]),
        ("1, 2", [[1, 1], [2, 2]]),
        ("(0, 1, 2, 1)", [[0, 1], [2, 1]]),
    ],
)
def test_padding_text_round_trip(text, value):
    assert parse_padding(text, ("valid", "same")) == (value, None)
    assert parse_padding(padding_text(value), ("valid", "same")) == (value, None)


@pytest.mark.parametrize("text", ["sam", "1, 2, 3", "-1", ""])
def test_padding_texts_that_are_not_padding_are_a_problem(text):
    value, problem = parse_padding(text, ("valid", "same"))
    assert value is None and problem


@pytest.fixture
def cnn(qtbot):
    from app.editing import EditorDocument  # noqa: PLC0415

    editor = EditorDocument.open(EXAMPLES / "digits_cnn.lcproj")
    inspector = Inspector(editor)
    qtbot.addWidget(inspector)
    inspector.resize(340, 820)
    inspector.show()
    inspector.show_node("conv1")
    yield editor, inspector
    editor.close()


def _type(combo, text: str) -> None:
    edit = combo.lineEdit()
    edit.setFocus()
    edit.selectAll()
    QTest.keyClicks(edit, text)
    QTest.keyClick(edit, Qt.Key.Key_Return)


def test_typing_explicit_padding_and_choosing_same(cnn):
    editor, inspector = cnn
    combo = inspector.fields["padding"].widget
    assert combo.currentText() == "same"
    assert [combo.itemText(i) for i in range(combo.count())] == ["valid", "same"]
    _type(combo, "0, 1, 2, 1")
    assert editor.graph.node("conv1").params["padding"] == [[0, 1], [2, 1]]
    count = editor.undo_stack.count()
    _type(combo, "1 2 3")  # three numbers: refused, nothing stored
    assert editor.undo_stack.count() == count
    assert combo.property("error") is True
    editor.undo_stack.undo()
    assert editor.graph.node("conv1").params["padding"] == "same"
    assert combo.currentText() == "same"  # the form follows the document
    editor.undo_stack.redo()
    assert combo.currentText() == "0, 1, 2, 1"
    combo.activated.emit(0)
    assert editor.graph.node("conv1").params["padding"] == "valid"
