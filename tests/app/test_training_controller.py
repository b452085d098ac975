"""The training controller: a worker thread trains, Qt signals report, flags pause and stop."""

from __future__ import annotations

import copy
import threading
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("PySide6")

from app.training_controller import (  # noqa: E402
    BATCH_SIGNAL_HZ,
    QtReportingCallback,
    TrainingController,
    describe_error,
    evaluate_model,
)
from engine.graph.project import load_project  # noqa: E402

EXAMPLES = Path(__file__).resolve().parents[2] / "resources" / "examples"


@pytest.fixture
def project():
    return load_project(EXAMPLES / "digits_mlp.lcproj")


@pytest.fixture
def controller(qtbot):
    c = TrainingController()
    yield c
    c.shutdown()


class _Recorder:
    """Every signal of a controller, in order."""

    def __init__(self, c: TrainingController):
        self.events: list[tuple] = []
        c.started.connect(lambda info: self.events.append(("started", info)))
        c.batch_end.connect(lambda u: self.events.append(("batch", u)))
        c.epoch_end.connect(lambda e, logs: self.events.append(("epoch", e, logs)))
        c.finished.connect(lambda r: self.events.append(("finished", r)))
        c.stopped.connect(lambda r: self.events.append(("stopped", r)))
        c.failed.connect(lambda m: self.events.append(("failed", m)))
        c.paused_changed.connect(lambda p: self.events.append(("paused", p)))

    def of(self, kind):
        return [e for e in self.events if e[0] == kind]

    def kinds(self):
        return [e[0] for e in self.events]


def test_a_run_reports_batches_epochs_and_the_result(controller, project, qtbot):
    record = _Recorder(controller)
    with qtbot.waitSignal(controller.finished, timeout=60000):
        assert controller.start(project, epochs=2)
        assert controller.busy and not controller.start(project)  # one run at a time
    kinds = record.kinds()
    assert kinds[0] == "started" and kinds[-1] == "finished"
    assert kinds.index("epoch") > kinds.index("batch")
    info = record.of("started")[0][1]
    assert (info.epochs, info.steps_per_epoch, info.train_samples) == (2, 45, 1438)
    assert info.class_names == [str(d) for d in range(10)] and info.input_shape == (1, 8, 8)

    # Every batch arrives exactly once, at positions e + (b + 1) / steps.
    updates = [e[1] for e in record.of("batch")]
    xs = np.concatenate([u.x for u in updates])
    np.testing.assert_allclose(xs, [e + (b + 1) / 45 for e in range(2) for b in range(45)])
    losses = np.concatenate([u.values["loss"] for u in updates])
    # The per-batch losses are recovered from the engine's running means: weighted by batch
    # size they average back to each epoch's logged loss.
    sizes = np.array(([32] * 44 + [1438 - 44 * 32]) * 2, dtype=float)
    epochs = record.of("epoch")
    for e in range(2):
        part = slice(45 * e, 45 * (e + 1))
        mean = np.sum(losses[part] * sizes[part]) / sizes[part].sum()
        assert mean == pytest.approx(epochs[e][2]["loss"], rel=1e-9)
    assert updates[-1].samples_done == 2 * 1438 and updates[-1].samples_per_second > 0

    result = record.of("finished")[0][1]
    assert result.epochs_completed == 2 and not result.stopped
    assert controller.model is result.model and controller.state == "idle"
    assert result.history["val_accuracy"][-1] == pytest.approx(epochs[-1][2]["val_accuracy"])
    evaluation = result.evaluation
    assert evaluation.split == "validation" and len(evaluation.y_true) == 359
    # The evaluation's own argmax accuracy agrees with the engine's accuracy metric.
    assert evaluation.accuracy == pytest.approx(epochs[-1][2]["val_accuracy"])
    assert evaluation.accuracy > 0.5  # far above chance (0.1) after two epochs


def test_the_window_trains_exactly_like_the_command_line(controller, project, qtbot):
    from engine.graph.session import prepare_training  # noqa: PLC0415

    with qtbot.waitSignal(controller.finished, timeout=60000) as blocker:
        controller.start(project, epochs=2)
    setup = prepare_training(copy.deepcopy(project), epochs=2)
    history = setup.model.fit(**setup.fit_arguments()).history
    gui = blocker.args[0].history
    for key in ("loss", "val_loss", "accuracy"):
        np.testing.assert_allclose(gui[key], history[key], rtol=1e-12)


def test_training_never_runs_on_the_ui_thread(controller, project, qtbot, monkeypatch):
    threads = []
    original = QtReportingCallback.on_train_batch_end

    def spy(self, batch, logs=None):
        threads.append(threading.current_thread())
        return original(self, batch, logs)

    monkeypatch.setattr(QtReportingCallback, "on_train_batch_end", spy)
    with qtbot.waitSignal(controller.finished, timeout=60000):
        controller.start(project, epochs=1)
    assert len(threads) == 45
    assert all(t is not threading.main_thread() for t in threads)


def test_batch_signals_are_rate_limited(controller, project, qtbot):
    record = _Recorder(controller)
    project.training["batch_size"] = 4  # 360 tiny batches per epoch
    with qtbot.waitSignal(controller.finished, timeout=60000) as blocker:
        controller.start(project, epochs=2)
    updates = [e[1] for e in record.of("batch")]
    assert sum(len(u.x) for u in updates) == 720
    elapsed = blocker.args[0].elapsed_seconds
    # At most BATCH_SIGNAL_HZ a second, plus the flush at the end of each epoch.
    assert len(updates) <= elapsed * BATCH_SIGNAL_HZ + 2 * 2 + 1
    assert len(updates) < 720  # batches were coalesced (how many depends on the speed)


def test_the_run_trains_a_snapshot(controller, project, qtbot):
    with qtbot.waitSignal(controller.finished, timeout=60000) as blocker:
        controller.start(project)
        project.training["epochs"] = 99  # edits after Train do not reach the run
        project.training["epochs"] = 1
    result = blocker.args[0]
    assert result.epochs_planned == 30
    assert result.project_json["training"]["epochs"] == 30


def test_pause_blocks_between_batches_and_resume_goes_on(controller, project, qtbot):
    record = _Recorder(controller)
    with qtbot.waitSignal(controller.batch_end, timeout=30000):
        controller.start(project, epochs=25)  # long enough to pause under any load
    with qtbot.waitSignal(controller.paused_changed, timeout=10000) as blocker:
        controller.pause()
    assert blocker.args == [True] and controller.state == "paused"
    qtbot.wait(50)  # let queued updates from before the pause arrive
    seen = sum(len(e[1].x) for e in record.of("batch"))
    qtbot.wait(300)
    assert sum(len(e[1].x) for e in record.of("batch")) == seen  # nothing trained meanwhile
    assert seen < 25 * 45
    with qtbot.waitSignal(controller.finished, timeout=60000):
        controller.toggle_pause()
    assert sum(len(e[1].x) for e in record.of("batch")) == 25 * 45
    assert ("paused", False) in record.events


def test_stop_keeps_the_model_trained_so_far(controller, project, qtbot):
    with qtbot.waitSignal(controller.epoch_end, timeout=30000):
        controller.start(project, epochs=200)
    with qtbot.waitSignal(controller.stopped, timeout=30000) as blocker:
        controller.stop()
        assert controller.state == "stopping"
    result = blocker.args[0]
    assert result.stopped and 1 <= result.epochs_completed < 200
    assert controller.model is result.model and controller.state == "idle"
    assert result.evaluation is not None  # the stopped model is still evaluated


def test_stop_releases_a_paused_run(controller, project, qtbot):
    with qtbot.waitSignal(controller.batch_end, timeout=30000):
        controller.start(project, epochs=50)
    with qtbot.waitSignal(controller.paused_changed, timeout=10000):
        controller.pause()
    with qtbot.waitSignal(controller.stopped, timeout=30000) as blocker:
        controller.stop()
    assert blocker.args[0].epochs_completed <= 1


def test_an_invalid_graph_fails_with_the_problems_listed(controller, project, qtbot):
    doc = project.graph
    doc.remove_edge(next(e for e in doc.edges if e.target == "output"))
    with qtbot.waitSignal(controller.failed, timeout=30000) as blocker:
        controller.start(project)
    message = blocker.args[0]
    assert message.startswith("Training cannot start: the project has")
    assert "output" in message and "Traceback" not in message
    assert controller.result is None and controller.state == "idle"


def test_bad_data_fails_with_a_clear_message(controller, project, qtbot):
    project.dataset = {"name": "digitz"}
    with qtbot.waitSignal(controller.failed, timeout=30000) as blocker:
        controller.start(project)
    assert "unknown built-in dataset 'digitz'" in blocker.args[0]


def test_a_diverging_loss_fails_but_keeps_the_model(controller, qtbot):
    project = load_project(EXAMPLES / "sine_regression.lcproj")
    project.training["optimizer"] = {"name": "sgd", "learning_rate": 1e6}
    with qtbot.waitSignal(controller.failed, timeout=30000) as blocker:
        controller.start(project, epochs=3)
    assert "the loss became" in blocker.args[0]
    assert "smaller learning rate" in blocker.args[0]
    assert controller.model is not None  # the weights before the bad update


def test_a_diverging_update_says_which_batch_and_keeps_finite_weights(controller, qtbot):
    """Issue 15: Adam at lr 1e6 overflows while the loss is still finite (~1e27); the app
    must not claim the weights were left unchanged, and must keep finite ones."""
    project = load_project(EXAMPLES / "spirals_mlp.lcproj")
    project.training["optimizer"] = {"name": "adam", "learning_rate": 1e6}
    with qtbot.waitSignal(controller.failed, timeout=30000) as blocker:
        controller.start(project, epochs=3)
    message = blocker.args[0]
    assert message.startswith("Epoch 1, batch ")
    assert "while the loss was still" in message and "were put back" in message
    assert "smaller learning rate" in message
    weights = controller.model.get_weights()
    assert all(np.isfinite(w).all() for w in weights)
    assert controller.result.note == message


def test_evaluate_and_predict_use_the_trained_model(controller, qtbot):
    from engine.data import apply_normalization, load_dataset  # noqa: PLC0415

    project = load_project(EXAMPLES / "digits_mlp.lcproj")
    project.dataset["normalization"] = "standardize"
    with qtbot.waitSignal(controller.finished, timeout=60000) as blocker:
        controller.start(project, epochs=1)
    result = blocker.args[0]
    with qtbot.waitSignal(controller.task_finished, timeout=30000) as task:
        assert controller.evaluate("train")
    name, evaluation = task.args
    assert name == "evaluate" and evaluation.split == "train" and len(evaluation.y_true) == 1438

    # The sketchpad's predict function normalises raw inputs as training did.
    raw = load_dataset({"name": "digits"}).x[:5]
    predict = controller.predict_function()
    expected = result.model.predict(apply_normalization(raw, result.normalization))
    np.testing.assert_allclose(predict(raw), expected, rtol=1e-6)
    # The sample grid shows inputs in their own units: the normalisation is undone.
    assert evaluation.x_display.min() >= -1e-5 and evaluation.x_display.max() <= 1 + 1e-5


def test_tasks_report_their_failures(controller, qtbot):
    def broken():
        raise ValueError("no such column 'price'")

    with qtbot.waitSignal(controller.task_failed, timeout=10000) as blocker:
        controller.run_task("export_onnx", broken, "ONNX export")
    assert blocker.args == ["export_onnx", "ONNX export stopped: no such column 'price'"]


def test_describe_error_is_never_a_traceback(tmp_path, monkeypatch):
    from engine.data import DataError  # noqa: PLC0415

    monkeypatch.setenv("LAYERCANVAS_LOG_DIR", str(tmp_path))
    assert describe_error(DataError("x.csv: row 3 is empty")).endswith("x.csv: row 3 is empty")
    assert "ran out of memory" in describe_error(MemoryError())
    try:
        raise KeyError("weird")
    except KeyError as err:
        message = describe_error(err)
    assert "failed unexpectedly (KeyError" in message and str(tmp_path) in message
    log = next(tmp_path.glob("crash-*.log")).read_text()
    assert "Traceback" in log and "KeyError" in log


def test_evaluate_model_binary_logits_and_regression():
    from engine.data import load_dataset, prepare  # noqa: PLC0415

    class _Model:
        compiled = False
        outputs = [None]

        def __init__(self, fn):
            self.fn = fn

        def predict(self, x, batch_size=32, verbose=0):
            return self.fn(x)

    data = prepare(load_dataset({"name": "moons", "seed": 0}))
    logits = _Model(lambda x: x[:, :1] * 4.0)  # a single unit of logits
    ev = evaluate_model(logits, data)
    p = 1 / (1 + np.exp(-4.0 * data.validation.x[:, 0]))
    np.testing.assert_allclose(ev.probabilities[:, 1], p, rtol=1e-6)
    np.testing.assert_array_equal(ev.y_pred, (p > 0.5).astype(int))
    sine = prepare(load_dataset({"name": "sine", "seed": 0}))
    ev = evaluate_model(_Model(lambda x: np.sin(x)), sine)
    assert ev.task == "regression" and ev.accuracy is None and ev.confidence is None
    np.testing.assert_allclose(ev.y_pred, np.sin(sine.validation.x).reshape(ev.y_true.shape))


def test_shutdown_stops_a_run_and_announces_it_before_returning(controller, project, qtbot):
    record = _Recorder(controller)
    with qtbot.waitSignal(controller.epoch_end, timeout=30000):
        controller.start(project, epochs=500)
    # 500 epochs cannot finish within the timeout: returning True means it stopped between
    # batches. (How fast is not asserted: a loaded machine may take longer.)
    assert controller.shutdown(timeout_ms=10000)
    assert not controller.busy and controller.state == "idle"
    assert record.kinds()[-1] == "stopped"  # delivered synchronously, not later
    assert controller.result is not None
    controller.forget()
    assert controller.result is None and controller.model is None
