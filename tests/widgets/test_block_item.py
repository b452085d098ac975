"""A block's card and the breadcrumb bar, on a real scene and real widgets (offscreen)."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402

from engine.graph.block_definition import BlockDefinition  # noqa: E402
from engine.graph.document import Edge, GraphDocument, Node  # noqa: E402
from widgets.canvas import GraphView  # noqa: E402
from widgets.canvas.block_item import BlockInputItem, BlockItem  # noqa: E402
from widgets.canvas.breadcrumb import BreadcrumbBar  # noqa: E402
from widgets.canvas.node_item import NodeItem  # noqa: E402


def _merge_block() -> BlockDefinition:
    """Two inputs added, then Dense: a block with two named ports."""
    inner = GraphDocument(
        "mix",
        [
            Node("left", "BlockInput"),
            Node("right", "BlockInput"),
            Node("add", "Add", {}, [200, 0]),
            Node("dense", "Dense", {"units": 4}, [400, 0]),
        ],
        [Edge("left", "add", 0), Edge("right", "add", 1), Edge("add", "dense", 0)],
    )
    return BlockDefinition(
        "mix", "Mix two", "Adds, then a Dense", inner, ["left", "right"], "dense"
    )


@pytest.fixture
def editor(qtbot):
    from app.editing import EditorDocument  # noqa: PLC0415
    from engine.graph.project import Project  # noqa: PLC0415

    doc = GraphDocument(
        "Blocks",
        [
            Node("a", "Input", {"shape": [3]}),
            Node("b", "Input", {"shape": [3]}, [0, 120]),
            Node("m1", "Block", {"block": "mix"}, [260, 0]),
            Node("m2", "Block", {"block": "mix"}, [260, 200]),
        ],
        [Edge("a", "m1", 0), Edge("b", "m1", 1), Edge("a", "m2", 0), Edge("b", "m2", 1)],
        blocks={"mix": _merge_block()},
    )
    editor = EditorDocument(Project(doc))
    yield editor
    editor.close()


@pytest.fixture
def view(qtbot, editor):
    view = GraphView()
    qtbot.addWidget(view)
    view.resize(900, 500)
    view.set_editor(editor)
    view.show()
    qtbot.waitExposed(view)
    return view


def test_a_block_card_shows_its_definition_ports_uses_and_summed_params(view, editor):
    card = view.graph_scene.node_items["m1"]
    assert isinstance(card, BlockItem)
    assert card.block.title == "Mix two" and card.block.ports == ("left", "right")
    assert len(card.inputs) == 2 and all(p.connected for p in card.inputs)
    assert card._chip_text() == "linked ×2"
    assert card.block.contents() == "2 layers: Add, Dense"
    assert card.report.output_shape == (4,)
    assert card.report.param_count == 3 * 4 + 4
    assert "Double-click to edit inside" in card.toolTip()
    # Taller than a layer's card, and its named ports sit in the body, apart.
    assert card.card_rect().height() > NodeItem(Node("x", "Dense")).card_rect().height()
    ys = [p.pos().y() for p in card.inputs]
    assert ys[1] - ys[0] >= 16
    # Removing one use: the other's chip goes (the scene re-reads the definition's uses).
    editor.remove_items(["m2"])
    assert card._chip_text() == ""


def test_a_block_card_of_a_missing_definition_says_so(view, editor):
    editor.set_param("m1", "block", "nowhere")
    card = view.graph_scene.node_items["m1"]
    assert card.block.missing
    assert "No definition 'nowhere'" in card.toolTip()
    assert card.has_error  # the checker's diagnostic is on the card too


def test_double_clicking_a_block_card_asks_to_open_it(view, qtbot):
    card = view.graph_scene.node_items["m2"]
    view.centerOn(card)
    spot = view.mapFromScene(card.sceneBoundingRect().center())
    with qtbot.waitSignal(view.graph_scene.blockOpened) as opened:
        QTest.mouseDClick(view.viewport(), Qt.MouseButton.LeftButton, pos=spot)
    assert opened.args == ["m2"]


def test_block_input_cards_have_no_input_port(qtbot):
    item = BlockInputItem(Node("x", "BlockInput", {}, [0, 0]))
    assert item.inputs == [] and item.output is not None


def test_the_breadcrumb_shows_the_path_and_goes_back_to_a_level(qtbot):
    bar = BreadcrumbBar()
    qtbot.addWidget(bar)
    bar.set_path(["Project", "res1 (Residual)", "se (SE)"], "Esc goes back out")
    bar.show()
    assert [b.text() for b in bar.buttons] == ["Project", "res1 (Residual)", "se (SE)"]
    assert bar.buttons[-1].property("current") is True
    with qtbot.waitSignal(bar.levelChosen) as chosen:
        QTest.mouseClick(bar.buttons[1], Qt.MouseButton.LeftButton)
    assert chosen.args == [1]
    with qtbot.assertNotEmitted(bar.levelChosen):
        QTest.mouseClick(bar.buttons[2], Qt.MouseButton.LeftButton)  # where it already is
    bar.set_path(["Project", "b"])
    assert len(bar.buttons) == 2 and bar.note.text() == ""
