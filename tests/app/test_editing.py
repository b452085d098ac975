"""EditorDocument: edits become undo commands, "modified" follows the stack's clean state,
and the diagnostics are re-checked (incrementally) after every change."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("PySide6")

from app.editing import DEFAULT_TRAINING, EditorDocument  # noqa: E402
from engine.graph.compiler import check_graph  # noqa: E402
from engine.graph.document import Edge  # noqa: E402
from engine.graph.project import ProjectError, load_project  # noqa: E402

EXAMPLES = Path(__file__).resolve().parents[2] / "resources" / "examples"


@pytest.fixture
def editor(qtbot):
    editor = EditorDocument.open(EXAMPLES / "two_branch_functional.lcproj")
    yield editor
    editor.close()


def test_opens_a_project_clean_and_valid(editor):
    assert not editor.modified
    assert editor.title == "Two branches (Functional)"
    assert editor.check_result.ok
    assert editor.diagnostics == []
    assert editor.path.name == "two_branch_functional.lcproj"


def test_opening_a_bad_file_raises_a_project_error(tmp_path):
    bad = tmp_path / "bad.lcproj"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(ProjectError, match="invalid JSON at line 1"):
        EditorDocument.open(bad)


def test_a_new_document_is_empty_with_default_training(qtbot):
    editor = EditorDocument()
    assert len(editor.graph) == 0
    assert editor.project.training == DEFAULT_TRAINING
    assert [d.code for d in editor.diagnostics if d.is_error] == ["no_input"]
    assert not editor.modified


def test_modified_follows_the_undo_stack(editor, qtbot):
    with qtbot.waitSignal(editor.modifiedChanged) as blocker:
        editor.add_node("Dense", (500, 500))
    assert blocker.args == [True]
    assert editor.modified and editor.title.endswith("*")
    with qtbot.waitSignal(editor.modifiedChanged) as blocker:
        editor.undo_stack.undo()
    assert blocker.args == [False]
    assert not editor.modified


def test_every_edit_is_one_undo_command_that_restores_the_document(editor):
    before = editor.project.dumps()
    stack = editor.undo_stack
    editor.add_node("Dropout", (900, 300))
    editor.move_nodes({"wide": (445, -64), "deep1": (440, 70)})  # deep1 does not move
    editor.connect_ports("flatten", "merge", 2)
    editor.disconnect_edge(Edge("wide", "merge", 0))
    editor.set_param("wide", "units", 16)
    editor.rename_node("deep2", "deeper")
    editor.remove_items(["deep1"], [Edge("flatten", "wide", 0)])
    editor.duplicate_nodes(["output"])
    editor.set_settings("training", dict(editor.project.training, epochs=3))
    editor.rename_project("Renamed")
    assert stack.count() == 10
    assert editor.graph.node("wide").position == [440, -60]  # stored on the 10-unit grid
    while stack.canUndo():
        stack.undo()
    assert editor.project.dumps() == before
    assert not editor.modified


def test_edits_that_change_nothing_push_nothing(editor):
    editor.move_nodes({"wide": editor.graph.node("wide").position})
    editor.connect_ports("flatten", "wide", 0)  # already there
    editor.set_param("wide", "units", editor.graph.node("wide").params["units"])
    editor.set_params("wide", editor.graph.node("wide").params)
    editor.remove_items([], [])
    editor.rename_node("wide", "wide")
    editor.set_settings("dataset", editor.project.dataset)
    assert editor.undo_stack.count() == 0


def test_set_param_none_goes_back_to_the_default(editor):
    editor.set_param("wide", "activation", None)
    assert "activation" not in editor.graph.node("wide").params


def test_rename_refuses_taken_or_bad_names_with_a_message(editor):
    with pytest.raises(ValueError, match="already called 'wide'"):
        editor.rename_node("deep1", "wide")
    with pytest.raises(ValueError, match="letters"):
        editor.rename_node("deep1", "two words")
    assert editor.undo_stack.count() == 0
    assert editor.node_id_problem("fresh", "deep1") is None


def test_check_runs_once_per_command_even_for_a_macro(editor, qtbot):
    results = []
    editor.checked.connect(results.append)
    editor.remove_items(["deep1", "deep2", "wide"])
    assert len(results) == 1  # synchronously, after the whole macro
    assert results[0].nodes.keys() == {n.id for n in editor.graph.nodes}
    assert results[0] is editor.check_result
    assert not results[0].ok  # Concatenate lost both inputs
    editor.undo_stack.undo()
    assert len(results) == 2 and results[1].ok


def test_the_check_matches_a_fresh_check_after_edits(editor):
    editor.set_param("deep1", "units", 7)
    editor.connect_ports("input", "deep2", 0)
    fresh = check_graph(editor.graph)
    live = editor.check_result
    assert [d.to_json() for d in live.diagnostics] == [d.to_json() for d in fresh.diagnostics]
    assert live.nodes == fresh.nodes


def test_rechecking_is_incremental(editor):
    editor.check_result  # noqa: B018 - the first, full check
    checker = editor._checker
    runs = checker.evaluations_run
    editor.set_param("output", "units", 5)
    assert checker.evaluations_run - runs == 1  # only the edited node ran shape inference
    assert editor.check_result.nodes["output"].output_shape == (5,)


def test_changes_outside_the_stack_are_rechecked_on_the_next_event_loop_turn(editor, qtbot):
    editor.check_result  # noqa: B018
    with qtbot.waitSignal(editor.checked, timeout=2000) as blocker:
        editor.graph.set_param("deep1", "units", -1)
    assert not blocker.args[0].ok
    # ... or at once when asked.
    editor.graph.set_param("deep1", "units", 32)
    assert editor.check_result.ok


def test_diagnostics_include_the_training_settings(editor, qtbot):
    with qtbot.waitSignal(editor.diagnosticsChanged) as blocker:
        editor.set_settings("training", dict(editor.project.training, loss="nonsense"))
    problems = blocker.args[0]
    assert [d.key for d in problems] == ["training.loss"]
    editor.undo_stack.undo()
    assert editor.diagnostics == []


def test_settings_changes_are_announced(editor, qtbot):
    with qtbot.waitSignal(editor.settingsChanged) as blocker:
        editor.set_settings("dataset", {"name": "iris"})
    assert blocker.args == ["dataset"]
    assert editor.settings("dataset") == {"name": "iris"}
    with pytest.raises(ValueError, match="settings key"):
        editor.settings("graph")


def test_save_writes_atomically_and_marks_clean(editor, tmp_path, qtbot):
    editor.set_param("wide", "units", 48)
    target = tmp_path / "copy.lcproj"
    with qtbot.waitSignal(editor.pathChanged) as blocker:
        editor.save(target)
    assert blocker.args == [target]
    assert not editor.modified
    assert editor.path == target
    assert load_project(target).graph.node("wide").params["units"] == 48
    assert json.loads(target.read_text())["format"] == "layercanvas-project"
    assert [p.name for p in tmp_path.iterdir()] == ["copy.lcproj"]  # no temporary left
    editor.set_param("wide", "units", 50)
    editor.save()  # to the same place, no new path
    assert load_project(target).graph.node("wide").params["units"] == 50


def test_a_failed_save_keeps_the_document_modified(editor, tmp_path):
    editor.set_param("wide", "units", 48)
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(OSError):
        editor.save(blocker / "inside.lcproj")  # a file where a folder should be
    assert editor.modified


def test_save_without_a_path_says_so(qtbot):
    editor = EditorDocument()
    with pytest.raises(ValueError, match="no file yet"):
        editor.save()


def test_paste_accepts_json_text_and_refuses_garbage(editor):
    text = json.dumps(editor.copy_nodes(["wide"]))
    created = editor.paste_nodes(text, (0, 200))
    assert created == ["wide_1"]
    assert editor.graph.node("wide_1").position == [440, 130]
    for junk in ("not json", "[1, 2]", '{"format": "other"}'):
        with pytest.raises(ValueError, match="no LayerCanvas layers"):
            editor.paste_nodes(junk)
    assert editor.paste_nodes({"format": "layercanvas-nodes", "nodes": []}) == []
    assert editor.undo_stack.count() == 1


def test_add_node_fills_required_parameters_with_their_defaults(editor):
    node_id = editor.add_node("Conv2D", (3, 7))
    node = editor.graph.node(node_id)
    assert node.params == {"filters": 32, "kernel_size": [3, 3]}
    assert node.position == [0, 10]
    unknown = editor.add_node("NotALayer", (0, 0))
    assert editor.graph.node(unknown).params == {}
    assert any(d.code == "unknown_type" for d in editor.check_result.for_node(unknown))


def test_reconnect_edge_skips_a_move_to_where_it_is(editor):
    edge = Edge("deep1", "deep2", 0)
    editor.reconnect_edge(edge, "deep2", 0)
    editor.reconnect_edge(Edge("nowhere", "deep2", 0), "merge", 2)
    assert editor.undo_stack.count() == 0
    editor.reconnect_edge(edge, "merge", 2)
    assert Edge("deep1", "merge", 2) in editor.graph.edges and edge not in editor.graph.edges
