"""Readability on the real window: every shipped example opens in a 1280x800 window at a
readable zoom without overlapping cards; auto-arrange lays a 100-node residual graph out top
to bottom without overlaps; the minimap appears on big graphs and pans the view."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import QPointF, Qt  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402

from app.editing import EditorDocument  # noqa: E402
from benchmarks.bench_compiler import residual_graph  # noqa: E402
from engine.graph.layout import arrange, layers  # noqa: E402
from engine.graph.project import Project  # noqa: E402
from tests.gui_window import discarding_window  # noqa: E402

EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "resources" / "examples").glob("*.lcproj"))


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    yield from discarding_window(qtbot, tmp_path, monkeypatch, size=(1280, 800))


def assert_no_overlaps(view) -> None:
    rects = [(i.node_id, i.sceneBoundingRect()) for i in view.graph_scene.node_items.values()]
    for a, (id_a, ra) in enumerate(rects):
        for id_b, rb in rects[a + 1 :]:
            assert not ra.intersects(rb), f"{id_a} overlaps {id_b}"


def test_every_example_opens_readable_in_a_1280x800_window(window, qtbot):
    assert len(EXAMPLES) >= 8
    for path in EXAMPLES:
        assert window.open_example(path, ask=False), path.name
        view = window.view
        view.fit_to_view()  # the whole graph, as F shows it
        assert view.zoom() >= 0.70, f"{path.name}: {view.zoom():.2f}"
        visible = view.mapToScene(view.viewport().rect()).boundingRect()
        for item in view.graph_scene.node_items.values():
            assert visible.contains(item.sceneBoundingRect()), (path.name, item.node_id)
        assert_no_overlaps(view)
        assert not view.minimap.isVisible()  # small graphs stay uncluttered


def _open_big(window, n: int) -> EditorDocument:
    doc = residual_graph(n)
    for node in doc.nodes:
        node.position = [0, 0]  # as a generated file might have them
    editor = EditorDocument(Project(doc))
    window.set_editor(editor)
    return editor


def test_auto_arrange_lays_a_100_node_residual_graph_out_readably(window, qtbot):
    editor = _open_big(window, 100)
    view = window.view
    window.actions["arrange"].trigger()
    assert editor.undo_stack.count() == 1
    assert editor.undo_stack.text(0) == "Auto-arrange"
    assert_no_overlaps(view)
    rows = layers(
        [n.id for n in editor.graph.nodes], [(e.source, e.target) for e in editor.graph.edges]
    )
    pos = {n.id: n.position for n in editor.graph.nodes}
    for e in editor.graph.edges:  # every edge reads down, or on to a column further right
        (sx, sy), (tx, ty) = pos[e.source], pos[e.target]
        assert ty > sy or tx > sx, e
        assert rows[e.target] > rows[e.source]
    assert len({x for x, _ in pos.values()}) > 2  # the long chain is wrapped into columns
    assert view.zoom() >= 0.70  # opened on its inputs at a readable zoom, not a thumbnail
    assert view.minimap.isVisible()
    editor.undo_stack.undo()
    assert all(p == [0, 0] for p in (n.position for n in editor.graph.nodes))


def test_the_minimap_shows_the_viewport_and_a_click_pans_there(window, qtbot):
    _open_big(window, 100)
    view = window.view
    window.actions["arrange"].trigger()
    minimap = view.minimap
    assert minimap.isVisible()
    graph = minimap.graph_rect()
    before = view.mapToScene(view.viewport().rect().center())
    # Click where the bottom-right of the graph is drawn in the map.
    world = minimap._world()
    spot = minimap.to_map(graph, world).bottomRight() - QPointF(4, 4)
    QTest.mouseClick(
        minimap, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, spot.toPoint()
    )
    after = view.mapToScene(view.viewport().rect().center())
    assert after.x() > before.x() + 200 or after.y() > before.y() + 200
    assert (after - graph.bottomRight()).manhattanLength() < (
        before - graph.bottomRight()
    ).manhattanLength()


def test_crossings_are_reduced_by_the_barycenter_sweeps():
    # a1 feeds b2 and a2 feeds b1: in document order the two edges cross; sorted, not.
    ids = ["r", "a1", "a2", "b1", "b2"]
    edges = [("r", "a1"), ("r", "a2"), ("a1", "b2"), ("a2", "b1")]
    pos = arrange(ids, edges, viewport=(2000, 2000))
    assert pos["a1"][1] == pos["a2"][1] and pos["b1"][1] == pos["b2"][1]
    assert (pos["a1"][0] < pos["a2"][0]) == (pos["b2"][0] < pos["b1"][0])


def test_an_imported_onnx_model_opens_top_to_bottom_and_readable(window, tmp_path):
    """Import ONNX lays the network out as Auto-arrange does (the pre-trained digits CNN,
    as PyTorch-style files come: no positions of their own)."""
    from engine.applications import pretrained_path  # noqa: PLC0415

    target = tmp_path / "imported.lcproj"
    assert window.import_onnx(pretrained_path("digits10_cnn", "onnx"), target)
    view = window.view
    view.fit_to_view()
    assert view.zoom() >= 0.70, f"{view.zoom():.2f}"
    assert_no_overlaps(view)
    graph = window.editor.graph
    position = {node.id: node.position for node in graph.nodes}
    down = sum(position[e.source][1] < position[e.target][1] for e in graph.edges)
    assert down >= len(graph.edges) - 1  # at most one edge jumps to the next column
