"""The block library in the real window: the palette's "Blocks" section, inserting a
shipped block (dropped or double-clicked), linked or independent, and saving a block of the
project to the user's library (pytest-qt, offscreen)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import QMimeData, QPointF, Qt  # noqa: E402
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from tests.gui_window import discarding_window  # noqa: E402
from widgets.canvas.block_item import BLOCK_MIME  # noqa: E402

EXAMPLES = Path(__file__).resolve().parents[2] / "resources" / "examples"
SHIPPED = ("Inception module", "Inverted residual (MobileNetV2)", "Residual block (basic)",
           "Residual block (bottleneck)", "Squeeze-and-excitation",
           "Transformer encoder layer")  # fmt: skip


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    # The user's library goes to this test's folder.
    monkeypatch.setenv("LAYERCANVAS_DATA_DIR", str(tmp_path / "data"))
    yield from discarding_window(qtbot, tmp_path, monkeypatch)


@pytest.fixture
def cnn(window):
    assert window.open_example(EXAMPLES / "digits_cnn.lcproj", ask=False)
    return window


def _block_titles(palette) -> list[str]:
    section = palette._block_section
    assert section.text(0) == "BLOCKS"
    return [section.child(i).text(0) for i in range(section.childCount())]


def _drop(window, path: Path, scene_pos: QPointF) -> None:
    """Drag the block's file in from the palette and drop it at ``scene_pos``."""
    viewport = window.view.viewport()
    mime = QMimeData()
    mime.setData(BLOCK_MIME, str(path).encode("utf-8"))
    point = window.view.mapFromScene(scene_pos)
    args = (Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
            Qt.KeyboardModifier.NoModifier)  # fmt: skip
    enter = QDragEnterEvent(point, *args)
    QApplication.sendEvent(viewport, enter)
    assert enter.isAccepted()
    QApplication.sendEvent(viewport, QDragMoveEvent(point, *args))
    QApplication.sendEvent(viewport, QDropEvent(QPointF(point), *args))


def test_the_palette_lists_the_shipped_blocks_under_blocks(window):
    palette = window.palette_panel
    assert _block_titles(palette) == list(SHIPPED)
    palette.search.setText("skip")  # descriptions are searched too
    shown = [palette.block_item(n) for n in palette.block_names()]
    visible = [item.text(0) for item in shown if not item.isHidden()]
    assert "Residual block (basic)" in visible and "Inception module" not in visible
    palette.search.clear()
    # The drag carries the block's file.
    item = palette.block_item("residual_basic")
    mime = palette.tree.mimeData([item])
    assert Path(bytes(mime.data(BLOCK_MIME)).decode()).name == "residual_basic.lcblock"


def test_a_dropped_shipped_block_is_inserted_and_fits_the_graph(cnn):
    graph = cnn.editor.graph
    path = Path(cnn.palette_panel.block_path("residual_basic"))
    _drop(cnn, path, QPointF(600, 300))
    (node_id,) = cnn.view.graph_scene.selected_node_ids()
    assert graph.node(node_id).params == {"block": "residual_basic"}
    assert "residual_basic" in graph.blocks
    # Wire it between conv2 (32 channels) and pool2: the graph is valid again.
    edge = next(e for e in graph.edges if e.source == "conv2")
    cnn.editor.reconnect_edge(edge, node_id)
    cnn.editor.connect_ports(node_id, "pool2")
    result = cnn.editor.check_result
    assert result.ok, [d.text() for d in result.errors]
    report = result.nodes[node_id]
    assert report.output_shape == (32, 4, 4)
    # Two 3x3 convs 32->32 without bias (BatchNorm follows), two BatchNorms of 32 (4 x 32).
    assert report.param_count == 2 * (3 * 3 * 32 * 32) + 2 * 4 * 32
    cnn.actions["undo"].trigger()
    cnn.actions["undo"].trigger()
    cnn.actions["undo"].trigger()
    assert node_id not in graph and "residual_basic" not in graph.blocks


def test_inserting_a_block_the_project_has_asks_linked_or_copy(cnn, monkeypatch):
    asked = []
    answers = iter(["link", "copy", None])
    monkeypatch.setattr(cnn.blocks, "ask_link", lambda title: asked.append(title) or next(answers))
    path = cnn.palette_panel.block_path("squeeze_excitation")
    first = cnn.blocks.insert_at_center(path)
    assert asked == []  # the project did not have it: nothing to ask
    linked = cnn.blocks.insert_at_center(path)
    copied = cnn.blocks.insert_at_center(path)
    cancelled = cnn.blocks.insert_at_center(path)
    assert asked == ["Squeeze-and-excitation"] * 3 and cancelled is None
    graph = cnn.editor.graph
    assert graph.node(first).params == graph.node(linked).params == {"block": "squeeze_excitation"}
    assert graph.node(copied).params == {"block": "squeeze_excitation_2"}
    cards = cnn.view.graph_scene.node_items
    assert cards[first].block.uses == 2 and cards[copied].block.uses == 1
    assert cards[first]._chip_text() == "linked ×2"


def test_double_clicking_a_palette_block_inserts_it(cnn, qtbot):
    palette = cnn.palette_panel
    item = palette.block_item("inception")
    palette.tree.scrollToItem(item)
    rect = palette.tree.visualItemRect(item)
    # A real double click: press, release, then the double-click event.
    qtbot.mouseClick(palette.tree.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.mouseDClick(palette.tree.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    (node_id,) = cnn.view.graph_scene.selected_node_ids()
    assert cnn.editor.graph.node(node_id).params == {"block": "inception"}
    assert len(cnn.view.graph_scene.node_items[node_id].inputs) == 1


def test_save_to_library_lists_the_block_under_blocks(cnn, tmp_path):
    cnn.view.graph_scene.select_nodes(["conv1", "pool1"])
    block = cnn.blocks.group_selection()
    path = cnn.blocks.save_to_library(block, title="Conv and pool")
    assert path is not None and path.parent == tmp_path / "data" / "blocks"
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["format"] == "layercanvas-block"
    assert data["block"]["title"] == "Conv and pool"
    assert "Conv and pool  (yours)" in _block_titles(cnn.palette_panel)
    # The title is the project's too (one undo step), and the saved block inserts again.
    assert cnn.editor.graph.blocks[cnn.editor.graph.node(block).params["block"]].title == (
        "Conv and pool"
    )
    cnn.blocks.ask_link = lambda title: "copy"
    copy = cnn.blocks.insert(path, QPointF(700, 0))
    assert cnn.editor.graph.node(copy).params["block"].endswith("_2")


def test_the_context_menu_saves_to_the_library(cnn, monkeypatch):
    cnn.view.graph_scene.select_nodes(["conv1", "pool1"])
    block = cnn.blocks.group_selection()
    monkeypatch.setattr(cnn.blocks, "ask_text", lambda *a: "My stem")
    view = cnn.view
    card = view.graph_scene.node_items[block]
    view.centerOn(card)
    menu = cnn.blocks.context_menu(view.mapFromScene(card.sceneBoundingRect().center()))
    next(a for a in menu.actions() if a.text() == "Save to Library…").trigger()
    assert "My stem  (yours)" in _block_titles(cnn.palette_panel)
    assert cnn.statusBar().currentMessage().startswith("Saved 'My stem'")


def test_a_block_dropped_on_an_edge_is_spliced_into_it_in_one_step(cnn):
    graph = cnn.editor.graph
    before = graph.to_json()
    scene = cnn.view.graph_scene
    edge = next(e for e in graph.edges if e.source == "conv2")
    middle = scene.edge_items[edge][0].path().pointAtPercent(0.5)
    cnn.view.centerOn(middle)
    _drop(cnn, Path(cnn.palette_panel.block_path("squeeze_excitation")), middle)
    (node_id,) = scene.selected_node_ids()
    assert {(e.source, e.target) for e in graph.edges} >= {("conv2", node_id), (node_id, "pool2")}
    assert ("conv2", "pool2") not in {(e.source, e.target) for e in graph.edges}
    assert cnn.editor.check_result.ok
    assert not scene.edge_highlight.isVisible()
    cnn.actions["undo"].trigger()
    assert graph.to_json() == before


def test_a_lone_block_card_dragged_onto_an_edge_is_spliced_in(cnn):
    graph, view = cnn.editor.graph, cnn.view
    node_id = cnn.blocks.insert(cnn.palette_panel.block_path("residual_basic"), QPointF(600, 0))
    edge = next(e for e in graph.edges if e.source == "conv2")
    card = view.graph_scene.node_items[node_id]
    start = card.mapToScene(card.card_rect().center())
    end = view.graph_scene.edge_items[edge][0].path().pointAtPercent(0.5)
    view.centerOn((start + end) / 2)
    a, b = view.mapFromScene(start), view.mapFromScene(end)
    QTest.mousePress(view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, a)
    for i in range(1, 7):
        QTest.mouseMove(view.viewport(), a + (b - a) * (i / 6))
    QTest.mouseRelease(
        view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, b
    )
    pairs = {(e.source, e.target) for e in graph.edges}
    assert {("conv2", node_id), (node_id, "pool2")} <= pairs and ("conv2", "pool2") not in pairs
    assert cnn.editor.check_result.ok
