"""End to end in the window: open the digits example, press Train, watch it learn, export.

Drives a real ``MainWindow`` offscreen the way a user would: the Train, Pause and Stop
buttons of the training panel and the window's Export ONNX action (with the file dialog
answered by the test).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtWidgets import QFileDialog  # noqa: E402

from tests.gui_window import discarding_window  # noqa: E402

EXAMPLES = Path(__file__).resolve().parents[2] / "resources" / "examples"


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    yield from discarding_window(qtbot, tmp_path, monkeypatch, size=(1400, 900))


def _open(window, name: str, epochs: int) -> None:
    assert window.open_example(EXAMPLES / name, ask=False)
    window.training_panel.epochs_box.setValue(epochs)  # through the panel, like a user
    assert window.editor.project.training["epochs"] == epochs


def _click(qtbot, button) -> None:
    assert button.isEnabled(), button.text()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def test_train_the_digits_cnn_then_export_it(window, qtbot, tmp_path, monkeypatch):
    _open(window, "digits_cnn.lcproj", epochs=2)
    panel = window.training_panel
    with qtbot.waitSignal(window.controller.finished, timeout=120000) as blocker:
        _click(qtbot, panel.train_button)
        assert not panel.train_button.isEnabled() and panel.stop_button.isEnabled()
    result = blocker.args[0]
    qtbot.waitUntil(lambda: panel.state == "idle", timeout=5000)

    # The curves received every batch and both epochs.
    panel.plots.flush()
    x, losses = panel.plots.drawn("loss", "batch")
    assert len(x) == 2 * 45 and x[-1] == pytest.approx(2.0)
    assert np.mean(losses[-10:]) < np.mean(losses[:10])  # it learned
    assert list(panel.plots.drawn("val_accuracy")[0]) == [1.0, 2.0]
    assert panel.plots.plot_names() == ["loss", "accuracy", "learning_rate"]
    assert panel.progress.value() == 1000

    # The confusion matrix holds every validation sample, mostly on the diagonal.
    matrix = panel.confusion.matrix
    assert matrix.shape == (10, 10) and matrix.sum() == 359
    accuracy = np.trace(matrix) / matrix.sum()
    assert accuracy > 0.5  # chance is 0.1
    assert accuracy == pytest.approx(result.history["val_accuracy"][-1])
    assert len(panel.samples.shown) == 359
    assert panel.sketch.armed  # an image classifier: the sketchpad is ready

    # Export through the window's action; the file dialog answers with a temporary path.
    target = tmp_path / "digits_cnn.onnx"
    monkeypatch.setattr(
        QFileDialog, "getSaveFileName", staticmethod(lambda *a, **k: (str(target), ""))
    )
    with qtbot.waitSignal(window.onnxExported, timeout=60000) as exported:
        window.actions["export_onnx"].trigger()
    report = exported.args[0]
    assert target.is_file() and report.checker_passed and report.max_relative_error <= 1e-4
    assert window.last_message[0] == "ONNX export verified"

    # The exported file predicts what the trained model predicts.
    import onnxruntime as ort  # noqa: PLC0415

    from engine.data import apply_normalization, load_dataset  # noqa: PLC0415

    x = apply_normalization(load_dataset({"name": "digits"}).x[:16], result.normalization)
    session = ort.InferenceSession(str(target), providers=["CPUExecutionProvider"])
    (onnx_out,) = session.run(None, {session.get_inputs()[0].name: x})
    np.testing.assert_allclose(onnx_out, result.model.predict(x), rtol=1e-4, atol=1e-5)

    # The trained model saved as a .lcmodel file loads back with the same predictions.
    from engine.io import load_model  # noqa: PLC0415

    with qtbot.waitSignal(window.modelSaved, timeout=10000):
        assert window.export_trained_model(tmp_path / "digits")
    loaded = load_model(tmp_path / "digits.lcmodel")
    np.testing.assert_allclose(loaded.predict(x), result.model.predict(x), rtol=1e-6)


def test_stop_ends_a_long_run_and_keeps_the_model(window, qtbot):
    _open(window, "digits_mlp.lcproj", epochs=500)
    panel = window.training_panel
    with qtbot.waitSignal(window.controller.epoch_end, timeout=60000):
        _click(qtbot, panel.train_button)
    with qtbot.waitSignal(window.controller.stopped, timeout=60000) as blocker:
        _click(qtbot, panel.stop_button)
    result = blocker.args[0]
    assert 1 <= result.epochs_completed < 500
    qtbot.waitUntil(lambda: panel.state == "idle", timeout=5000)
    assert panel.train_button.isEnabled() and not panel.stop_button.isEnabled()
    assert panel.progress.format().startswith("Stopped")
    assert panel.confusion.matrix.sum() == 359  # the stopped model is still evaluated


def test_pause_and_resume_from_the_panel(window, qtbot):
    _open(window, "digits_mlp.lcproj", epochs=25)  # long enough to pause under any load
    panel = window.training_panel
    with qtbot.waitSignal(window.controller.batch_end, timeout=60000):
        _click(qtbot, panel.train_button)
    with qtbot.waitSignal(window.controller.paused_changed, timeout=10000):
        _click(qtbot, panel.pause_button)
    qtbot.waitUntil(lambda: panel.state == "paused", timeout=5000)
    assert panel.pause_button.text() == "Resume"
    qtbot.wait(50)
    panel.plots.flush()
    points = len(panel.plots.series("loss", "batch")[0])
    qtbot.wait(250)
    panel.plots.flush()
    assert len(panel.plots.series("loss", "batch")[0]) == points  # nothing trains paused
    with qtbot.waitSignal(window.controller.finished, timeout=60000):
        _click(qtbot, panel.pause_button)
    panel.plots.flush()
    assert len(panel.plots.series("loss", "batch")[0]) == 25 * 45


def _ellipse(cx, cy, rx, ry, n=40):
    t = np.linspace(0, 2 * np.pi, n)
    return list(zip(cx + rx * np.cos(t), cy + ry * np.sin(t)))


# Digits as a person might draw them, on a unit square (x right, y down).
DRAWN_DIGITS = {
    0: [_ellipse(0.5, 0.5, 0.22, 0.32)],
    1: [[(0.4, 0.25), (0.55, 0.15), (0.55, 0.85)]],
    2: [[(0.3, 0.3), (0.5, 0.18), (0.68, 0.3), (0.3, 0.82), (0.72, 0.82)]],
    3: [[(0.3, 0.2), (0.65, 0.2), (0.45, 0.48), (0.68, 0.62), (0.55, 0.82), (0.3, 0.8)]],
    4: [[(0.55, 0.15), (0.3, 0.6), (0.7, 0.6)], [(0.6, 0.35), (0.6, 0.85)]],
    5: [[(0.68, 0.18), (0.35, 0.18), (0.33, 0.45), (0.6, 0.45), (0.68, 0.65), (0.55, 0.82),
         (0.3, 0.8)]],
    6: [[(0.6, 0.15), (0.35, 0.5), (0.35, 0.75), (0.5, 0.85), (0.65, 0.72), (0.6, 0.55),
         (0.38, 0.58)]],
    7: [[(0.3, 0.22), (0.7, 0.22), (0.45, 0.85)], [(0.4, 0.5), (0.65, 0.5)]],
    8: [_ellipse(0.5, 0.32, 0.15, 0.15), _ellipse(0.5, 0.66, 0.18, 0.18)],
    9: [_ellipse(0.5, 0.35, 0.17, 0.15), [(0.67, 0.35), (0.62, 0.85)]],
}  # fmt: skip


def test_the_sketchpad_recognises_drawn_digits(window, qtbot):
    # The drawing is scaled like the training digits were made, so a model trained on
    # them reads digits drawn on the pad (the MLP example: about a second of training).
    _open(window, "digits_mlp.lcproj", epochs=30)
    with qtbot.waitSignal(window.controller.finished, timeout=120000):
        _click(qtbot, window.training_panel.train_button)
    sketch = window.training_panel.sketch
    qtbot.waitUntil(lambda: sketch.armed, timeout=5000)
    side = sketch.pad.resolution
    right = 0
    for digit, strokes in DRAWN_DIGITS.items():
        sketch.pad.clear()
        for points in strokes:
            sketch.pad.draw_stroke([(x * side, y * side) for x, y in points])
        probs = sketch.predict_now()
        right += int(np.argmax(probs)) == digit
    assert right >= 8
