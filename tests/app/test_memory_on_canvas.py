"""In the app, a layer made too large for this machine's memory is a problem like any other:
the problems panel lists it with its fix, the canvas marks the node, and undo clears both."""

from pathlib import Path

import pytest

pytest.importorskip("PySide6")

from engine.graph.memory import ENV_LIMIT  # noqa: E402

EXAMPLE = Path(__file__).resolve().parents[2] / "resources" / "examples"


@pytest.fixture
def editor(qtbot, monkeypatch):
    from app.editing import EditorDocument  # noqa: PLC0415

    monkeypatch.setenv(ENV_LIMIT, "64M")
    editor = EditorDocument.open(EXAMPLE / "two_branch_functional.lcproj")
    yield editor
    editor.close()


def test_a_too_wide_layer_shows_on_the_panel_and_the_canvas_and_undo_clears_it(qtbot, editor):
    from widgets.canvas import GraphView  # noqa: PLC0415
    from widgets.diagnostics_panel import DiagnosticsPanel  # noqa: PLC0415

    panel = DiagnosticsPanel(editor)
    view = GraphView()
    for widget in (panel, view):
        qtbot.addWidget(widget)
    view.set_editor(editor)
    view.show()
    assert editor.check_result.ok
    card = view.graph_scene.node_items["wide"]
    assert not card.has_error

    editor.set_param("wide", "units", 100000)  # 64 x 100,000 weights, trained with Adam

    [problem] = [d for d in panel.diagnostics if d.code == "memory"]
    assert problem.is_error and problem.node_ids == ("wide",)
    assert "this model needs" in problem.message and f"{ENV_LIMIT} allows 64.0 MiB" in (
        problem.message
    )
    assert problem.fix.startswith("reduce units in wide")
    [row] = [r for r in panel.rows if "this model needs" in r.message.text()]
    assert "reduce units in wide" in row.fix.text()
    assert "1 error" in panel.summary.text()
    assert card.has_error
    assert "reduce units in wide" in card.toolTip()
    assert not view.graph_scene.node_items["deep1"].has_error

    editor.undo_stack.undo()
    assert not [d for d in panel.diagnostics if d.code == "memory"]
    assert not card.has_error
