"""Blocks in the real window: group and ungroup from the keyboard, undo and redo, the
inside of a block with its breadcrumb, linked uses, nesting (pytest-qt, offscreen)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import QPoint, Qt  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402

from engine.graph.builder import build_model  # noqa: E402
from engine.graph.document import GraphDocument  # noqa: E402
from tests.gui_window import discarding_window  # noqa: E402
from widgets.canvas import theme  # noqa: E402

EXAMPLES = Path(__file__).resolve().parents[2] / "resources" / "examples"
THREE = ["conv1", "pool1", "conv2"]


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    yield from discarding_window(qtbot, tmp_path, monkeypatch)


@pytest.fixture
def cnn(window):
    assert window.open_example(EXAMPLES / "digits_cnn.lcproj", ask=False)
    return window


def _press(window, key, modifiers=Qt.KeyboardModifier.NoModifier) -> None:
    window.activateWindow()
    window.view.setFocus()
    QTest.keyClick(window.view, key, modifiers)


def _group(window, ids) -> str:
    window.view.graph_scene.select_nodes(ids)
    _press(window, Qt.Key.Key_G, Qt.KeyboardModifier.ControlModifier)
    (block,) = window.view.graph_scene.selected_node_ids()
    return block


def _summary_total(window) -> str:
    last = window.summary.topLevelItem(window.summary.topLevelItemCount() - 1)
    assert last.text(0) == "Total"
    return last.text(3)


def _predict(graph_json, weights=None, seed=0):
    model = build_model(GraphDocument.from_json(graph_json))
    if weights is not None:
        model.set_weights(weights)
    x = np.random.default_rng(seed).normal(size=(4, 1, 8, 8)).astype("float32")
    return model, model.predict(x, verbose=0)


def test_ctrl_g_groups_three_layers_into_one_block_with_the_same_model(cnn):
    before = cnn.editor.graph.to_json()
    total = _summary_total(cnn)
    block = _group(cnn, THREE)

    graph = cnn.editor.graph
    assert [n.id for n in graph.nodes] == ["input", block, "pool2", "flatten", "hidden", "output"]
    assert graph.node(block).type == "Block"
    definition = graph.blocks[graph.node(block).params["block"]]
    assert [n.id for n in definition.graph.nodes if n.type != "BlockInput"] == THREE
    # The card: one node with one input and one output, the summed parameters.
    card = cnn.view.graph_scene.node_items[block]
    assert len(card.inputs) == 1
    assert card.report.param_count == 160 + 4640  # conv1 3x3x1x16+16, conv2 3x3x16x32+32
    assert card.report.output_shape == (32, 4, 4)
    assert _summary_total(cnn) == total == "13,706"
    # The inspector says what a block is (not "unknown layer type").
    assert cnn.inspector.node_id == block
    assert (cnn.inspector.type_label.text(), cnn.inspector.category_label.text()) == (
        "Block",
        "Reusable block",
    )
    assert cnn.graph_status.text() == "✓ 5 layers · 13,706 params"
    # It compiles to the same model: the same weights give the same outputs.
    reference, expected = _predict(before)
    _, got = _predict(graph.to_json(), reference.get_weights())
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-7)


def test_the_grouped_model_trains(cnn):
    _group(cnn, THREE)
    model = build_model(cnn.editor.graph)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 1, 8, 8)).astype("float32")
    y = rng.integers(0, 10, size=64)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    history = model.fit(x, y, epochs=4, batch_size=16, verbose=0)
    losses = history.history["loss"]
    assert np.isfinite(losses).all() and losses[-1] < losses[0]


def test_group_ungroup_and_their_undo_redo_restore_the_graph(cnn):
    before = cnn.editor.graph.to_json()
    block = _group(cnn, THREE)
    grouped = cnn.editor.graph.to_json()
    assert cnn.actions["undo"].text() == "&Undo Group 3 layers into a block"

    cnn.actions["undo"].trigger()
    assert cnn.editor.graph.to_json() == before
    assert set(cnn.view.graph_scene.node_items) == {n["id"] for n in before["nodes"]}
    cnn.actions["redo"].trigger()
    assert cnn.editor.graph.to_json() == grouped

    cnn.view.graph_scene.select_nodes([block])
    _press(
        cnn, Qt.Key.Key_G, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
    )
    assert cnn.editor.graph.to_json() == before  # the very same JSON, edge order included
    assert "blocks" not in cnn.editor.graph.to_json()  # the last use took its definition
    assert cnn.view.graph_scene.selected_node_ids() == THREE
    cnn.actions["undo"].trigger()
    assert cnn.editor.graph.to_json() == grouped
    cnn.actions["redo"].trigger()
    assert cnn.editor.graph.to_json() == before


def test_an_impossible_group_says_why_and_changes_nothing(cnn):
    before = cnn.editor.graph.to_json()
    cnn.view.graph_scene.select_nodes(["input", "conv1"])
    _press(cnn, Qt.Key.Key_G, Qt.KeyboardModifier.ControlModifier)
    assert cnn.editor.graph.to_json() == before
    assert "Input" in cnn.statusBar().currentMessage()
    assert cnn.editor.undo_stack.count() == 0


def test_double_click_enters_a_block_and_the_breadcrumb_or_esc_leaves(cnn, qtbot):
    block = _group(cnn, THREE)
    scene, view = cnn.view.graph_scene, cnn.view
    card = scene.node_items[block]
    view.centerOn(card)
    spot = view.mapFromScene(card.sceneBoundingRect().center())
    QTest.mouseDClick(view.viewport(), Qt.MouseButton.LeftButton, pos=spot)

    assert cnn.blocks.path == [block]
    assert cnn.breadcrumb.isVisible()
    assert cnn.breadcrumb.labels == ["Digits CNN", f"{block} (Conv2D → MaxPooling2D → Conv2D)"]
    assert set(scene.node_items) == {"x", *THREE}
    # Inside, the cards show this use's shapes: the port gets what feeds the block.
    assert scene.node_items["x"].report.output_shape == (1, 8, 8)
    assert scene.node_items["conv2"].report.output_shape == (32, 4, 4)
    assert cnn.inspector.editor is cnn.blocks.scope
    assert cnn.inspector.summary_values["layers"].text() == "3"  # the port is no layer
    # The layer whose output leaves the block is marked as such, and only it.
    marked = [i for i, card in scene.node_items.items() if getattr(card, "output_marker", None)]
    assert marked == ["conv2"]

    cnn.breadcrumb.buttons[0].click()
    assert cnn.blocks.path == []
    assert not cnn.breadcrumb.isVisible()
    assert block in scene.node_items and scene.selected_node_ids() == [block]

    cnn.blocks.enter(block)
    scene.clearSelection()
    _press(cnn, Qt.Key.Key_Escape)
    assert cnn.blocks.path == []
    assert cnn.inspector.editor is cnn.editor


def test_an_edit_inside_a_linked_block_changes_every_use_and_one_undo_reverts_it(cnn):
    block = _group(cnn, ["conv2"])
    name = cnn.editor.graph.node(block).params["block"]
    # A second use of the same definition: duplicate the card (Ctrl+D) — linked.
    cnn.view.graph_scene.select_nodes([block])
    _press(cnn, Qt.Key.Key_D, Qt.KeyboardModifier.ControlModifier)
    (twin,) = cnn.view.graph_scene.selected_node_ids()
    assert cnn.editor.graph.node(twin).params == {"block": name}
    cnn.editor.connect_ports("pool1", twin)
    assert "linked ×2" in cnn.view.graph_scene.node_items[block]._chip_text()

    assert cnn.blocks.enter(block)
    assert "Linked: 2 uses" in cnn.breadcrumb.note.text()
    cnn.view.graph_scene.select_nodes(["conv2"])
    cnn.inspector.editor.set_param("conv2", "filters", 8)  # what the inspector's field does
    assert cnn.editor.check_result.nodes[block].output_shape == (8, 4, 4)
    assert cnn.editor.check_result.nodes[twin].output_shape == (8, 4, 4)
    assert cnn.view.graph_scene.node_items["conv2"].report.output_shape == (8, 4, 4)

    cnn.actions["undo"].trigger()
    assert cnn.editor.check_result.nodes[block].output_shape == (32, 4, 4)
    assert cnn.editor.check_result.nodes[twin].output_shape == (32, 4, 4)
    assert cnn.blocks.path == [block]  # the undo happened inside; the canvas stays there


def test_renaming_the_output_or_a_port_inside_keeps_the_block_working(cnn, qtbot):
    block = _group(cnn, THREE)
    definition = cnn.editor.graph.blocks[cnn.editor.graph.node(block).params["block"]]
    cnn.blocks.enter(block)
    inspector = cnn.inspector
    for old, new in (("conv2", "features"), ("x", "pixels")):
        cnn.view.graph_scene.select_nodes([old])
        assert inspector.node_id == old
        inspector.name_edit.setText(new)
        inspector.name_edit.editingFinished.emit()
        assert cnn.view.graph_scene.selected_node_ids() == [new] == [inspector.node_id]
    assert (definition.inputs, definition.output) == (["pixels"], "features")
    assert cnn.view.graph_scene.node_items["features"].output_marker is not None
    assert cnn.editor.check_result.ok
    assert cnn.editor.check_result.nodes[block].output_shape == (32, 4, 4)
    inspector.name_edit.setText("a.b")  # would clash with the expanded names
    inspector.name_edit.editingFinished.emit()
    assert "cannot contain '.'" in inspector.name_problem.text()
    cnn.actions["undo"].trigger()
    cnn.actions["undo"].trigger()
    assert (definition.inputs, definition.output) == (["x"], "conv2")
    assert cnn.editor.check_result.ok


def test_make_independent_copy_detaches_one_use(cnn):
    block = _group(cnn, ["conv2"])
    twin = cnn.editor.duplicate_nodes([block])[0]
    cnn.editor.connect_ports("pool1", twin)
    new_name = cnn.blocks.make_independent(twin)
    graph = cnn.editor.graph
    assert graph.node(twin).params["block"] == new_name != graph.node(block).params["block"]
    cnn.blocks.enter(twin)
    cnn.blocks.editor.set_param("conv2", "filters", 4)
    assert graph.blocks[new_name].graph.node("conv2").params["filters"] == 4
    old = graph.blocks[graph.node(block).params["block"]]
    assert old.graph.node("conv2").params["filters"] == 32
    assert cnn.view.graph_scene.node_items["conv2"].report.output_shape == (4, 4, 4)


def test_blocks_nest_and_the_breadcrumb_follows(cnn):
    inner = _group(cnn, ["conv1", "pool1"])
    outer = _group(cnn, [inner, "conv2"])
    graph = cnn.editor.graph
    assert len(graph.blocks) == 2
    assert cnn.editor.check_result.total_params == 13706
    assert cnn.view.graph_scene.node_items[outer].report.param_count == 160 + 4640

    assert cnn.blocks.enter(outer)
    assert inner in cnn.view.graph_scene.node_items
    assert cnn.view.graph_scene.node_items[inner].report.output_shape == (16, 4, 4)
    assert cnn.blocks.enter(inner)
    assert cnn.blocks.path == [outer, inner]
    assert len(cnn.breadcrumb.labels) == 3
    assert set(cnn.view.graph_scene.node_items) == {"x", "conv1", "pool1"}
    cnn.breadcrumb.buttons[1].click()
    assert cnn.blocks.path == [outer]
    cnn.breadcrumb.buttons[0].click()
    assert cnn.blocks.path == []

    # Ungrouping the outer block leaves the inner one, still a block.
    cnn.view.graph_scene.select_nodes([outer])
    cnn.blocks.ungroup_selection()
    assert graph.node(inner).type == "Block" and "conv2" in graph


def test_undoing_the_group_while_inside_goes_back_out(cnn):
    block = _group(cnn, THREE)
    cnn.blocks.enter(block)
    cnn.actions["undo"].trigger()
    assert cnn.blocks.path == []
    assert not cnn.breadcrumb.isVisible()
    assert set(cnn.view.graph_scene.node_items) >= set(THREE)


def test_the_context_menu_of_a_block_offers_the_block_actions(cnn):
    block = _group(cnn, THREE)
    view = cnn.view
    card = view.graph_scene.node_items[block]
    view.centerOn(card)
    menu = cnn.blocks.context_menu(view.mapFromScene(card.sceneBoundingRect().center()))
    texts = [a.text() for a in menu.actions() if a.text()]
    for entry in ("Edit Inside", "Make Independent Copy", "Save to Library…", "Rename Block…"):
        assert entry in texts
    assert "&Ungroup Block" in texts
    copy = next(a for a in menu.actions() if a.text() == "Make Independent Copy")
    assert not copy.isEnabled()  # one use: nothing to detach from
    next(a for a in menu.actions() if a.text() == "Edit Inside").trigger()
    assert cnn.blocks.path == [block]
    # On an empty spot: no block entries, but Add Block ▸ the library, inserted there.
    empty = cnn.blocks.context_menu(QPoint(5, 5))
    texts = [a.text() for a in empty.actions()]
    assert "Edit Inside" not in texts and texts[:2] == ["Add Layer", "Add Block"]
    add_block = empty.actions()[1].menu()
    se = next(a for a in add_block.actions() if a.text() == "Squeeze-and-excitation")
    se.trigger()
    (inserted,) = cnn.view.graph_scene.selected_node_ids()
    assert cnn.blocks.editor.graph.node(inserted).params == {"block": "squeeze_excitation"}
    spot = cnn.view.mapToScene(QPoint(5, 5))
    card = cnn.view.graph_scene.node_items[inserted]
    assert abs(card.pos().x() + theme.NODE_WIDTH / 2 - spot.x()) <= 10  # centred there,
    assert abs(card.pos().y() + theme.NODE_HEIGHT / 2 - spot.y()) <= 10  # on the grid
    assert all(v % 10 == 0 for v in cnn.blocks.editor.graph.node(inserted).position)


def test_rename_block_changes_every_card_and_undoes(cnn):
    block = _group(cnn, ["conv2"])
    twin = cnn.editor.duplicate_nodes([block])[0]
    cnn.blocks.rename_block(block, "Wide conv")
    cards = cnn.view.graph_scene.node_items
    assert cards[block].block.title == cards[twin].block.title == "Wide conv"
    cnn.actions["undo"].trigger()
    assert cards[block].block.title == "Conv2D"


def test_a_project_with_blocks_saves_and_reopens(cnn, tmp_path):
    block = _group(cnn, THREE)
    saved = cnn.editor.graph.to_json()
    path = tmp_path / "grouped.lcproj"
    cnn.editor.save(path)
    assert cnn.open_project(path, ask=False)
    assert cnn.editor.graph.to_json() == saved
    card = cnn.view.graph_scene.node_items[block]
    assert card.block.title == "Conv2D → MaxPooling2D → Conv2D"
    assert card.report.param_count == 4800
    assert cnn.blocks.enter(block)


def test_grouping_inside_a_block_nests_a_block_there(cnn):
    outer = _group(cnn, THREE)
    cnn.blocks.enter(outer)
    inner = _group(cnn, ["pool1", "conv2"])
    root = cnn.editor.graph
    definition = root.blocks[root.node(outer).params["block"]]
    assert definition.graph.node(inner).type == "Block" and len(root.blocks) == 2
    assert cnn.view.graph_scene.node_items[inner].report.output_shape == (32, 4, 4)
    assert cnn.editor.check_result.total_params == 13706
    assert definition.output == inner  # it took the outer block's output with it
    assert cnn.editor.check_result.ok
    cnn.view.graph_scene.select_nodes([inner])
    _press(
        cnn, Qt.Key.Key_G, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
    )
    assert definition.output == "conv2" and cnn.editor.check_result.ok
    cnn.actions["undo"].trigger()
    cnn.actions["undo"].trigger()
    assert [n.id for n in definition.graph.nodes if n.type != "BlockInput"] == THREE
    assert definition.output == "conv2"
    assert len(root.blocks) == 1 and cnn.blocks.path == [outer]


def test_clicking_a_problem_outside_the_block_shown_goes_back_out(cnn):
    block = _group(cnn, THREE)
    cnn.editor.disconnect_edge(next(e for e in cnn.editor.graph.edges if e.target == "output"))
    cnn.blocks.enter(block)
    problem = next(d for d in cnn.editor.diagnostics if "output" in d.node_ids)
    cnn.diagnostics_panel.nodeActivated.emit("output")
    assert problem.is_error
    assert cnn.blocks.path == []
    assert cnn.view.graph_scene.selected_node_ids() == ["output"]


def test_insert_and_make_independent_undo_and_redo_exactly(cnn):
    before = cnn.editor.graph.to_json()
    path = cnn.palette_panel.block_path("squeeze_excitation")
    first = cnn.blocks.insert_at_center(path)
    inserted = cnn.editor.graph.to_json()
    cnn.blocks.ask_link = lambda title: "link"
    second = cnn.blocks.insert_at_center(path)
    linked = cnn.editor.graph.to_json()
    cnn.blocks.make_independent(second)
    detached = cnn.editor.graph.to_json()
    assert set(detached["blocks"]) == {"squeeze_excitation", "squeeze_excitation_2"}
    for state in (linked, inserted, before):
        cnn.actions["undo"].trigger()
        assert cnn.editor.graph.to_json() == state
    for state in (inserted, linked, detached):
        cnn.actions["redo"].trigger()
        assert cnn.editor.graph.to_json() == state
    cards = cnn.view.graph_scene.node_items
    assert cards[first].block.uses == cards[second].block.uses == 1


def test_a_copied_block_pastes_into_another_project_with_its_definition(cnn):
    block = _group(cnn, THREE)
    definition = cnn.editor.graph.blocks["block"].to_json()
    cnn.view.graph_scene.select_nodes([block])
    _press(cnn, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    _press(cnn, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)  # same project: linked
    assert len(cnn.editor.graph.blocks) == 1
    assert cnn.view.graph_scene.node_items[block].block.uses == 2

    assert cnn.open_example(EXAMPLES / "digits_mlp.lcproj", ask=False)
    _press(cnn, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
    (pasted,) = cnn.view.graph_scene.selected_node_ids()
    graph = cnn.editor.graph
    assert graph.blocks["block"].to_json() == definition
    assert not cnn.view.graph_scene.node_items[pasted].block.missing
    # A project with another block of that name keeps it; the pasted one is renamed.
    cnn.editor.set_param(pasted, "block", "block")
    graph.blocks["block"].graph.set_param("conv1", "filters", 3)
    _press(cnn, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
    (again,) = cnn.view.graph_scene.selected_node_ids()
    assert graph.node(again).params == {"block": "block_2"}
    assert graph.blocks["block_2"].to_json() == definition
    assert graph.blocks["block"].graph.node("conv1").params["filters"] == 3
    cnn.actions["undo"].trigger()
    assert "block_2" not in graph.blocks and again not in graph


def test_the_edit_menu_block_actions_follow_the_selection_and_the_level(cnn):
    actions = cnn.actions
    menu_texts = [a.text() for a in cnn.menuBar().actions()[1].menu().actions()]
    assert "&Group into Block" in menu_texts and "&Back Out of Block" in menu_texts
    assert actions["group"].shortcut().toString() == "Ctrl+G"
    assert actions["ungroup"].shortcut().toString() == "Ctrl+Shift+G"
    cnn.view.graph_scene.clearSelection()
    assert not actions["group"].isEnabled() and not actions["ungroup"].isEnabled()
    assert not actions["leave_block"].isEnabled()
    cnn.view.graph_scene.select_nodes(["conv1"])
    assert actions["group"].isEnabled() and not actions["edit_block"].isEnabled()
    block = _group(cnn, THREE)
    assert actions["ungroup"].isEnabled() and actions["edit_block"].isEnabled()
    actions["edit_block"].trigger()
    assert cnn.blocks.path == [block] and actions["leave_block"].isEnabled()
    actions["leave_block"].trigger()
    assert cnn.blocks.path == [] and not actions["leave_block"].isEnabled()


def test_a_block_that_contains_itself_opens_and_says_so(window, tmp_path):
    data = json.loads((EXAMPLES / "digits_mlp.lcproj").read_text(encoding="utf-8"))
    loop = {"title": "Loop", "description": "", "inputs": ["x"], "output": "again",
            "graph": {"nodes": [{"id": "x", "type": "BlockInput", "params": {}},
                                {"id": "again", "type": "Block", "params": {"block": "loop"}}],
                      "edges": [{"source": "x", "target": "again", "target_port": 0}]}}  # fmt: skip
    data["graph"]["blocks"] = {"loop": loop}
    data["graph"]["nodes"].append({"id": "l1", "type": "Block", "params": {"block": "loop"}})
    path = tmp_path / "loop.lcproj"
    path.write_text(json.dumps(data), encoding="utf-8")
    assert window.open_project(path, ask=False)
    card = window.view.graph_scene.node_items["l1"]
    assert card.has_error and "contains itself" in card.toolTip()
    assert window.blocks.enter("l1") and window.blocks.enter("again")
    assert window.blocks.path == ["l1", "again"]
    assert window.view.graph_scene.node_items["again"].report.status != "ok"
    window.breadcrumb.buttons[0].click()
    assert window.blocks.path == []


def test_a_problem_inside_shows_on_the_inner_card_and_on_the_block(cnn):
    block = _group(cnn, THREE)
    cnn.blocks.enter(block)
    cnn.blocks.editor.set_param("conv2", "filters", 0)
    inner = cnn.view.graph_scene.node_items["conv2"]
    assert inner.has_error and "filters" in inner.toolTip()
    assert not cnn.view.graph_scene.node_items["conv1"].has_error
    (problem,) = cnn.editor.check_result.errors
    assert problem.node_ids == (block,) and problem.message.startswith("conv2: ")
    assert cnn.graph_status.text().startswith("✗ ")
    cnn.blocks.leave()
    assert cnn.view.graph_scene.node_items[block].has_error


def test_activations_pick_the_model_layer_of_a_block_or_a_layer_inside(cnn):
    block = _group(cnn, THREE)
    cnn.view.graph_scene.select_nodes([block])
    assert cnn.activations.node_id == f"{block}.conv2"  # the layer making its output
    cnn.blocks.enter(block)
    cnn.view.graph_scene.select_nodes(["pool1"])
    assert cnn.activations.node_id == f"{block}.pool1"
    model = build_model(cnn.editor.graph)
    assert model.get_layer(f"{block}.pool1") is not None
