"""The palette lists the registry by category, searches, and hands out layer types."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402

from engine.graph.registry_info import all_layer_info, by_category  # noqa: E402
from widgets.canvas import LAYER_MIME  # noqa: E402
from widgets.palette import LayerPalette  # noqa: E402


@pytest.fixture
def palette(qtbot):
    palette = LayerPalette()
    qtbot.addWidget(palette)
    palette.resize(240, 700)
    palette.show()
    return palette


def test_every_registered_type_is_listed_under_its_category(palette):
    assert palette.type_names() == [i.type_name for i in all_layer_info()]
    tree = palette.tree
    sections = [tree.topLevelItem(i).text(0) for i in range(tree.topLevelItemCount())]
    assert sections == [c.upper() for c in by_category()]
    for i, (_category, infos) in enumerate(by_category().items()):
        section = tree.topLevelItem(i)
        assert [section.child(j).text(0) for j in range(section.childCount())] == [
            info.display_name for info in infos
        ]


def test_entries_explain_themselves(palette):
    item = palette.item_for("Conv2D")
    assert "2-D convolution" in item.toolTip(0)
    assert "kernel_size" in item.toolTip(0)
    palette.tree.setCurrentItem(item)
    assert "2-D convolution" in palette.details.text()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("conv", {"Conv1D", "Conv2D", "Conv2DTranspose", "DepthwiseConv2D",
                  "SeparableConv2D"}),
        ("POOL", {"AveragePooling2D", "MaxPooling2D", "GlobalAveragePooling2D",
                  "GlobalMaxPooling2D", "AveragePooling1D", "MaxPooling1D",
                  "GlobalAveragePooling1D", "GlobalMaxPooling1D"}),
        # by category
        ("recurrent", {"GRU", "LSTM", "SimpleRNN", "Bidirectional", "TimeDistributed"}),
        ("probabilities", {"Softmax"}),  # by description
        ("max pool", {"MaxPooling2D", "GlobalMaxPooling2D", "MaxPooling1D",
                      "GlobalMaxPooling1D"}),  # every word must match
    ],
)  # fmt: skip
def test_search_filters_by_name_category_and_description(palette, text, expected):
    QTest.keyClicks(palette.search, text)
    assert set(palette.type_names(visible_only=True)) == expected
    assert palette.tree.isVisible() and not palette.empty.isVisible()
    # Sections without a match are hidden.
    tree = palette.tree
    for i in range(tree.topLevelItemCount()):
        section = tree.topLevelItem(i)
        shown = any(not section.child(j).isHidden() for j in range(section.childCount()))
        assert section.isHidden() == (not shown)


def test_no_match_says_so_and_clearing_shows_everything(palette):
    QTest.keyClicks(palette.search, "transformer")
    assert palette.type_names(visible_only=True) == []
    assert palette.empty.isVisible() and not palette.tree.isVisible()
    palette.search.clear()
    assert palette.type_names(visible_only=True) == palette.type_names()
    assert palette.tree.isVisible()


def test_dragging_an_entry_carries_its_type_name(palette):
    mime = palette.tree.mimeData([palette.item_for("LSTM")])
    assert bytes(mime.data(LAYER_MIME)).decode() == "LSTM"
    assert palette.tree.mimeTypes() == [LAYER_MIME]


def test_double_click_and_enter_activate_a_layer(palette, qtbot):
    item = palette.item_for("Dense")
    rect = palette.tree.visualItemRect(item)
    seen = []
    palette.layerActivated.connect(seen.append)
    # A real double click: press, release, then the double-click event.
    QTest.mouseClick(palette.tree.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    QTest.mouseDClick(palette.tree.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert seen == ["Dense"]  # once, not once per signal Qt sends for it
    palette.tree.setFocus()
    with qtbot.waitSignal(palette.layerActivated) as blocker:
        QTest.keyClick(palette.tree, Qt.Key.Key_Return)
    assert blocker.args == ["Dense"]
    QTest.keyClicks(palette.search, "dropout")
    with qtbot.waitSignal(palette.layerActivated) as blocker:
        QTest.keyClick(palette.search, Qt.Key.Key_Return)
    assert blocker.args == ["Dropout"]


def test_section_headers_are_not_layers(palette, qtbot):
    header = palette.tree.topLevelItem(0)
    assert not header.flags() & Qt.ItemFlag.ItemIsDragEnabled
    with qtbot.assertNotEmitted(palette.layerActivated):
        palette._on_double_click(header)


def test_the_palette_adds_layers_to_a_linked_canvas(palette, view, editor):
    from widgets.canvas import link_widgets  # noqa: PLC0415

    link_widgets(view, palette=palette)
    palette.layerActivated.emit("BatchNormalization")
    palette.layerActivated.emit("BatchNormalization")
    new = [n for n in editor.graph.nodes if n.type == "BatchNormalization"]
    assert [n.id for n in new] == ["batch_normalization_1", "batch_normalization_2"]
    # The second one was placed beside the first, not on top of it.
    a, b = (view.graph_scene.node_items[n.id].sceneBoundingRect() for n in new)
    assert not a.intersects(b)
    assert view.graph_scene.selected_node_ids() == ["batch_normalization_2"]
