"""The canvas drives a real scene offscreen: drops, port drags, node drags, keys, and the
document events that the items follow."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt  # noqa: E402
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent, QWheelEvent  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from engine.graph.document import Edge  # noqa: E402
from widgets.canvas import LAYER_MIME, EdgeItem, NodeItem, theme  # noqa: E402


def drag(view, start: QPointF, end: QPointF, button=Qt.MouseButton.LeftButton, steps: int = 5):
    """Press at ``start``, move in steps, release at ``end`` (scene coordinates)."""
    viewport = view.viewport()
    a = view.mapFromScene(start)
    b = view.mapFromScene(end)
    QTest.mousePress(viewport, button, Qt.KeyboardModifier.NoModifier, a)
    for i in range(1, steps + 1):
        QTest.mouseMove(viewport, a + (b - a) * (i / steps))
    QTest.mouseRelease(viewport, button, Qt.KeyboardModifier.NoModifier, b)


def card_center(item: NodeItem) -> QPointF:
    return item.mapToScene(item.card_rect().center())


def items_match_document(view, editor) -> None:
    scene = view.graph_scene
    doc = editor.graph
    assert list(scene.node_items) == [n.id for n in doc.nodes] or set(scene.node_items) == {
        n.id for n in doc.nodes
    }
    for node in doc.nodes:
        assert scene.node_items[node.id].pos() == QPointF(*node.position)
    drawn = sorted(e.id for e, items in scene.edge_items.items() for _ in items)
    assert drawn == sorted(e.id for e in doc.edges)
    edge_items = [i for i in scene.items() if isinstance(i, EdgeItem)]
    assert len(edge_items) == len(doc.edges)


def test_items_mirror_the_document(view, editor):
    items_match_document(view, editor)
    merge = view.graph_scene.node_items["merge"]
    assert len(merge.inputs) == 3  # two used ports and a free one for the next edge
    assert [p.connected for p in merge.inputs] == [True, True, False]
    assert view.graph_scene.node_items["input"].inputs == []


def test_dropping_a_palette_layer_adds_a_node_through_the_undo_stack(view, editor, qtbot):
    mime = QMimeData()
    mime.setData(LAYER_MIME, b"Dropout")
    target = view.mapFromScene(QPointF(700, 300))
    viewport = view.viewport()
    action = Qt.DropAction.CopyAction
    buttons, mods = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    enter = QDragEnterEvent(target, action, mime, buttons, mods)
    QApplication.sendEvent(viewport, enter)
    assert enter.isAccepted()
    QApplication.sendEvent(viewport, QDragMoveEvent(target, action, mime, buttons, mods))
    with qtbot.waitSignal(view.graph_scene.selectedNodesChanged) as selected:
        QApplication.sendEvent(viewport, QDropEvent(QPointF(target), action, mime, buttons, mods))
    node = editor.graph.node("dropout_1")
    assert node.params == {"rate": 0.5}
    # The card is centred under the cursor (on the grid).
    assert abs(node.position[0] + theme.NODE_WIDTH / 2 - 700) <= 10
    assert abs(node.position[1] + theme.NODE_HEIGHT / 2 - 300) <= 10
    assert selected.args == [["dropout_1"]]
    assert editor.undo_stack.count() == 1
    items_match_document(view, editor)
    editor.undo_stack.undo()
    assert "dropout_1" not in view.graph_scene.node_items
    items_match_document(view, editor)


def test_a_drop_of_something_else_is_refused(view, editor):
    mime = QMimeData()
    mime.setText("Dense")
    target = view.mapFromScene(QPointF(700, 300))
    enter = QDragEnterEvent(
        target,
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(view.viewport(), enter)
    assert not enter.isAccepted()


def test_dragging_an_output_port_onto_an_input_port_connects_them(view, editor):
    node_id = editor.add_node("Dense", (700, 250))
    scene = view.graph_scene
    source = scene.node_items["flatten"].output
    target = scene.node_items[node_id].inputs[0]
    drag(view, source.scenePos(), target.scenePos() + QPointF(6, 4))
    assert Edge("flatten", node_id, 0) in editor.graph.edges
    assert editor.undo_stack.count() == 2
    assert not scene.connecting
    assert target.connected
    items_match_document(view, editor)
    editor.undo_stack.undo()
    assert Edge("flatten", node_id, 0) not in editor.graph.edges
    assert not target.connected
    items_match_document(view, editor)


def test_dragging_from_an_input_port_back_to_an_output_connects_too(view, editor):
    node_id = editor.add_node("Dense", (700, 250))
    scene = view.graph_scene
    drag(
        view,
        scene.node_items[node_id].inputs[0].scenePos(),
        scene.node_items["wide"].output.scenePos(),
    )
    assert Edge("wide", node_id, 0) in editor.graph.edges


def test_dropping_on_an_occupied_port_replaces_its_edge_in_one_step(view, editor):
    before = editor.project.dumps()
    scene = view.graph_scene
    drag(
        view,
        scene.node_items["wide"].output.scenePos(),
        scene.node_items["merge"].inputs[1].scenePos(),
    )
    into = [e for e in editor.graph.edges if e.target == "merge"]
    assert into == [Edge("wide", "merge", 0), Edge("wide", "merge", 1)]
    assert editor.undo_stack.count() == 1
    items_match_document(view, editor)
    editor.undo_stack.undo()
    assert editor.project.dumps() == before


def test_released_on_a_card_the_edge_takes_its_first_free_input(view, editor):
    scene = view.graph_scene
    drag(
        view, scene.node_items["flatten"].output.scenePos(), card_center(scene.node_items["merge"])
    )
    assert Edge("flatten", "merge", 2) in editor.graph.edges
    assert len(scene.node_items["merge"].inputs) == 4  # Concatenate grows another free port


def test_connections_that_would_close_a_cycle_are_refused(view, editor, qtbot):
    scene = view.graph_scene
    output = scene.node_items["output"].output
    flatten_in = scene.node_items["flatten"].inputs[0]
    drag(view, output.scenePos(), flatten_in.scenePos())
    drag(
        view,
        scene.node_items["deep1"].output.scenePos(),
        scene.node_items["deep1"].inputs[0].scenePos(),
    )
    assert editor.undo_stack.count() == 0
    # While dragging, only ports that are allowed light up.
    scene.begin_connection(scene.node_items["deep2"].output)
    lit = {p.node_id for p in scene.items() if getattr(p, "highlight", None) == "compatible"}
    assert lit == {"wide", "merge", "output"}
    scene.cancel_connection()
    assert not any(getattr(p, "highlight", None) for p in scene.items())


def test_dropping_a_dragged_edge_in_empty_space_does_nothing(view, editor):
    scene = view.graph_scene
    drag(view, scene.node_items["wide"].output.scenePos(), QPointF(650, 400))
    assert editor.undo_stack.count() == 0
    assert not scene.connecting
    assert not [i for i in scene.items() if type(i).__name__ == "RubberEdge"]


def test_dragging_nodes_is_one_move_command_on_release(view, editor):
    scene = view.graph_scene
    scene.select_nodes(["wide", "deep1"])
    wide = scene.node_items["wide"]
    drag(view, card_center(wide), card_center(wide) + QPointF(47, 33))
    assert editor.undo_stack.count() == 1
    assert editor.undo_stack.text(0) == "Move 2 layers"
    assert editor.graph.node("wide").position == [490, -40]  # snapped to the grid
    assert editor.graph.node("deep1").position == [490, 100]
    items_match_document(view, editor)
    editor.undo_stack.undo()
    assert editor.graph.node("wide").position == [440, -70]
    assert editor.graph.node("deep1").position == [440, 70]
    items_match_document(view, editor)
    # The edges followed the cards.
    for items in scene.edge_items.values():
        for item in items:
            assert item.path().pointAtPercent(0) == item.source_port.scenePos()
            assert item.path().pointAtPercent(1) == item.target_port.scenePos()


def test_a_click_without_a_move_pushes_nothing(view, editor):
    wide = view.graph_scene.node_items["wide"]
    QTest.mouseClick(
        view.viewport(), Qt.MouseButton.LeftButton, pos=view.mapFromScene(card_center(wide))
    )
    assert view.graph_scene.selected_node_ids() == ["wide"]
    assert editor.undo_stack.count() == 0


def test_rubber_band_selects_the_nodes_it_touches(view, editor, qtbot):
    seen = []
    view.graph_scene.selectedNodesChanged.connect(seen.append)
    drag(view, QPointF(400, -140), QPointF(640, 160), steps=8)
    assert view.graph_scene.selected_node_ids() == ["wide", "deep1"]
    assert seen[-1] == ["wide", "deep1"]  # the inspector hears the final selection
    assert editor.undo_stack.count() == 0


def test_delete_key_removes_the_selection_as_one_undoable_command(view, editor):
    before = editor.project.dumps()
    scene = view.graph_scene
    scene.select_nodes(["deep1"])
    scene.edge_items[Edge("wide", "merge", 0)][0].setSelected(True)
    view.setFocus()
    QTest.keyClick(view.viewport(), Qt.Key.Key_Delete)
    assert "deep1" not in editor.graph
    assert Edge("wide", "merge", 0) not in editor.graph.edges
    assert editor.undo_stack.count() == 1
    items_match_document(view, editor)
    editor.undo_stack.undo()
    assert editor.project.dumps() == before
    items_match_document(view, editor)


def test_a_broken_graph_shows_the_error_on_the_node(view, editor):
    scene = view.graph_scene
    editor.set_param("deep2", "units", 0)
    deep2 = scene.node_items["deep2"]
    assert deep2.has_error
    assert "units" in deep2.toolTip() and "Fix:" in deep2.toolTip()
    assert scene.node_items["merge"].report.status == "unknown"  # downstream: no cascade
    assert not scene.node_items["merge"].has_error
    editor.undo_stack.undo()
    assert not deep2.has_error
    assert deep2.report.output_shape == (32,)


def test_a_shape_error_marks_the_edge_that_brings_the_wrong_shape(view, editor):
    editor.connect_ports("input", "wide", 0)  # (1, 8, 8) into a Dense
    item = view.graph_scene.edge_items[Edge("input", "wide", 0)][0]
    assert item.error and "Flatten" in item.error
    assert view.graph_scene.node_items["wide"].has_error
    assert "insert Flatten" in view.graph_scene.node_items["wide"].toolTip()


def test_renaming_a_node_keeps_its_card_and_edges(view, editor):
    card = view.graph_scene.node_items["flatten"]
    editor.rename_node("flatten", "flat")
    assert view.graph_scene.node_items["flat"] is card
    assert card.node_id == "flat"
    items_match_document(view, editor)
    editor.undo_stack.undo()
    items_match_document(view, editor)


def test_undo_and_redo_keep_items_in_step_with_the_document(view, editor):
    stack = editor.undo_stack
    editor.add_node("Dense", (900, 200))
    editor.connect_ports("merge", "dense_1", 0)
    editor.remove_items(["deep2", "wide"])
    editor.move_nodes({"merge": (880, 220)})
    editor.duplicate_nodes(["merge", "dense_1"])
    items_match_document(view, editor)
    while stack.canUndo():
        stack.undo()
        items_match_document(view, editor)
    while stack.canRedo():
        stack.redo()
        items_match_document(view, editor)


def test_copy_paste_and_duplicate_select_the_new_nodes(view, editor):
    scene = view.graph_scene
    scene.select_nodes(["deep1", "deep2"])
    assert view.copy_selection()
    data = json.loads(QApplication.clipboard().text())
    assert [n["id"] for n in data["nodes"]] == ["deep1", "deep2"]
    view.paste()
    assert scene.selected_node_ids() == ["deep1_1", "deep2_1"]
    assert Edge("deep1_1", "deep2_1", 0) in editor.graph.edges
    view.duplicate_selection()
    assert scene.selected_node_ids() == ["deep1_2", "deep2_2"]
    assert editor.undo_stack.count() == 2
    items_match_document(view, editor)


def test_pasting_foreign_text_says_so_and_changes_nothing(view, editor, qtbot):
    QApplication.clipboard().setText("hello")
    with qtbot.waitSignal(view.statusMessage) as blocker:
        view.paste()
    assert "no layers" in blocker.args[0]
    assert editor.undo_stack.count() == 0


def test_the_wheel_zooms_within_limits_and_fit_shows_everything(view):
    viewport = view.viewport()
    center = QPointF(viewport.width() / 2, viewport.height() / 2)
    for _ in range(40):
        event = QWheelEvent(
            center,
            QPointF(viewport.mapToGlobal(center.toPoint())),
            QPoint(0, 0),
            QPoint(0, 120),
            Qt.MouseButton.NoButton,
            Qt.KeyboardModifier.NoModifier,
            Qt.ScrollPhase.NoScrollPhase,
            False,
        )
        QApplication.sendEvent(viewport, event)
    assert view.zoom() == pytest.approx(theme.MAX_ZOOM)
    view.fit_to_view()
    assert view.zoom() <= 1.0
    visible = view.mapToScene(viewport.rect()).boundingRect()
    for item in view.graph_scene.node_items.values():
        assert visible.contains(item.sceneBoundingRect())


def test_middle_button_pans_without_touching_the_document(view, editor):
    before = (view.horizontalScrollBar().value(), view.verticalScrollBar().value())
    drag(view, QPointF(300, 300), QPointF(200, 250), button=Qt.MouseButton.MiddleButton)
    after = (view.horizontalScrollBar().value(), view.verticalScrollBar().value())
    assert after != before
    assert editor.undo_stack.count() == 0


def test_focus_node_selects_and_centres_it(view):
    view.focus_node("output")
    assert view.graph_scene.selected_node_ids() == ["output"]
    center = view.mapToScene(view.viewport().rect().center())
    card = view.graph_scene.node_items["output"]
    assert (center - card.center()).manhattanLength() < 3


def test_the_canvas_renders(view, tmp_path):
    image = view.grab().toImage()
    assert not image.isNull()
    # Cards were painted: somewhere the body colour appears, not only the background.
    colors = {image.pixelColor(x, y).name() for x in range(0, image.width(), 7)
              for y in range(0, image.height(), 7)}  # fmt: skip
    assert theme.NODE_BODY.name() in colors


def test_space_and_left_drag_pans_instead_of_selecting(view, editor):
    view.setFocus()
    QTest.keyPress(view, Qt.Key.Key_Space)
    before = view.horizontalScrollBar().value()
    wide = view.graph_scene.node_items["wide"]
    drag(view, card_center(wide), card_center(wide) + QPointF(-120, 0))
    QTest.keyRelease(view, Qt.Key.Key_Space)
    assert view.horizontalScrollBar().value() != before
    assert editor.undo_stack.count() == 0  # the card under the mouse did not move
    assert view.graph_scene.selected_node_ids() == []


def test_keyboard_shortcuts_of_the_canvas(view, editor):
    view.graph_scene.select_nodes(["deep1"])
    view.setFocus()
    QTest.keyClick(view, Qt.Key.Key_D, Qt.KeyboardModifier.ControlModifier)
    assert view.graph_scene.selected_node_ids() == ["deep1_1"]
    QTest.keyClick(view, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    assert len(view.graph_scene.selected_node_ids()) == len(editor.graph)
    view.set_zoom(2.0)
    QTest.keyClick(view, Qt.Key.Key_0, Qt.KeyboardModifier.ControlModifier)
    assert view.zoom() == pytest.approx(1.0)
    view.set_zoom(2.0)
    QTest.keyClick(view, Qt.Key.Key_F)
    assert view.zoom() <= 1.0  # the whole graph, never blown up
    names = set(view.edit_actions())
    assert {"delete", "copy", "paste", "duplicate", "fit", "zoom_in", "zoom_out"} <= names


def test_edges_turn_red_only_when_they_are_the_problem(view, editor):
    editor.disconnect_edge(Edge("deep2", "merge", 1))  # Concatenate now lacks an input
    kept = view.graph_scene.edge_items[Edge("wide", "merge", 0)][0]
    assert view.graph_scene.node_items["merge"].has_error
    assert kept.error is None  # the remaining edge is fine


def test_switching_to_another_editor_even_after_the_old_one_is_gone(view, editor, qtbot):
    import shiboken6  # noqa: PLC0415

    from app.editing import EditorDocument  # noqa: PLC0415
    from widgets.diagnostics_panel import DiagnosticsPanel  # noqa: PLC0415
    from widgets.inspector import Inspector  # noqa: PLC0415

    inspector, panel = Inspector(editor), DiagnosticsPanel(editor)
    qtbot.addWidget(inspector)
    qtbot.addWidget(panel)
    old_graph = editor.graph
    editor.close()
    shiboken6.delete(editor)  # the window dropped the old project
    other = EditorDocument()
    view.set_editor(other)
    inspector.set_editor(other)
    panel.set_editor(other)
    old_graph.create_node("Dense")  # the old document no longer reaches the canvas
    assert view.graph_scene.node_items == {}
    node_id = other.add_node("Input", (0, 0), {"shape": [4]})
    assert list(view.graph_scene.node_items) == [node_id]
    assert inspector.summary_values["layers"].text() == "0"  # an Input is data, not a layer
    assert "error" in panel.summary.text()  # nothing follows the Input yet


def test_a_graph_given_before_the_window_shows_is_fitted_once_it_does(editor, qtbot):
    from widgets.canvas import GraphView  # noqa: PLC0415

    view = GraphView()
    qtbot.addWidget(view)
    view.set_editor(editor)  # the window sets things up before showing itself
    view.resize(1000, 500)
    view.show()
    qtbot.waitExposed(view)
    visible = view.mapToScene(view.viewport().rect()).boundingRect()
    for item in view.graph_scene.node_items.values():
        assert visible.contains(item.sceneBoundingRect())
    assert view.zoom() > 0.5


def test_arrange_lays_the_graph_out_by_depth_in_one_step(view, editor):
    editor.move_nodes({"output": (40, 600), "deep2": (-300, 300)})
    before = editor.project.dumps()
    view.arrange()
    assert editor.undo_stack.text(editor.undo_stack.index() - 1) == "Auto-arrange"
    # Top to bottom by depth: every edge points down, or on to a column further right
    # (where a long chain is wrapped).
    pos = {n.id: n.position for n in editor.graph.nodes}
    for e in editor.graph.edges:
        (sx, sy), (tx, ty) = pos[e.source], pos[e.target]
        assert ty > sy or tx > sx + 100, e
    items_match_document(view, editor)
    editor.undo_stack.undo()
    assert editor.project.dumps() == before


def test_the_context_menus(view, editor):
    from engine.graph.registry_info import by_category  # noqa: PLC0415

    empty = view.mapFromScene(QPointF(700, 300))
    menu = view.context_menu(empty)
    add = menu.actions()[0].menu()
    assert [a.text() for a in add.actions()] == list(by_category())
    core = add.actions()[0].menu()
    dense = next(a for a in core.actions() if a.text() == "Dense")
    dense.trigger()
    node = editor.graph.node("dense_1")
    assert abs(node.position[0] + theme.NODE_WIDTH / 2 - 700) <= 10
    card = view.mapFromScene(card_center(view.graph_scene.node_items["deep1"]))
    menu = view.context_menu(card)
    assert view.graph_scene.selected_node_ids() == ["deep1"]  # the item became the selection
    assert [a.text() for a in menu.actions() if a.text()] == ["Duplicate", "Copy", "Cut", "Delete"]


def test_dragging_a_connected_input_picks_its_edge_up(view, editor):
    before = editor.project.dumps()
    scene = view.graph_scene
    deep2_in = scene.node_items["deep2"].inputs[0]
    # Dropped in empty space: the edge is removed.
    drag(view, deep2_in.scenePos(), QPointF(700, 400))
    assert Edge("deep1", "deep2", 0) not in editor.graph.edges
    assert editor.undo_stack.count() == 1
    editor.undo_stack.undo()
    assert editor.project.dumps() == before
    # Dropped on another input: the edge moves there, in one step.
    drag(view, deep2_in.scenePos(), scene.node_items["merge"].inputs[2].scenePos())
    assert Edge("deep1", "deep2", 0) not in editor.graph.edges
    assert Edge("deep1", "merge", 2) in editor.graph.edges
    assert editor.undo_stack.count() == 1
    items_match_document(view, editor)
    editor.undo_stack.undo()
    assert editor.project.dumps() == before
    # Dropped back where it was: nothing happens, and the edge shows again.
    viewport = view.viewport()
    home = view.mapFromScene(deep2_in.scenePos())
    QTest.mousePress(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, home)
    QTest.mouseMove(viewport, home + QPoint(60, 80))
    assert not scene.edge_items[Edge("deep1", "deep2", 0)][0].isVisible()
    QTest.mouseMove(viewport, home)
    QTest.mouseRelease(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, home)
    assert editor.undo_stack.index() == 0  # nothing new was done
    assert editor.project.dumps() == before
    assert all(i.isVisible() for items in scene.edge_items.values() for i in items)


def test_escape_cancels_a_dragged_edge(view, editor):
    scene = view.graph_scene
    port = scene.node_items["deep2"].inputs[0]
    assert scene.begin_connection(port)
    assert not scene.edge_items[Edge("deep1", "deep2", 0)][0].isVisible()
    view.setFocus()
    QTest.keyClick(view, Qt.Key.Key_Escape)
    assert not scene.connecting
    assert scene.edge_items[Edge("deep1", "deep2", 0)][0].isVisible()
    assert editor.undo_stack.count() == 0


def test_a_frozen_layer_says_so_on_its_card(editor, view):
    node_id = next(n.id for n in editor.graph.nodes if n.type == "Dense")
    item = view.graph_scene.node_items[node_id]
    assert "frozen" not in item.summary
    editor.set_param(node_id, "trainable", False)
    assert item.summary.startswith("❄ frozen")
    editor.undo_stack.undo()
    assert "frozen" not in item.summary
