"""The Experiments view's sweep editor as a user types into it: the name chooser lists the
project's training settings and every layer parameter, each row is checked live by the
engine's own parser (a bad value is named under its row and Start stays disabled), and
the plan line counts the trials."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import Qt  # noqa: E402

from engine.experiments.params import resolve_params  # noqa: E402
from widgets.experiments.sweep_editor import SweepEditor  # noqa: E402

EXAMPLES = Path(__file__).resolve().parents[2] / "resources" / "examples"


@pytest.fixture
def mlp():
    return json.loads((EXAMPLES / "digits_mlp.lcproj").read_text())


@pytest.fixture
def editor(qtbot, mlp):
    widget = SweepEditor()
    qtbot.addWidget(widget)
    widget.resize(360, 420)
    widget.show()
    widget.set_project(mlp)
    return widget


def type_row(qtbot, row, name, values):
    row.name_box.lineEdit().clear()
    qtbot.keyClicks(row.name_box.lineEdit(), name)
    row.values_edit.clear()
    qtbot.keyClicks(row.values_edit, values)


def test_the_chooser_lists_training_settings_and_every_layer_parameter(editor):
    row = editor.rows[0]
    names = [row.name_box.itemText(i) for i in range(row.name_box.count())]
    for name in ("learning_rate", "batch_size", "optimizer", "schedule", "optimizer.beta_1"):
        assert name in names
    for name in ("hidden.units", "hidden.activation", "dropout.rate", "output.units"):
        assert name in names
    assert not any(n.startswith("input.") for n in names)  # an Input's shape is not swept
    # Every name offered, with the values its placeholder proposes, is one the engine binds
    # (so the chooser never proposes a dead end).
    for name in names:
        assert resolve_params(editor._project, [f"{name}={_value_for(name)}"])


def _value_for(name):
    """A value the chooser's own placeholder proposes for ``name``."""
    from widgets.experiments.names import sweep_names  # noqa: PLC0415

    mlp = json.loads((EXAMPLES / "digits_mlp.lcproj").read_text())
    example = next(n.example for n in sweep_names(mlp) if n.name == name)
    return example


def test_a_log_range_is_read_and_counted(qtbot, editor):
    row = editor.rows[0]
    type_row(qtbot, row, "learning_rate", "1e-4:1e-1:log:6")
    assert editor.check()
    assert row.error is None
    assert row.message.text().startswith("6 values: 0.0001, ")
    assert row.message.text().endswith(", 0.1")
    assert editor.start_button.isEnabled()
    assert editor.summary.text().startswith("6 trials · 30 epochs each · one at a time")
    editor.set_options(epochs=2)
    assert editor.summary.text().startswith("6 trials · 2 epochs each")
    request = editor.request()
    assert request.params == ["learning_rate=1e-4:1e-1:log:6"]
    assert (request.strategy, request.metric, request.mode, request.epochs) == (
        "grid",
        "val_accuracy",
        "max",
        2,
    )


@pytest.mark.parametrize(
    ("name", "values", "words"),
    [
        ("learning_rate", "-1e-3:1e-1:3", ["learning_rate", "-0.001"]),
        ("lr", "1e-4:1e-1:log:0", ["count", "at least 1"]),
        ("lr", "0:1e-1:log:4", ["log range", "start"]),
        ("nosuch", "1,2", ["unknown parameter", "nosuch"]),
        ("hidden.units", "", ["no values", "empty"]),
        ("dropout.rate", "0.2,1.5", ["1.5"]),
    ],
)
def test_bad_values_are_named_under_their_row_and_nothing_can_start(
    qtbot, editor, name, values, words
):
    started = []
    editor.startRequested.connect(lambda: started.append(True))
    row = editor.rows[0]
    type_row(qtbot, row, name, values)
    assert not editor.check()
    assert row.error is not None
    message = row.message.text()
    assert message == row.error
    assert any(word in message for word in words), message
    assert row.message.property("role") == "error"
    assert row.values_edit.property("error") == "true"
    assert not editor.start_button.isEnabled()
    assert "red" in editor.summary.text()
    editor._on_start()  # even a forced click starts nothing
    assert not started


def test_a_parameter_given_twice_is_flagged_on_the_second_row(qtbot, editor):
    type_row(qtbot, editor.rows[0], "lr", "0.1,0.01")
    second = editor.add_row()
    type_row(qtbot, second, "learning_rate", "0.5")
    assert not editor.check()
    assert editor.rows[0].error is None
    assert "twice" in second.error


def test_two_rows_make_a_grid_and_random_draws_from_it(qtbot, editor):
    type_row(qtbot, editor.rows[0], "lr", "1e-3,1e-2")
    type_row(qtbot, editor.add_row(), "hidden.units", "16,32,64")
    assert editor.check()
    assert editor.summary.text().startswith("6 trials")
    editor.set_options(strategy="random", trials=4)
    assert editor.trials_spin.isVisible()
    assert editor.summary.text().startswith("4 trials")
    editor.set_options(trials=10)
    assert "only 6" in editor.summary.text()
    assert editor.request().trials == 10


def test_removing_rows_and_an_empty_sweep(qtbot, editor):
    row = editor.rows[0]
    qtbot.mouseClick(row.remove_button, Qt.MouseButton.LeftButton)
    assert editor.rows == []
    assert not editor.check()
    assert "add a parameter" in editor.summary.text().lower()
    assert not editor.start_button.isEnabled()


def test_a_metric_the_runs_do_not_log_is_refused(qtbot, editor):
    type_row(qtbot, editor.rows[0], "lr", "0.01")
    assert editor.check()
    editor.set_options(metric="val_f1_score")
    assert not editor.check()
    assert "does not log" in editor.summary.text() or "do not log" in editor.summary.text()
    assert not editor.start_button.isEnabled()


def test_the_metric_presets_the_mode(editor):
    editor.set_options(metric="val_loss")
    assert editor.mode_box.currentData() == "min"
    editor.set_options(metric="val_accuracy")
    assert editor.mode_box.currentData() == "max"


def test_locked_while_running(editor):
    editor.set_editable(False)
    assert not editor.rows[0].values_edit.isEnabled()
    assert not editor.start_button.isEnabled()
    editor.set_editable(True)
    assert editor.rows[0].values_edit.isEnabled()


def test_typing_is_checked_in_the_background(qtbot, editor):
    row = editor.rows[0]
    type_row(qtbot, row, "learning_rate", "1e-4:1e-1:log:6")
    # No explicit check: the pause after typing runs one off the UI thread.
    qtbot.waitUntil(lambda: row.message.text().startswith("6 values"), timeout=5000)
    assert editor.start_button.isEnabled()
    row.values_edit.setText("-1:1:3")
    qtbot.waitUntil(lambda: row.error is not None, timeout=5000)
    assert "-1" in row.message.text() and not editor.start_button.isEnabled()
