"""End to end in the window: pick Nadam and a warmup-cosine schedule in the training
panel's Setup tab, give a layer an L2 penalty, train, and find the schedule the preview
promised in the learning-rate curve and the penalty as its own curve beside the loss."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import Qt  # noqa: E402

from engine import schedules  # noqa: E402
from tests.gui_window import discarding_window  # noqa: E402

EXAMPLES = Path(__file__).resolve().parents[2] / "resources" / "examples"


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    yield from discarding_window(qtbot, tmp_path, monkeypatch, size=(1400, 900))


def test_nadam_with_a_warmup_cosine_schedule_and_an_l2_penalty(window, qtbot):
    assert window.open_example(EXAMPLES / "digits_mlp.lcproj", ask=False)
    panel = window.training_panel
    # The preview counts the real steps per epoch once the dataset's size is known.
    qtbot.waitUntil(lambda: panel.steps_per_epoch() == 45, timeout=10000)
    panel.epochs_box.setValue(2)
    panel.optimizer_box.setCurrentText("nadam")
    panel.show_message_tab("Setup")
    form = panel.form
    form.schedule_box.setCurrentText("cosine_decay")
    args = form.schedule_args
    args.field("warmup_target").enable.setChecked(True)
    args.field("warmup_target").editor.setValue(0.01)
    args.field("warmup_steps").editor.setValue(30)
    args.field("initial_learning_rate").editor.setValue(0.0)
    training = window.editor.project.training
    config = training["optimizer"]["learning_rate"]
    assert training["optimizer"]["name"] == "nadam"
    assert config == {
        "name": "cosine_decay",
        "initial_learning_rate": 0.0,
        "decay_steps": 90,
        "warmup_target": 0.01,
        "warmup_steps": 30,
    }
    promised = form.preview.rates.copy()
    assert len(promised) == 90
    window.editor.set_param("hidden", "kernel_regularizer", {"name": "l2", "l2": 0.001})

    with qtbot.waitSignal(window.controller.finished, timeout=120000):
        qtbot.mouseClick(panel.train_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.state == "idle", timeout=5000)
    assert panel.tabs.tabText(panel.tabs.currentIndex()) == "Curves"
    plots = panel.plots
    plots.flush()

    # Each epoch's logged rate is the schedule's at that epoch's end, as previewed.
    _, rates = plots.series("learning_rate")
    schedule = schedules.get(config)
    assert rates[-1] == pytest.approx(schedule(90), rel=1e-5, abs=1e-9)
    np.testing.assert_allclose(promised, [schedule(s) for s in range(90)], rtol=1e-12)

    # The penalty: its own curve in the loss plot, below the loss that includes it.
    x, penalty = plots.drawn("regularization_loss")
    assert list(x) == [1.0, 2.0] and np.all(penalty > 0)
    assert np.all(penalty < plots.drawn("loss")[1])
    assert plots.plot_names() == ["loss", "accuracy", "learning_rate"]
    legend = [label.text for _, label in plots._plots["loss"].legend.items]
    assert "regularization loss" in legend
