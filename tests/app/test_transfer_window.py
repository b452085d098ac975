"""Transfer learning in the real window: "Freeze Up to Here" from a layer's right-click
menu, "Unfreeze All", "Replace Head…" from the Edit menu, each one undo step, and the
edited project compiling to a model whose frozen layers really are frozen."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("PySide6")

from PySide6.QtWidgets import QInputDialog  # noqa: E402

from engine.graph.builder import build_model  # noqa: E402
from tests.gui_window import discarding_window  # noqa: E402

EXAMPLES = Path(__file__).resolve().parents[2] / "resources" / "examples"
BACKBONE = ["conv1", "pool1", "conv2", "pool2", "flatten"]


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    yield from discarding_window(qtbot, tmp_path, monkeypatch)


@pytest.fixture
def cnn(window):
    assert window.open_example(EXAMPLES / "digits_cnn.lcproj", ask=False)
    return window


def _frozen(window) -> set[str]:
    graph = window.editor.graph
    return {n.id for n in graph.nodes if n.params.get("trainable") is False}


def _menu_texts(menu) -> list[str]:
    return [a.text() for a in menu.actions() if a.text()]


def test_freeze_up_to_here_from_the_layer_menu_is_one_undo_step(cnn):
    view = cnn.view
    card = view.graph_scene.node_items["flatten"]
    view.centerOn(card)
    menu = cnn.blocks.context_menu(view.mapFromScene(card.sceneBoundingRect().center()))
    assert "&Freeze Up to Here" in _menu_texts(menu)
    next(a for a in menu.actions() if a.text() == "&Freeze Up to Here").trigger()
    # Upstream of flatten, Input excepted; the dense layers after it keep training.
    assert _frozen(cnn) == set(BACKBONE)
    assert card.frozen and not view.graph_scene.node_items["hidden"].frozen
    assert cnn.undo_group.activeStack().undoText().startswith("Freeze up to 'flatten'")
    model = build_model(cnn.editor.graph)
    frozen_layers = {layer.name for layer in model.layers if not layer.trainable}
    assert frozen_layers == set(BACKBONE)
    assert [w.shape for w in model.trainable_weights] == [
        w.shape for name in ("hidden", "output") for w in model.get_layer(name).weights
    ]
    import os  # noqa: PLC0415

    if os.environ.get("LAYERCANVAS_SHOTS"):  # for looking at the frozen cards by hand
        view.grab().save(os.path.join(os.environ["LAYERCANVAS_SHOTS"], "transfer_frozen.png"))

    cnn.actions["undo"].trigger()
    assert _frozen(cnn) == set()
    cnn.actions["redo"].trigger()
    assert _frozen(cnn) == set(BACKBONE)

    cnn.actions["unfreeze_all"].trigger()
    assert _frozen(cnn) == set()
    assert "trainable" not in cnn.editor.graph.node("conv1").params
    cnn.actions["undo"].trigger()
    assert _frozen(cnn) == set(BACKBONE)


def test_replace_head_asks_the_class_count_and_wires_a_new_dense(cnn, monkeypatch):
    before = cnn.editor.graph.to_json()
    asked = {}

    def answer(parent, title, label, value, *args):
        asked["default"] = value
        return 7, True

    monkeypatch.setattr(QInputDialog, "getInt", staticmethod(answer))
    cnn.view.graph_scene.select_nodes(["output"])
    cnn.actions["replace_head"].trigger()
    graph = cnn.editor.graph
    assert asked["default"] == 10  # the old head's units: digits names no class list
    assert "output" not in graph
    assert graph.node("head").params == {"units": 7, "activation": "softmax"}
    assert [(e.source, e.target) for e in graph.edges_into("head")] == [("hidden", "head")]
    model = build_model(graph)
    assert model.outputs[0].shape[-1] == 7
    cnn.actions["undo"].trigger()
    assert cnn.editor.graph.to_json() == before


def test_replace_head_refuses_a_head_fed_by_two_layers_with_a_message(cnn):
    cnn.view.graph_scene.select_nodes(["hidden", "conv1"])
    assert cnn.blocks.editor.graph.to_json() == cnn.editor.graph.to_json()
    before = cnn.editor.graph.to_json()
    from app.transfer_actions import replace_head_of_selection  # noqa: PLC0415

    assert replace_head_of_selection(cnn, units=3) is None
    assert "must be fed by exactly one layer" in cnn.statusBar().currentMessage()
    assert cnn.editor.graph.to_json() == before


def test_replace_head_on_a_logits_model_makes_the_loss_a_classification_one(cnn):
    logits = {**cnn.editor.settings("training"), "loss": "mse", "metrics": []}
    cnn.editor.set_settings("training", logits)
    from app.transfer_actions import replace_head_of_selection  # noqa: PLC0415

    cnn.view.graph_scene.select_nodes(["output"])
    assert replace_head_of_selection(cnn, units=3) == "head"
    training = cnn.editor.settings("training")
    assert training["loss"] == "sparse_categorical_crossentropy"
    assert training["metrics"] == ["accuracy"]
    cnn.actions["undo"].trigger()  # one step: the head and the loss come back together
    assert cnn.editor.settings("training") == logits
    assert "output" in cnn.editor.graph
