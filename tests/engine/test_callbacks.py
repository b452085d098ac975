"""Callbacks, driven through a ``CallbackList`` by a small loop shaped like ``fit`` around a
fake model (weights are a counter of the epoch that produced them, so restores show)."""

import io
import math
import os

import numpy as np
import pytest

from engine import callbacks, optimizers


class FakeModel:
    """Just what callbacks touch: weights, stop flag, optimizer, save/save_weights."""

    def __init__(self, learning_rate=0.1):
        self.stop_training = False
        self.optimizer = optimizers.SGD(learning_rate=learning_rate)
        self.weights = [np.zeros(2)]
        self.saved = []

    def get_weights(self):
        return [w.copy() for w in self.weights]

    def set_weights(self, weights):
        self.weights = [np.array(w, copy=True) for w in weights]

    def save(self, path):
        with open(path, "w") as f:
            f.write("model")
        self.saved.append(("save", os.path.basename(path)))

    def save_weights(self, path):
        with open(path, "w") as f:
            f.write("weights")
        self.saved.append(("save_weights", os.path.basename(path)))


def fit(model, cbs, epoch_logs, steps=3, batch_losses=None, batch_size=None, add_history=True):
    """Run the hook sequence of ``fit`` for ``len(epoch_logs)`` epochs (or until stopped).

    Each epoch sets the weights to ``[epoch, epoch]`` before its end-of-epoch hooks, like a
    real epoch of training would change them.
    """
    params = {"epochs": len(epoch_logs), "steps": steps, "verbose": 1}
    if batch_size:
        params.update(batch_size=batch_size, samples=steps * batch_size - 1)
    cb_list = callbacks.CallbackList(cbs, model=model, params=params, add_history=add_history)
    model.stop_training = False
    cb_list.on_train_begin()
    ran = []
    for epoch, logs in enumerate(epoch_logs):
        cb_list.on_epoch_begin(epoch)
        for batch in range(steps):
            cb_list.on_train_batch_begin(batch)
            loss = batch_losses[epoch][batch] if batch_losses else logs.get("loss", 1.0)
            cb_list.on_train_batch_end(batch, {"loss": loss})
            if model.stop_training:
                break
        model.weights = [np.full(2, float(epoch))]
        logs = dict(logs)
        cb_list.on_epoch_end(epoch, logs)
        ran.append(epoch)
        if model.stop_training:
            break
    cb_list.on_train_end()
    return ran, cb_list


def val_losses(*values):
    return [{"loss": v + 0.1, "val_loss": v} for v in values]


# -- the list and the history ------------------------------------------------------------------


def test_history_records_every_epoch_and_is_the_models():
    model = FakeModel()
    ran, cb_list = fit(model, [], val_losses(0.5, 0.4, 0.3))
    history = cb_list.history
    assert model.history is history
    assert history.epoch == ran == [0, 1, 2]
    assert history.history["val_loss"] == [0.5, 0.4, 0.3]
    assert history.history["loss"] == pytest.approx([0.6, 0.5, 0.4])
    assert all(type(v) is float for v in history.history["loss"])


def test_callback_list_calls_every_hook_in_order_with_shared_logs():
    calls = []

    class Recorder(callbacks.Callback):
        def __getattribute__(self, name):
            attr = super().__getattribute__(name)
            if name.startswith("on_") and callable(attr):

                def wrapped(*args):
                    calls.append((name, *args[:-1]))
                    return attr(*args)

                return wrapped
            return attr

    class Adder(callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            logs["extra"] = 1.0

    model = FakeModel()
    _, cb_list = fit(model, [Adder(), Recorder()], val_losses(0.5), steps=2)
    names = [c for c in calls if c[0] != "on_batch_begin" and c[0] != "on_batch_end"]
    assert names == [
        ("on_train_begin",),
        ("on_epoch_begin", 0),
        ("on_train_batch_begin", 0),
        ("on_train_batch_end", 0),
        ("on_train_batch_begin", 1),
        ("on_train_batch_end", 1),
        ("on_epoch_end", 0),
        ("on_train_end",),
    ]
    assert cb_list.history.history["extra"] == [1.0]  # History (last) sees what others added
    recorder = cb_list.callbacks[1]
    assert recorder.model is model and recorder.params["steps"] == 2


def test_legacy_batch_hooks_still_run():
    seen = []

    class Old(callbacks.Callback):
        def on_batch_end(self, batch, logs=None):
            seen.append(batch)

    fit(FakeModel(), [Old()], val_losses(1.0), steps=3)
    assert seen == [0, 1, 2]


# -- ModelCheckpoint ---------------------------------------------------------------------------


def test_checkpoint_best_only_writes_on_improvement_with_formatted_names(tmp_path):
    model = FakeModel()
    pattern = str(tmp_path / "ckpt" / "model-{epoch:02d}-{val_loss:.4f}.lcmodel")
    ckpt = callbacks.ModelCheckpoint(pattern, save_best_only=True)
    fit(model, [ckpt], val_losses(0.5, 0.6, 0.4, 0.4, 0.45, 0.3))
    expected = [
        "model-01-0.5000.lcmodel",
        "model-03-0.4000.lcmodel",
        "model-06-0.3000.lcmodel",
    ]
    assert model.saved == [("save", name) for name in expected]
    assert sorted(os.listdir(tmp_path / "ckpt")) == expected
    assert ckpt.best == 0.3 and ckpt.last_saved.endswith(expected[-1])


def test_checkpoint_every_epoch_weights_only_and_max_mode(tmp_path):
    model = FakeModel()
    ckpt = callbacks.ModelCheckpoint(str(tmp_path / "w{epoch}.weights"), save_weights_only=True)
    fit(model, [ckpt], val_losses(0.5, 0.6))
    assert model.saved == [("save_weights", "w1.weights"), ("save_weights", "w2.weights")]

    model = FakeModel()
    ckpt = callbacks.ModelCheckpoint(
        str(tmp_path / "best.lcmodel"), monitor="val_accuracy", save_best_only=True
    )
    logs = [{"val_accuracy": a} for a in (0.5, 0.7, 0.6, 0.9)]
    fit(model, [ckpt], logs)
    assert len(model.saved) == 3  # 0.5, 0.7, 0.9: "auto" maximises accuracy


def test_checkpoint_initial_threshold_and_batch_frequency(tmp_path):
    model = FakeModel()
    ckpt = callbacks.ModelCheckpoint(
        str(tmp_path / "m.lcmodel"), save_best_only=True, initial_value_threshold=0.45
    )
    fit(model, [ckpt], val_losses(0.5, 0.46, 0.44))
    assert len(model.saved) == 1

    model = FakeModel()
    ckpt = callbacks.ModelCheckpoint(str(tmp_path / "e{epoch}-b{batch}.lcmodel"), save_freq=2)
    fit(model, [ckpt], val_losses(0.5, 0.4), steps=3)
    # batches 1..6 overall; saved after every second one
    assert [name for _, name in model.saved] == [
        "e1-b2.lcmodel",
        "e2-b1.lcmodel",
        "e2-b3.lcmodel",
    ]


def test_checkpoint_problems_are_reported(tmp_path):
    model = FakeModel()
    ckpt = callbacks.ModelCheckpoint(str(tmp_path / "m.lcmodel"), save_best_only=True)
    with pytest.warns(RuntimeWarning, match="'val_loss', which is not in the logs"):
        fit(model, [ckpt], [{"loss": 0.3}])
    assert model.saved == []
    ckpt = callbacks.ModelCheckpoint(str(tmp_path / "m-{val_acc:.2f}.lcmodel"))
    with pytest.raises(ValueError, match=r"uses \{val_acc\}, which is not in the logs"):
        fit(FakeModel(), [ckpt], val_losses(0.5))
    with pytest.raises(ValueError, match="save_freq"):
        callbacks.ModelCheckpoint("x", save_freq="batch")
    with pytest.raises(ValueError, match="mode"):
        callbacks.ModelCheckpoint("x", mode="best")


# -- EarlyStopping -----------------------------------------------------------------------------


def test_early_stopping_patience_and_restore_best_weights():
    model = FakeModel()
    stop = callbacks.EarlyStopping(patience=2, restore_best_weights=True)
    ran, _ = fit(model, [stop], val_losses(1.0, 0.8, 0.9, 0.85, 0.95, 0.7))
    assert ran == [0, 1, 2, 3]  # no improvement at epochs 2 and 3
    assert stop.stopped_epoch == 3 and stop.best_epoch == 1 and stop.best == 0.8
    np.testing.assert_array_equal(model.weights[0], [1.0, 1.0])  # epoch 1's weights


def test_early_stopping_without_restore_keeps_the_last_weights():
    model = FakeModel()
    ran, _ = fit(model, [callbacks.EarlyStopping(patience=1)], val_losses(1.0, 1.0, 1.0))
    assert ran == [0, 1]
    np.testing.assert_array_equal(model.weights[0], [1.0, 1.0])


def test_early_stopping_min_delta_baseline_and_start_epoch():
    # improvements of 0.005 are below min_delta: they do not count
    ran, _ = fit(
        FakeModel(),
        [callbacks.EarlyStopping(min_delta=0.01, patience=1)],
        val_losses(1.0, 0.995, 0.99, 0.985),
    )
    assert ran == [0, 1]
    # Epochs that never beat the baseline do not restart the patience count (Keras 3): the
    # same losses stop one epoch earlier with a baseline than without.
    values = val_losses(1.0, 0.9, 0.95, 0.92, 0.6)
    ran, _ = fit(FakeModel(), [callbacks.EarlyStopping(patience=2, baseline=0.5)], values)
    assert ran == [0, 1, 2]
    ran, _ = fit(FakeModel(), [callbacks.EarlyStopping(patience=2)], values)
    assert ran == [0, 1, 2, 3]
    # the first epochs are ignored
    ran, _ = fit(
        FakeModel(),
        [callbacks.EarlyStopping(patience=0, start_from_epoch=3)],
        val_losses(1.0, 2.0, 3.0, 4.0, 5.0, 6.0),
    )
    assert ran == [0, 1, 2, 3, 4]


def test_early_stopping_maximises_accuracy_in_auto_mode():
    logs = [{"val_accuracy": a} for a in (0.5, 0.6, 0.55, 0.58, 0.7)]
    stop = callbacks.EarlyStopping(monitor="val_accuracy", patience=2)
    ran, _ = fit(FakeModel(), [stop], logs)
    assert ran == [0, 1, 2, 3] and stop.best == 0.6


def test_early_stopping_can_be_reused():
    stop = callbacks.EarlyStopping(patience=0)
    fit(FakeModel(), [stop], val_losses(1.0, 2.0))
    ran, _ = fit(FakeModel(), [stop], val_losses(5.0, 4.0, 3.0))
    assert ran == [0, 1, 2]


# -- learning-rate callbacks -------------------------------------------------------------------


def test_reduce_lr_on_plateau_with_cooldown_and_floor():
    model = FakeModel(learning_rate=0.1)
    reduce = callbacks.ReduceLROnPlateau(factor=0.5, patience=2, cooldown=1, min_lr=0.02)
    rates = []

    class Watch(callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            rates.append(model.optimizer.learning_rate)

    _, cb_list = fit(model, [reduce, Watch()], val_losses(*[1.0] * 12))
    assert rates == pytest.approx(
        [0.1, 0.1, 0.05, 0.05, 0.05, 0.025, 0.025, 0.025, 0.02, 0.02, 0.02, 0.02]
    )
    # the logs carry the rate the epoch trained with
    assert cb_list.history.history["learning_rate"][:4] == pytest.approx([0.1, 0.1, 0.1, 0.05])


def test_reduce_lr_on_plateau_resets_on_improvement_and_replaces_a_schedule():
    from engine import schedules  # noqa: PLC0415

    model = FakeModel()
    model.optimizer.learning_rate = schedules.ExponentialDecay(0.1, 1000, 0.5)
    reduce = callbacks.ReduceLROnPlateau(factor=0.1, patience=2, min_delta=0.01)
    fit(model, [reduce], val_losses(1.0, 1.0, 0.5, 0.495, 0.5, 0.5))
    # epochs 1 and 4 are bad, 2 improves, 3 is within min_delta: reduced once, after epoch 4
    assert model.optimizer.learning_rate == pytest.approx(0.01)
    with pytest.raises(ValueError, match="factor < 1.0"):
        callbacks.ReduceLROnPlateau(factor=2.0)


def test_learning_rate_scheduler():
    model = FakeModel(learning_rate=0.1)
    sched = callbacks.LearningRateScheduler(lambda epoch, lr: lr if epoch < 2 else lr * 0.5)
    _, cb_list = fit(model, [sched], val_losses(1, 1, 1, 1))
    assert cb_list.history.history["learning_rate"] == pytest.approx([0.1, 0.1, 0.05, 0.025])
    model = FakeModel()
    fit(
        model, [callbacks.LearningRateScheduler(lambda epoch: 0.01 * (epoch + 1))], val_losses(1, 1)
    )
    assert model.optimizer.learning_rate == pytest.approx(0.02)


# -- TerminateOnNaN, LambdaCallback, CSVLogger -------------------------------------------------


def test_terminate_on_nan_stops_with_a_message(capsys):
    model = FakeModel()
    term = callbacks.TerminateOnNaN()
    losses_per_batch = [[1.0, 0.9, 0.8], [0.7, math.nan, 0.5], [0.1, 0.1, 0.1]]
    ran, _ = fit(model, [term], val_losses(1, 1, 1), batch_losses=losses_per_batch)
    assert ran == [0, 1] and model.stop_training
    assert "Epoch 2, batch 2: the loss became nan" in term.message
    assert term.message in capsys.readouterr().out
    infinite = [[1.0, math.inf, 1.0], [1.0, 1.0, 1.0]]
    ran, _ = fit(FakeModel(), [callbacks.TerminateOnNaN()], val_losses(1, 1), batch_losses=infinite)
    assert ran == [0]


def test_lambda_callback():
    seen = []
    cb = callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: seen.append(("epoch", epoch, logs["val_loss"])),
        on_train_end=lambda logs: seen.append(("end",)),
    )
    fit(FakeModel(), [cb], val_losses(0.5, 0.25))
    assert seen == [("epoch", 0, 0.5), ("epoch", 1, 0.25), ("end",)]
    with pytest.raises(ValueError, match="no hook 'on_epoch_finish'"):
        callbacks.LambdaCallback(on_epoch_finish=print)


def test_csv_logger(tmp_path):
    path = tmp_path / "logs" / "history.csv"
    fit(FakeModel(), [callbacks.CSVLogger(path)], val_losses(0.5, 0.25))
    assert path.read_text().splitlines() == ["epoch,loss,val_loss", "0,0.6,0.5", "1,0.35,0.25"]
    fit(FakeModel(), [callbacks.CSVLogger(path, append=True)], val_losses(0.125))
    assert path.read_text().splitlines()[-1] == "0,0.225,0.125"
    assert path.read_text().count("epoch") == 1


# -- progress bar ------------------------------------------------------------------------------


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_progbar_writes_one_line_per_epoch_when_not_a_terminal():
    out = io.StringIO()
    fit(FakeModel(), [callbacks.ProgbarLogger(stream=out)], val_losses(0.5, 0.25), batch_size=8)
    lines = out.getvalue().splitlines()
    assert len(lines) == 2 and "\r" not in out.getvalue()
    assert lines[0].startswith("Epoch 1/2 - ")
    assert "loss: 0.6000 - val_loss: 0.5000" in lines[0]
    assert lines[1].startswith("Epoch 2/2") and "val_loss: 0.2500" in lines[1]
    assert "samples/s" in lines[0]


def test_progbar_draws_a_live_bar_on_a_terminal():
    out = Terminal()
    bar = callbacks.ProgbarLogger(stream=out, interval=0.0)
    fit(FakeModel(), [bar], val_losses(0.5), steps=4, batch_losses=[[4.0, 3.0, 2.0, 1.0]])
    text = out.getvalue()
    assert text.startswith("Epoch 1/1\n")
    assert "\r1/4 [=======>......................] - ETA:" in text
    assert "loss: 4.0000" in text
    final = text.split("\r")[-1]
    assert final.startswith("4/4 [==============================]") and final.endswith("\n")
    assert "val_loss: 0.5000" in final and "steps/s" in final


def test_progbar_formats_values_and_durations():
    assert callbacks._format_value(1.23456) == "1.2346"
    assert callbacks._format_value(0.000012345) == "1.2345e-05"
    assert callbacks._format_duration(0.25) == "250ms"
    assert callbacks._format_duration(42) == "42s"
    assert callbacks._format_duration(125) == "2:05"
    assert callbacks._format_duration(3725) == "1:02:05"


def test_progbar_reports_a_standalone_evaluation():
    out = io.StringIO()
    cb_list = callbacks.CallbackList([callbacks.ProgbarLogger(stream=out)], params={"steps": 2})
    cb_list.on_test_begin()
    cb_list.on_test_batch_end(0, {"loss": 0.5})
    cb_list.on_test_batch_end(1, {"loss": 0.25})
    cb_list.on_test_end({"loss": 0.375, "accuracy": 0.75})
    line = out.getvalue()
    assert line.startswith("2/2 [") and "loss: 0.3750 - accuracy: 0.7500" in line
    # an epoch or evaluation without batches still reports
    cb_list.on_test_begin()
    cb_list.on_test_end({"loss": 1.0})
    assert out.getvalue().splitlines()[-1].startswith("0/2 [")
