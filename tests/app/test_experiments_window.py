"""The Experiments view in the real window: a sweep of six learning rates on the digits MLP
run from the view (each trial its own process) records six runs in the Runs panel, ranked
by the metric; "Apply best" sets the best trial's rate as one undo step; bad values start
nothing; a sweep whose process was killed is listed when the project is reopened and
"Continue" runs the rest; Stop and Skip act on the trials."""

from __future__ import annotations

import json
import math
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import Qt  # noqa: E402

from engine.experiments import ExperimentStore, resolve_params  # noqa: E402
from engine.runs import RunStore, runs_dir_for  # noqa: E402
from tests.gui_window import discarding_window  # noqa: E402
from widgets.experiments.trials_table import METRIC  # noqa: E402
from widgets.runs_table import NAME, STATUS  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "resources" / "examples" / "digits_mlp.lcproj"
RATES = "1e-4:1e-1:log:6"
SWEEP_S = 120_000  # ms: six one-epoch trials, each a fresh process on a shared machine


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    yield from discarding_window(qtbot, tmp_path, monkeypatch, size=(1500, 950))


@pytest.fixture
def project(tmp_path):
    path = tmp_path / "digits_mlp.lcproj"
    shutil.copy(EXAMPLE, path)
    return path


def open_view(window, path):
    assert window.open_project(path, ask=False)
    window.experiments_dock.show()
    window.experiments_dock.raise_()
    return window.experiments_view


def type_sweep(qtbot, view, name, values, epochs=1):
    editor = view.editor
    row = editor.rows[0]
    row.name_box.lineEdit().clear()
    qtbot.keyClicks(row.name_box.lineEdit(), name)
    row.values_edit.clear()
    qtbot.keyClicks(row.values_edit, values)
    editor.set_options(epochs=epochs)
    editor.check()


def wait_ended(qtbot, window, timeout=SWEEP_S):
    with qtbot.waitSignal(window.experiments.experimentEnded, timeout=timeout):
        pass


def test_a_sweep_of_six_rates_records_six_runs_and_applies_the_best(qtbot, window, project):
    view = open_view(window, project)
    type_sweep(qtbot, view, "learning_rate", RATES)
    view.editor.set_options(parallel=2)  # two processes at once, each with half the cores
    assert view.editor.start_button.isEnabled()
    events = []
    window.experiments.event.connect(events.append)
    with qtbot.waitSignal(window.experiments.experimentEnded, timeout=SWEEP_S):
        qtbot.mouseClick(view.editor.start_button, Qt.MouseButton.LeftButton)
        assert view.stop_button.isVisible()  # running: the UI took the click and goes on
        assert not view.editor.rows[0].values_edit.isEnabled()
    # The window's event loop ran while the trials trained: their epochs arrived live.
    assert {e["kind"] for e in events} >= {"trial_started", "epoch", "trial_finished"}
    starts = [i for i, e in enumerate(events) if e["kind"] == "trial_started"]
    ends = [i for i, e in enumerate(events) if e["kind"] == "trial_finished"]
    assert starts[1] < ends[0]  # the second trial started before the first one ended

    experiment = ExperimentStore(runs_dir_for(project)).list()[0]
    trials = experiment.trials
    assert [t.status for t in trials] == ["finished"] * 6
    rates = [t.values["learning_rate"] for t in trials]
    assert rates[0] == pytest.approx(1e-4) and rates[-1] == pytest.approx(0.1)
    assert all(b / a == pytest.approx(10**0.6, rel=1e-6) for a, b in zip(rates, rates[1:]))

    # Six runs in the Runs panel, each the trial's: its rate trained, its metric logged.
    records = {r.id: r for r in RunStore(runs_dir_for(project)).list()[0]}
    assert len(window.runs.records) == 6 and window.runs_panel.table.rowCount() == 6
    for trial in trials:
        record = records[trial.run_id]
        assert record.status == "finished"
        assert record.experiment["id"] == experiment.id
        assert record.experiment["trial"] == trial.id
        assert record.learning_rate == pytest.approx(trial.values["learning_rate"])
        assert record.history["val_accuracy"][-1] == pytest.approx(trial.metric)
        row = window.runs_panel.row_of(record.id)  # the Runs panel names its experiment
        tip = window.runs_panel.table.item(row, NAME).toolTip()
        assert f"trial {trial.id} of experiment '{experiment.name}'" in tip

    # The table ranks the trials by val_accuracy, best first.
    shown = [float(t) for t in view.table.column_texts(METRIC)]
    expected = sorted((t.metric for t in trials), reverse=True)
    assert shown == pytest.approx(expected, abs=6e-5)
    assert view.table.item(0, 0).text() == "★"
    best = max(trials, key=lambda t: t.metric)
    assert view.table.rows[0].id == best.id

    # The plot has one point per trial, at its rate (log axis), at its metric.
    x, y = view.plot.points()
    assert sorted(x) == pytest.approx(sorted(rates), rel=1e-6)
    assert sorted(y) == pytest.approx(sorted(t.metric for t in trials))

    # Selecting two trials overlays their curves (the run records' histories).
    view.table.select_ids([trials[0].id, best.id])
    xs, ys = view.curves.curve(best.id, "val_accuracy")
    assert list(ys) == pytest.approx(records[best.run_id].history["val_accuracy"])

    # Apply best: the project's rate becomes the best trial's, one undo step.
    editor = window.editor
    steps = editor.undo_stack.count()
    assert view.apply_button.isEnabled()
    qtbot.mouseClick(view.apply_button, Qt.MouseButton.LeftButton)
    rate = editor.settings("training")["optimizer"]["learning_rate"]
    assert rate == pytest.approx(best.values["learning_rate"])
    assert editor.undo_stack.count() == steps + 1
    editor.undo_stack.undo()
    assert editor.settings("training")["optimizer"]["learning_rate"] == 0.003


@pytest.mark.parametrize(
    ("name", "values", "words"),
    [
        ("learning_rate", "-1e-3:1e-1:4", "-0.001"),
        ("nosuch", "1,2,3", "nosuch"),
        ("hidden.units", "", "no values"),
    ],
)
def test_bad_values_show_an_error_and_start_nothing(qtbot, window, project, name, values, words):
    view = open_view(window, project)
    type_sweep(qtbot, view, name, values)
    row = view.editor.rows[0]
    assert row.message.isVisible() and words in row.message.text()
    assert row.message.property("role") == "error"
    assert not view.editor.start_button.isEnabled()
    assert window.experiments.start() is False  # even when asked directly
    assert not window.experiments.running
    assert not (runs_dir_for(project) / "experiments").exists()
    assert window.runs.records == []


def test_an_empty_sweep_starts_nothing(qtbot, window, project):
    view = open_view(window, project)
    qtbot.mouseClick(view.editor.rows[0].remove_button, Qt.MouseButton.LeftButton)
    view.editor.check()
    assert not view.editor.start_button.isEnabled()
    assert "add a parameter" in view.editor.summary.text().lower()
    assert window.experiments.start() is False
    assert not (runs_dir_for(project) / "experiments").exists()


_RUNNER = """
import sys
from engine.experiments import ExperimentStore
from engine.experiments.runner import ExperimentRunner
store = ExperimentStore(sys.argv[2])
ExperimentRunner(sys.argv[1], store.load(sys.argv[3])).run()
"""


def test_a_killed_sweep_is_listed_on_reopening_and_continue_runs_the_rest(qtbot, window, project):
    # A sweep run by another process (as `layercanvas sweep` does), killed with SIGKILL
    # once a trial finished.
    data = json.loads(project.read_text())
    params = resolve_params(data, ["learning_rate=1e-3,1e-2,3e-2"])
    store = ExperimentStore(runs_dir_for(project))
    experiment = store.create(params, epochs=1, project=data, source="cli", name="killed")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        [sys.executable, "-c", _RUNNER, str(project), str(store.runs_dir), experiment.id],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            done = [t for t in store.load(experiment.id).trials if t.status == "finished"]
            if done:
                break
            time.sleep(0.1)
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.wait(30)
    before = store.load(experiment.id)
    finished = {t.id: t.run_id for t in before.trials if t.status == "finished"}
    assert 1 <= len(finished) < 3

    view = open_view(window, project)
    assert view.chooser.count() == 2  # "New experiment" and the killed one
    assert view.chooser.itemText(1).startswith("killed · ")
    assert view.chooser.itemText(1).endswith(" · interrupted")
    view.chooser.setCurrentIndex(1)  # as a user picks it
    assert view.shown is not None and view.shown.id == experiment.id
    # The trial its process was training when killed is shown interrupted.
    shown = dict(zip([r.id for r in view.table.rows], view.table.column_texts(1), strict=True))
    cut = [t.id for t in before.trials if t.status == "running"]
    assert all(shown[t] == "interrupted" for t in cut)
    assert view.editor.rows[0].values_text == "1e-3,1e-2,3e-2"  # its sweep, to vary
    assert view.continue_button.isVisible() and view.continue_button.isEnabled()
    with qtbot.waitSignal(window.experiments.experimentEnded, timeout=SWEEP_S):
        qtbot.mouseClick(view.continue_button, Qt.MouseButton.LeftButton)

    after = store.load(experiment.id)
    assert [t.status for t in after.trials] == ["finished"] * 3
    for trial_id, run_id in finished.items():  # finished trials were not run again
        assert after.trial(trial_id).run_id == run_id
    assert after.status == "finished"
    assert not view.continue_button.isVisible()
    finished_runs = [r for r in window.runs.records if r.status == "finished"]
    assert len(finished_runs) == 3
    assert all(not math.isnan(t.metric) for t in after.trials)


def test_skip_and_stop(qtbot, window, project):
    view = open_view(window, project)
    type_sweep(qtbot, view, "learning_rate", "1e-3,2e-3,3e-3,4e-3,5e-3", epochs=200)
    controller = window.experiments
    done, running = [], []

    def on_event(event):
        if event["kind"] == "epoch" and event["trial"] == "t001" and "t001" not in done:
            done.append("t001")
            # Skip the running trial (none selected: Skip acts on the one running), and
            # t003, waiting, chosen in the table: it never starts.
            qtbot.mouseClick(view.skip_button, Qt.MouseButton.LeftButton)
            view.table.select_ids(["t003"])
            qtbot.mouseClick(view.skip_button, Qt.MouseButton.LeftButton)
            row = next(i for i, r in enumerate(view.table.rows) if r.id == "t003")
            assert view.table.item(row, 1).text() == "skipping…"
        elif event["kind"] == "epoch" and event["trial"] == "t002" and "t002" not in done:
            done.append("t002")
            # The trial's run shows as running in the Runs panel (not unfinished).
            run_id = controller.experiment.trial("t002").run_id
            row = window.runs_panel.row_of(run_id)
            running.append(window.runs_panel.table.item(row, STATUS).text())
            qtbot.mouseClick(view.stop_button, Qt.MouseButton.LeftButton)

    controller.event.connect(on_event)
    with qtbot.waitSignal(controller.experimentEnded, timeout=SWEEP_S):
        qtbot.mouseClick(view.editor.start_button, Qt.MouseButton.LeftButton)
    experiment = ExperimentStore(runs_dir_for(project)).list()[0]
    statuses = {t.id: t.status for t in experiment.trials}
    assert statuses == {
        "t001": "skipped",
        "t002": "stopped",
        "t003": "skipped",
        "t004": "pending",
        "t005": "pending",
    }
    assert experiment.status == "stopped"
    assert view.continue_button.isVisible() and not view.stop_button.isVisible()
    assert view.editor.rows[0].values_edit.isEnabled()  # editable again
    # The two runs cut short are in the history, marked stopped.
    runs = {r.id: r for r in window.runs.records}
    assert runs[experiment.trial("t002").run_id].status == "stopped"
    assert running == ["running"]
    statuses = window.runs_panel.table  # once it ended, nothing shows as running
    assert "running" not in [statuses.item(r, STATUS).text() for r in range(statuses.rowCount())]


def test_an_untitled_project_is_saved_first(qtbot, window):
    window.new_project(ask=False)
    view = window.experiments_view
    assert "Save the project" in view.progress.text()
    type_sweep(qtbot, view, "learning_rate", "0.01,0.1")
    assert window.experiments.start() is False
    assert window.last_message[0] == "Save the project first"
    assert not window.experiments.running


def test_closing_the_window_stops_the_experiment_and_keeps_the_rest(qtbot, window, project):
    view = open_view(window, project)
    type_sweep(qtbot, view, "learning_rate", "1e-3,2e-3,3e-3", epochs=500)
    controller = window.experiments
    with qtbot.waitSignal(controller.event, timeout=SWEEP_S, check_params_cb=_an_epoch):
        qtbot.mouseClick(view.editor.start_button, Qt.MouseButton.LeftButton)
    with qtbot.waitSignal(controller.experimentEnded, timeout=30_000):
        window.close()
    assert not controller.running
    experiment = ExperimentStore(runs_dir_for(project)).list()[0]
    assert [t.status for t in experiment.trials] == ["stopped", "pending", "pending"]
    assert experiment.status == "stopped" and experiment.runner is None


def _an_epoch(event):
    return event["kind"] == "epoch"


def test_saving_elsewhere_while_trials_run_stops_the_experiment(qtbot, window, project, tmp_path):
    view = open_view(window, project)
    type_sweep(qtbot, view, "learning_rate", "1e-3,2e-3", epochs=500)
    controller = window.experiments
    with qtbot.waitSignal(controller.event, timeout=SWEEP_S, check_params_cb=_an_epoch):
        qtbot.mouseClick(view.editor.start_button, Qt.MouseButton.LeftButton)
    with qtbot.waitSignal(controller.experimentEnded, timeout=30_000):
        window.editor.save(tmp_path / "moved" / "copy.lcproj")
    assert window.last_message[0] == "Experiment stopped"
    old = ExperimentStore(runs_dir_for(project)).list()[0]
    assert [t.status for t in old.trials] == ["stopped", "pending"]
    assert view.chooser.count() == 1  # the new place has no experiments yet


def test_apply_best_sets_training_and_layer_values_in_one_step(qtbot, window, project):
    # A finished experiment on record (its metrics written as a runner would).
    data = json.loads(project.read_text())
    params = resolve_params(data, ["lr=0.01,0.001", "hidden.units=16,128"])
    store = ExperimentStore(runs_dir_for(project))
    experiment = store.create(params, epochs=1, project=data, name="lr × units")
    for trial, value in zip(experiment.trials, [0.7, 0.95, 0.8, 0.6], strict=True):
        trial.status, trial.metric = "finished", value
    experiment.status = "finished"
    store.save(experiment)

    view = open_view(window, project)
    view.chooser.setCurrentIndex(1)
    assert view.table.rows[0].values == {"learning_rate": 0.01, "hidden.units": 128}
    editor = window.editor
    before = editor.project.to_json()
    steps = editor.undo_stack.count()
    qtbot.mouseClick(view.apply_button, Qt.MouseButton.LeftButton)
    assert editor.undo_stack.count() == steps + 1
    assert editor.undo_stack.undoText() == "Apply best of 'lr × units'"
    assert editor.settings("training")["optimizer"]["learning_rate"] == 0.01
    assert editor.graph.node("hidden").params["units"] == 128
    assert window.training_panel.rate_box.value() == pytest.approx(0.01)  # panels follow
    assert editor.modified
    editor.undo_stack.undo()
    assert editor.project.to_json() == before
    assert not editor.modified
    # Applying what the project already has changes nothing and adds no step.
    editor.undo_stack.redo()
    assert window.experiments.apply_best(experiment.id) is False
    assert editor.undo_stack.count() == steps + 1


def test_the_names_follow_the_graph(qtbot, window, project):
    view = open_view(window, project)

    def names():
        box = view.editor.rows[0].name_box
        return [box.itemText(i) for i in range(box.count())]

    assert "hidden.units" in names()
    new_id = window.editor.add_node("Dense", (400, 0))
    qtbot.waitUntil(lambda: f"{new_id}.units" in names())
    # While the view is behind another tab, the list waits until it is shown again.
    window.runs_dock.raise_()
    qtbot.waitUntil(lambda: view.visibleRegion().isEmpty())
    window.editor.rename_node(new_id, "wide")
    qtbot.wait(200)
    assert f"{new_id}.units" in names()
    window.experiments_dock.raise_()
    qtbot.waitUntil(lambda: "wide.units" in names())
    assert f"{new_id}.units" not in names()


def test_a_sweep_run_from_the_command_line_is_followed_live(qtbot, window, project):
    data = json.loads(project.read_text())
    params = resolve_params(data, ["learning_rate=1e-3,1e-2"])
    store = ExperimentStore(runs_dir_for(project))
    experiment = store.create(params, epochs=1, project=data, source="cli", name="cli sweep")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        [sys.executable, "-c", _RUNNER, str(project), str(store.runs_dir), experiment.id],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        qtbot.waitUntil(lambda: store.load(experiment.id).status == "running", timeout=30_000)
        view = open_view(window, project)
        assert view.chooser.itemText(1).endswith(" · running elsewhere")
        view.chooser.setCurrentIndex(1)
        assert "running in another process" in view.progress.text()
        assert view.continue_button.isVisible() and not view.continue_button.isEnabled()
        # The window reads the record as the other process writes it.
        qtbot.waitUntil(lambda: view.table.column_texts(1) == ["finished"] * 2, timeout=SWEEP_S)
        assert process.wait(30) == 0
        qtbot.waitUntil(lambda: not view.continue_button.isVisible())
        assert view.chooser.itemText(1) == "cli sweep · 2/2"
        assert len(window.runs.records) == 2
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
