"""Look inside, on the real window: pick a validation sample, click a node, and the
Activations panel shows that node's output, checked against an independent computation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import QEvent, Qt  # noqa: E402
from PySide6.QtGui import QHelpEvent  # noqa: E402
from PySide6.QtWidgets import QApplication, QToolTip  # noqa: E402

from engine.data import apply_normalization  # noqa: E402
from tests.gui_window import discarding_window  # noqa: E402

EXAMPLES = Path(__file__).resolve().parents[2] / "resources" / "examples"


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    yield from discarding_window(qtbot, tmp_path, monkeypatch, size=(1300, 800))


def _train(window, qtbot, epochs: int = 1) -> None:
    window.training_panel.epochs_box.setValue(epochs)
    with qtbot.waitSignal(window.controller.finished, timeout=120000):
        assert window.train()
    qtbot.waitUntil(lambda: not window.controller.busy, timeout=10000)
    qtbot.waitUntil(lambda: window.training_panel.samples.samples is not None, timeout=10000)


def _click_tile(window, qtbot, position: int) -> int:
    grid = window.training_panel.samples
    window.training_panel.show_message_tab("Samples")
    qtbot.waitUntil(lambda: grid.canvas.isVisible(), timeout=5000)
    center = grid.tile_rect(position).center()
    with qtbot.waitSignal(window.activations.outputsChanged, timeout=10000):
        qtbot.mouseClick(grid.canvas, Qt.MouseButton.LeftButton, pos=center)
    return int(grid.shown[position])


def _select(window, qtbot, node_id: str) -> None:
    scene = window.view.graph_scene
    scene.clearSelection()
    item = scene.node_items[node_id]
    view = window.view
    view.centerOn(item)
    qtbot.mouseClick(
        view.viewport(),
        Qt.MouseButton.LeftButton,
        pos=view.mapFromScene(item.sceneBoundingRect().center()),
    )
    assert window.activations.node_id == node_id


def _edge_tooltip(window, item) -> str:
    """The tooltip the canvas shows when the mouse rests on the middle of ``item``."""
    view = window.view
    view.centerOn(item)
    point = view.mapFromScene(item.path().pointAtPercent(0.5))
    viewport = view.viewport()
    QApplication.sendEvent(
        viewport, QHelpEvent(QEvent.Type.ToolTip, point, viewport.mapToGlobal(point))
    )
    text = QToolTip.text()
    assert text == item.toolTip()
    return text


def _independent(window, node_id: str, raw: np.ndarray) -> np.ndarray:
    """The node's output by the engine's own sub-model engine.Model(inputs, that output)."""
    from engine import Model  # noqa: PLC0415
    from engine.models.plan import graph_nodes  # noqa: PLC0415

    result = window.controller.result
    model = result.model
    tensor = next(t for t in graph_nodes(model.inputs, model.outputs) if t.name == node_id)
    x = apply_normalization(raw[None].astype(np.float32), result.normalization)
    return np.asarray(Model(model.inputs, tensor).predict(x, verbose=0))[0]


def test_conv_maps_dense_units_and_edge_stats_for_a_picked_sample(window, qtbot):
    view = window.activations_view
    assert window.open_example(EXAMPLES / "digits_cnn.lcproj", ask=False)
    assert "No trained model yet" in view.message.text()
    _train(window, qtbot)
    # Before a sample is picked an edge's tooltip has its shape and no statistics.
    scene = window.view.graph_scene
    edge = next(e for e in scene.edge_items if e.source == "conv1")
    assert "16 × 8 × 8" in _edge_tooltip(window, scene.edge_items[edge][0])
    assert "zeros" not in scene.edge_items[edge][0].toolTip()
    index = _click_tile(window, qtbot, 3)
    assert window.docks["activations"].isVisible()
    raw = window.training_panel.samples.samples.x[index]
    assert "pick" not in view.title.text().lower()

    _select(window, qtbot, "conv1")
    assert view.kind == "maps" and view.plot is view.maps
    assert view.maps.count == 16  # one map per filter
    expected = _independent(window, "conv1", raw)
    assert expected.shape == (16, 8, 8)
    np.testing.assert_allclose(view.maps.values, expected, atol=1e-5)
    # Manual convolution on the trained weights (numpy), same numbers.
    conv = window.controller.result.model.get_layer("conv1")
    kernel, bias = (np.asarray(w) for w in conv.get_weights())
    x = apply_normalization(raw[None].astype(np.float32), window.controller.result.normalization)
    padded = np.pad(x[0], ((0, 0), (1, 1), (1, 1)))
    manual = np.zeros((16, 8, 8))
    for f in range(16):
        for i in range(8):
            for j in range(8):
                patch = padded[:, i : i + 3, j : j + 3]
                k = kernel[..., f] if kernel.shape[-1] == 16 else kernel[f]
                k = k if k.shape == patch.shape else np.transpose(k, (2, 0, 1))
                manual[f, i, j] = np.sum(patch * k) + bias[f]
    np.testing.assert_allclose(view.maps.values, np.maximum(manual, 0), atol=1e-5)
    # Statistics equal numpy's on the same array.
    stats = view.stats
    assert stats.min == pytest.approx(float(expected.min()), abs=1e-6)
    assert stats.max == pytest.approx(float(expected.max()), abs=1e-6)
    assert stats.mean == pytest.approx(float(expected.mean()), abs=1e-6)
    assert stats.zeros == pytest.approx(float(np.mean(expected == 0)))
    assert f"{stats.min:.4g}" in view.stats_label.text()
    assert "shared by all 16 maps" in view.colour_bar.note
    view.grab().save("/tmp/activations_conv.png")
    window.grab().save("/tmp/activations_window.png")

    _select(window, qtbot, "hidden")
    assert view.kind == "vector" and view.plot is view.bars
    np.testing.assert_allclose(view.bars.values, _independent(window, "hidden", raw), atol=1e-5)
    assert view.bars.values.shape == (64,)
    view.grab().save("/tmp/activations_dense.png")

    # The edge conv1 -> pool1: its tooltip names the shape and, now, the statistics.
    item = scene.edge_items[edge][0]
    text = _edge_tooltip(window, item)
    assert "16 × 8 × 8" in text or "(16, 8, 8)" in text or "16x8x8" in text, text
    conv_stats = window.activations.outputs["conv1"]
    assert f"max {conv_stats.max():.4g}" in text and "zeros" in text, text


def test_an_lstm_with_sequences_shows_a_time_by_unit_heat_map(window, qtbot):
    assert window.open_example(EXAMPLES / "digits_lstm.lcproj", ask=False)
    editor = window.editor
    editor.set_param("lstm", "return_sequences", True)
    editor.disconnect_edge(next(e for e in editor.graph.edges if e.source == "lstm"))
    flatten = editor.add_node("Flatten", (700, 200))
    editor.connect_ports("lstm", flatten)
    editor.connect_ports(flatten, "output")
    _train(window, qtbot)
    index = _click_tile(window, qtbot, 0)
    raw = window.training_panel.samples.samples.x[index]
    view = window.activations_view
    _select(window, qtbot, "lstm")
    assert view.kind == "sequence" and view.plot is view.sequence
    expected = _independent(window, "lstm", raw)
    assert expected.shape == (8, 32)  # 8 time steps (image rows) x 32 units
    np.testing.assert_allclose(view.sequence.values, expected, atol=1e-5)
    assert view.stats.mean == pytest.approx(float(expected.mean()), abs=1e-6)
    view.grab().save("/tmp/activations_lstm.png")


def test_activations_follow_the_weights_at_each_epoch_end_while_training(window, qtbot):
    assert window.open_example(EXAMPLES / "digits_mlp.lcproj", ask=False)
    _train(window, qtbot)
    _click_tile(window, qtbot, 1)
    node = next(n.id for n in window.editor.graph.nodes if n.type == "Dense")
    _select(window, qtbot, node)
    view = window.activations_view
    before = view.values.copy()
    window.training_panel.epochs_box.setValue(3)
    seen: list[str] = []
    window.activations.outputsChanged.connect(lambda: seen.append(view.source.text()))
    with qtbot.waitSignal(window.controller.finished, timeout=120000):
        assert window.train()
    qtbot.waitUntil(lambda: not window.controller.busy and len(seen) >= 4, timeout=10000)
    live = [s for s in seen if "(training)" in s]
    assert [s.split("weights after epoch ")[1][0] for s in live] == ["1", "2", "3"]
    assert "trained weights (run finished after 3 epochs)" in seen[-1]
    assert view.node_id == node and not np.allclose(view.values, before)


def test_a_drawing_on_the_sketchpad_is_looked_inside_too(window, qtbot):
    assert window.open_example(EXAMPLES / "digits_cnn.lcproj", ask=False)
    _train(window, qtbot)
    sketch = window.training_panel.sketch
    qtbot.waitUntil(lambda: sketch.armed, timeout=5000)
    _select(window, qtbot, "conv2")
    n = sketch.pad.resolution
    with qtbot.waitSignal(window.activations.outputsChanged, timeout=10000):
        sketch.pad.draw_stroke([(n * 0.5, n * 0.15), (n * 0.5, n * 0.85)])
        sketch.predict_now()
    view = window.activations_view
    assert view.source.text().startswith("Your drawing on the sketchpad")
    assert view.kind == "maps" and view.maps.count == 32
    expected = _independent(window, "conv2", sketch.last_input)
    np.testing.assert_allclose(view.maps.values, expected, atol=1e-5)


def test_token_ids_through_an_embedding(window, qtbot):
    assert window.open_example(EXAMPLES / "text_sentiment.lcproj", ask=False)
    _train(window, qtbot)
    index = _click_tile(window, qtbot, 0)
    raw = window.training_panel.samples.samples.x[index]
    assert raw.dtype.kind in "iu"  # token ids are not normalised
    _select(window, qtbot, "embedding")
    view = window.activations_view
    assert view.kind == "sequence"
    np.testing.assert_allclose(view.values, _independent(window, "embedding", raw), atol=1e-5)
    _select(window, qtbot, "lstm")
    assert view.kind == "vector"


def test_a_regression_hidden_layer(window, qtbot):
    assert window.open_example(EXAMPLES / "sine_regression.lcproj", ask=False)
    _train(window, qtbot)
    index = _click_tile(window, qtbot, 2)
    raw = window.training_panel.samples.samples.x[index]
    _select(window, qtbot, "hidden2")
    view = window.activations_view
    assert view.kind == "vector"
    np.testing.assert_allclose(view.values, _independent(window, "hidden2", raw), atol=1e-5)
    assert "Validation sample" in view.source.text()


def test_a_large_model_is_looked_inside_in_the_worker(window, qtbot, monkeypatch):
    import app.activations_controller as controller_module  # noqa: PLC0415

    assert window.open_example(EXAMPLES / "digits_cnn.lcproj", ask=False)
    _train(window, qtbot)
    _select(window, qtbot, "pool1")
    monkeypatch.setattr(controller_module, "UI_THREAD_LIMIT", 0)  # every model counts as large
    states: list[str] = []
    window.controller.state_changed.connect(states.append)
    index = _click_tile(window, qtbot, 5)
    assert "working" in states  # computed through the controller's worker thread
    raw = window.training_panel.samples.samples.x[index]
    view = window.activations_view
    assert view.kind == "maps" and view.maps.count == 16
    np.testing.assert_allclose(view.values, _independent(window, "pool1", raw), atol=1e-5)
    qtbot.waitUntil(lambda: not window.controller.busy, timeout=5000)
    assert window.activations.outputs is not None and window.actions["train"].isEnabled()
