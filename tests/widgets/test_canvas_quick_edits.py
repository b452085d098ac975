"""Editing speed on the real canvas: the Tab quick-add box, dropping a layer on an edge,
dragging a lone card onto an edge, and Alt-drag to duplicate — each one undo step."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import QMimeData, QPointF, Qt  # noqa: E402
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from engine.graph.document import Edge  # noqa: E402
from widgets.canvas import LAYER_MIME  # noqa: E402
from widgets.canvas.quick_add import fuzzy_score  # noqa: E402


def card_center(item) -> QPointF:
    return item.mapToScene(item.card_rect().center())


def edge_middle(view, edge: Edge) -> QPointF:
    return view.graph_scene.edge_items[edge][0].path().pointAtPercent(0.5)


def drag(view, start, end, modifiers=Qt.KeyboardModifier.NoModifier, steps=6):
    viewport = view.viewport()
    a, b = view.mapFromScene(start), view.mapFromScene(end)
    QTest.mousePress(viewport, Qt.MouseButton.LeftButton, modifiers, a)
    for i in range(1, steps + 1):
        QTest.mouseMove(viewport, a + (b - a) * (i / steps))
    QTest.mouseRelease(viewport, Qt.MouseButton.LeftButton, modifiers, b)


def test_fuzzy_matching_ranks_whole_words_first():
    assert fuzzy_score("conv2", "Conv2D") > fuzzy_score("conv2", "Conv2DTranspose")
    assert fuzzy_score("bn", "BatchNormalization") is not None
    assert fuzzy_score("xyz", "Dense") is None


def test_tab_opens_the_box_and_enter_adds_the_layer_connected_after_the_selection(
    view, editor, qtbot
):
    view.graph_scene.select_nodes(["output"])
    view.setFocus()
    qtbot.keyClick(view, Qt.Key.Key_Tab)
    box = view.quick_add
    assert box.isVisible()
    qtbot.keyClicks(box.field, "dropo")
    assert box.matches()[0] == "Dropout"
    count = editor.undo_stack.count()
    qtbot.keyClick(box.field, Qt.Key.Key_Return)
    assert not box.isVisible()
    assert editor.undo_stack.count() == count + 1  # add and connect: one step
    new = view.graph_scene.selected_node_ids()
    assert len(new) == 1 and editor.graph.node(new[0]).type == "Dropout"
    assert Edge("output", new[0], 0) in editor.graph.edges
    editor.undo_stack.undo()
    assert new[0] not in editor.graph
    assert all(e.source != "output" for e in editor.graph.edges)


def test_typing_on_the_empty_canvas_searches_arrows_choose_and_esc_cancels(view, editor, qtbot):
    view.graph_scene.clearSelection()
    view.setFocus()
    qtbot.keyClick(view, Qt.Key.Key_C)
    box = view.quick_add
    assert box.isVisible() and box.field.text() == "c"
    qtbot.keyClicks(box.field, "o")
    assert len(box.matches()) > 2
    first = box.matches()[0]
    qtbot.keyClick(box.field, Qt.Key.Key_Down)
    assert box.results.currentRow() == 1
    qtbot.keyClick(box.field, Qt.Key.Key_Up)
    assert box.matches()[box.results.currentRow()] == first
    qtbot.keyClick(box.field, Qt.Key.Key_Escape)
    assert not box.isVisible()
    assert editor.undo_stack.count() == 0
    # Enter with nothing selected adds an unconnected layer.
    qtbot.keyClick(view, Qt.Key.Key_Tab)
    qtbot.keyClicks(box.field, "flatten")
    edges = list(editor.graph.edges)
    qtbot.keyClick(box.field, Qt.Key.Key_Enter)
    assert editor.undo_stack.count() == 1
    assert editor.graph.nodes[-1].type == "Flatten"
    assert list(editor.graph.edges) == edges


def _drop(view, type_name: str, scene_pos: QPointF) -> None:
    mime = QMimeData()
    mime.setData(LAYER_MIME, type_name.encode())
    target = view.mapFromScene(scene_pos)
    viewport = view.viewport()
    args = (
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(viewport, QDragEnterEvent(target, *args))
    QApplication.sendEvent(viewport, QDragMoveEvent(target, *args))
    highlight = view.graph_scene.edge_highlight
    shown = highlight.isVisible(), highlight.edge
    QApplication.sendEvent(viewport, QDropEvent(QPointF(target), *args))
    return shown


def test_a_layer_dropped_on_an_edge_is_inserted_into_it_in_one_step(view, editor):
    edge = Edge("deep1", "deep2", 0)
    before = editor.project.dumps()
    shown = _drop(view, "Dropout", edge_middle(view, edge))
    assert shown == (True, edge)  # the edge lit up under the drag
    assert not view.graph_scene.edge_highlight.isVisible()
    (new,) = view.graph_scene.selected_node_ids()
    edges = editor.graph.edges
    assert edge not in edges
    assert Edge("deep1", new, 0) in edges and Edge(new, "deep2", 0) in edges
    assert editor.undo_stack.count() == 1
    editor.undo_stack.undo()
    assert editor.project.dumps() == before


def test_a_drop_away_from_edges_only_adds(view, editor):
    _drop(view, "Dropout", QPointF(700, 400))
    (new,) = view.graph_scene.selected_node_ids()
    assert not [e for e in editor.graph.edges if new in (e.source, e.target)]


def test_dragging_a_lone_card_onto_an_edge_splices_it_in(view, editor):
    node_id = editor.add_node("Dropout", (700, 330))
    item = view.graph_scene.node_items[node_id]
    edge = Edge("deep1", "deep2", 0)
    count = editor.undo_stack.count()
    drag(view, card_center(item), edge_middle(view, edge))
    assert editor.undo_stack.count() == count + 1
    assert Edge("deep1", node_id, 0) in editor.graph.edges
    assert Edge(node_id, "deep2", 0) in editor.graph.edges
    assert edge not in editor.graph.edges
    assert item.pos() == QPointF(*editor.graph.node(node_id).position)
    editor.undo_stack.undo()
    assert editor.graph.node(node_id).position == [700, 330]
    assert edge in editor.graph.edges


def test_alt_drag_duplicates_the_selection_with_its_inner_edges(view, editor):
    scene = view.graph_scene
    scene.select_nodes(["deep1", "deep2"])
    deep1 = scene.node_items["deep1"]
    start = list(editor.graph.node("deep1").position)
    drag(
        view,
        card_center(deep1),
        card_center(deep1) + QPointF(0, 200),
        Qt.KeyboardModifier.AltModifier,
    )
    assert editor.undo_stack.count() == 1
    assert editor.graph.node("deep1").position == start  # the originals stay
    assert deep1.pos() == QPointF(*start)
    copies = scene.selected_node_ids()
    assert sorted(editor.graph.node(i).type for i in copies) == ["Dense", "Dense"]
    one, two = copies
    assert Edge(one, two, 0) in editor.graph.edges
    assert editor.graph.node(one).position == [start[0], start[1] + 200]
    editor.undo_stack.undo()
    assert all(c not in editor.graph for c in copies)
