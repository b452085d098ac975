"""The problems panel lists every diagnostic; clicking one focuses its node."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402

from engine.graph.diagnostics import ERROR, WARNING, Diagnostic  # noqa: E402
from widgets.diagnostics_panel import DiagnosticsPanel  # noqa: E402


@pytest.fixture
def panel(qtbot, editor):
    panel = DiagnosticsPanel(editor)
    qtbot.addWidget(panel)
    panel.resize(500, 300)
    panel.show()
    return panel


def rows(panel) -> list[str]:
    """Each row's message, and its fix on a second line."""
    texts = []
    for row in panel.rows:
        text = row.message.text()
        if row.fix is not None:
            text += "\n" + row.fix.text()
        texts.append(text)
    return texts


def test_a_valid_project_has_no_problems(panel):
    assert rows(panel) == []
    assert "No problems" in panel.summary.text()
    assert panel.pages.currentWidget() is panel.empty


def test_every_diagnostic_is_listed_errors_first_and_follows_edits(panel, editor):
    editor.remove_items(["input"])  # no Input: an error
    editor.add_node("Input", (0, 300))  # ... unconnected: a warning (and a new error)
    editor.set_param("deep1", "units", 0)
    expected = editor.diagnostics
    listed = panel.diagnostics
    assert sorted(d.message for d in listed) == sorted(d.message for d in expected)
    severities = [d.severity for d in listed]
    assert severities == sorted(severities, key=lambda s: s != ERROR)  # errors first
    errors = sum(d.is_error for d in expected)
    warnings = len(expected) - errors
    assert panel.summary.text().startswith(f"{errors} error")
    assert f"{warnings} warning" in panel.summary.text()
    units = next(r for r in rows(panel) if "units" in r)
    assert "\n<b>Fix:</b> set units to an integer &gt;= 1" in units
    assert panel.pages.currentWidget() is panel.scroll
    editor.undo_stack.undo()
    editor.undo_stack.undo()
    editor.undo_stack.undo()
    assert rows(panel) == []


def test_settings_problems_name_their_key(panel, editor):
    editor.set_settings("training", dict(editor.project.training, loss="nonsense"))
    assert panel.rows[0].where.text() == "training.loss"


def test_clicking_a_row_focuses_its_node(panel, view, editor, qtbot):
    from widgets.canvas import link_widgets  # noqa: PLC0415

    link_widgets(view, diagnostics=panel)
    editor.set_param("output", "units", -2)
    row = panel.rows[0]
    assert row.where.text() == "output"
    with qtbot.waitSignal(panel.nodeActivated) as blocker:
        QTest.mouseClick(row, Qt.MouseButton.LeftButton, pos=row.rect().center())
    assert blocker.args == ["output"]
    assert view.graph_scene.selected_node_ids() == ["output"]
    center = view.mapToScene(view.viewport().rect().center())
    assert (center - view.graph_scene.node_items["output"].center()).manhattanLength() < 3


def test_set_diagnostics_works_without_an_editor(qtbot):
    panel = DiagnosticsPanel()
    qtbot.addWidget(panel)
    panel.set_diagnostics(
        [
            Diagnostic(WARNING, "unreachable", "a warning", None, ("a",)),
            Diagnostic(ERROR, "cycle", "an error", "remove an edge", ("b", "c")),
        ]
    )
    assert rows(panel) == ["an error\n<b>Fix:</b> remove an edge", "a warning"]
    assert panel.rows[0].where.text() == "b, c"
    assert panel.summary.text() == "1 error, 1 warning"


def test_replaced_rows_stop_painting_at_once(qtbot):
    """New diagnostics replace the rows on screen immediately, not at the next event-loop
    turn (a grab right after a change showed old and new rows drawn over each other)."""
    panel = DiagnosticsPanel()
    qtbot.addWidget(panel)
    panel.show()
    qtbot.waitExposed(panel)
    panel.set_diagnostics([Diagnostic(ERROR, "no_input", "old problem", None, ())])
    old_rows = list(panel.rows)
    panel.set_diagnostics([Diagnostic(WARNING, "no_dataset", "new problem", None, ())])
    assert not any(row.isVisible() for row in old_rows)  # before deleteLater has run
    assert [row.isVisible() for row in panel.rows] == [True]
