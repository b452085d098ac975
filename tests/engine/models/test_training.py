"""compile / fit / evaluate / predict: Keras's history keys, splits, several outputs,
reproducibility, callbacks, stopping, and errors."""

import math

import numpy as np
import pytest

import engine
from engine import Input, Model, Sequential, callbacks
from engine.layers import Dense, Dropout


def _blobs(n=120, seed=0):
    """Three separable classes in 4 dimensions."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    centers = np.array([[2, 0, 0, 0], [0, 2, 0, 0], [0, 0, 2, 0]], np.float32)
    x = centers[y] + 0.3 * rng.standard_normal((n, 4)).astype(np.float32)
    return x, y


def _classifier(seed=0, dropout=0.0, lr=0.01):
    engine.set_random_seed(seed)
    layers = [Input((4,)), Dense(16, activation="relu")]
    if dropout:
        layers.append(Dropout(dropout))
    layers.append(Dense(3, activation="softmax", name="probs"))
    model = Sequential(layers)
    model.compile(
        optimizer={"name": "adam", "learning_rate": lr},
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def test_fit_learns_and_history_has_keras_keys():
    x, y = _blobs()
    model = _classifier()
    history = model.fit(x, y, epochs=5, batch_size=16, validation_split=0.25, verbose=0, seed=0)
    assert history is model.history
    assert set(history.history) == {
        "loss",
        "accuracy",
        "val_loss",
        "val_accuracy",
        "learning_rate",
    }
    assert history.epoch == [0, 1, 2, 3, 4]
    assert all(len(v) == 5 for v in history.history.values())
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert history.history["accuracy"][-1] > 0.9
    assert history.history["learning_rate"] == [pytest.approx(0.01)] * 5


def test_validation_split_holds_out_the_last_samples():
    x, y = _blobs(100)
    model = _classifier()
    history = model.fit(x, y, epochs=2, batch_size=8, validation_split=0.2, verbose=0, seed=1)
    # The last 20 samples (ceil(100 * 0.8) = 80 kept), evaluated with the final weights.
    loss, acc = model.evaluate(x[80:], y[80:], batch_size=8)
    assert history.history["val_loss"][-1] == pytest.approx(loss, rel=1e-12)
    assert history.history["val_accuracy"][-1] == pytest.approx(acc, rel=1e-12)
    # ...and training never saw them: the same run on the first 80 gives the same weights.
    other = _classifier()
    other.fit(x[:80], y[:80], epochs=2, batch_size=8, verbose=0, seed=1)
    for a, b in zip(model.get_weights(), other.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_validation_data_and_evaluate_forms():
    x, y = _blobs()
    model = _classifier()
    history = model.fit(x, y, epochs=1, verbose=0, validation_data=(x[:30], y[:30]))
    loss, acc = model.evaluate(x[:30], y[:30])
    assert history.history["val_loss"] == [pytest.approx(loss, rel=1e-12)]
    assert model.evaluate(x, y, return_dict=True).keys() == {"loss", "accuracy"}
    plain = Sequential([Input((4,)), Dense(1)])
    plain.compile("sgd", "mse")
    assert isinstance(plain.evaluate(x, y.astype(np.float32)), float)


def test_evaluate_loss_is_the_mean_over_samples():
    x, y = _blobs(50)
    model = _classifier()
    probs = model.predict(x)
    expected = -np.mean(np.log(np.clip(probs[np.arange(50), y], 1e-7, 1)))
    acc = np.mean(probs.argmax(axis=1) == y)
    loss, got_acc = model.evaluate(x, y, batch_size=7)  # uneven batches weigh by size
    assert loss == pytest.approx(expected, rel=1e-5)
    assert got_acc == pytest.approx(acc)


def test_two_outputs_log_per_output_losses_and_weight_the_total():
    x, y = _blobs()
    inp = Input((4,), name="features")
    hidden = Dense(8, activation="tanh", name="hidden")(inp)
    cls = Dense(3, activation="softmax", name="cls")(hidden)
    reg = Dense(1, name="reg")(hidden)
    model = Model(inp, [cls, reg])
    model.compile(
        "adam",
        loss={"cls": "sparse_categorical_crossentropy", "reg": "mse"},
        metrics={"cls": ["accuracy"], "reg": ["mae"]},
        loss_weights={"cls": 1.0, "reg": 0.25},
    )
    target = x[:, :1] * 2
    history = model.fit(x, [y, target], epochs=2, verbose=0, validation_split=0.2)
    assert set(history.history) == {
        "loss",
        "cls_loss",
        "reg_loss",
        "cls_accuracy",
        "reg_mae",
        "val_loss",
        "val_cls_loss",
        "val_reg_loss",
        "val_cls_accuracy",
        "val_reg_mae",
        "learning_rate",
    }
    logs = model.evaluate(x, {"cls": y, "reg": target}, return_dict=True)
    assert logs["loss"] == pytest.approx(logs["cls_loss"] + 0.25 * logs["reg_loss"], rel=1e-6)
    assert model.metrics_names == ["loss", "cls_loss", "reg_loss", "cls_accuracy", "reg_mae"]
    probs, value = model.predict(x)
    assert probs.shape == (120, 3) and value.shape == (120, 1)


def test_a_list_of_losses_and_one_loss_for_every_output():
    a = Input((2,))
    model = Model(a, [Dense(1, name="o1")(a), Dense(1, name="o2")(a)])
    model.compile("sgd", loss="mse")
    x = np.ones((4, 2), np.float32)
    logs = model.evaluate(x, [np.zeros(4), np.ones(4)], return_dict=True)
    assert logs["loss"] == pytest.approx(logs["o1_loss"] + logs["o2_loss"], rel=1e-6)
    model.compile("sgd", loss=["mse", "mae"])
    assert model._compiled_spec().losses[1].name == "mean_absolute_error"
    with pytest.raises(ValueError, match="has 3 entries"):
        model.compile("sgd", loss=["mse", "mae", "mse"])
    with pytest.raises(ValueError, match="output 'nope'"):
        model.compile("sgd", loss={"nope": "mse"})


def test_seeded_training_is_bit_for_bit_reproducible():
    x, y = _blobs()
    runs = []
    for _ in range(2):
        model = _classifier(seed=7, dropout=0.3)
        model.fit(x, y, epochs=3, batch_size=16, verbose=0, seed=11)
        runs.append(model.get_weights())
    for a, b in zip(*runs):
        np.testing.assert_array_equal(a, b)
    different = _classifier(seed=7, dropout=0.3)
    different.fit(x, y, epochs=3, batch_size=16, verbose=0, seed=12)
    assert not all(np.array_equal(a, b) for a, b in zip(runs[0], different.get_weights()))


def test_lazy_sequential_is_built_from_the_seed():
    x, y = _blobs()
    weights = []
    for _ in range(2):
        engine.set_random_seed(123)  # something else first: fit's seed must win
        model = Sequential([Dense(5, activation="relu"), Dense(3, activation="softmax")])
        model.compile("adam", "sparse_categorical_crossentropy")
        model.fit(x, y, epochs=1, verbose=0, seed=4)
        weights.append(model.get_weights())
    for a, b in zip(*weights):
        np.testing.assert_array_equal(a, b)


def test_predict_runs_in_inference_mode_without_recording():
    x, y = _blobs(40)
    model = _classifier(dropout=0.5)
    first = model.predict(x, batch_size=9)
    np.testing.assert_array_equal(first, model.predict(x, batch_size=9))  # no dropout
    # Other batch sizes are other GEMM shapes: equal up to the summation order.
    np.testing.assert_allclose(first, model.predict(x, batch_size=40), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(model.predict_on_batch(x), first, rtol=1e-6, atol=1e-7)
    out = model(x)
    assert out.requires_grad  # an eager call records (for GradientTape) ...
    with engine.no_grad():
        assert not model(x).requires_grad  # ... unless asked not to
    assert first.dtype == np.float32 and first.shape == (40, 3)


def test_train_and_test_on_batch():
    x, y = _blobs(32)
    model = _classifier(lr=0.05)
    before = model.test_on_batch(x, y)
    losses = [model.train_on_batch(x, y)[0] for _ in range(20)]
    after_loss, after_acc = model.test_on_batch(x, y)
    assert after_loss < before[0] and losses[-1] < losses[0]
    assert model.evaluate(x, y, batch_size=32) == pytest.approx([after_loss, after_acc])
    assert model.train_on_batch(x, y, return_dict=True).keys() == {"loss", "accuracy"}
    assert model.optimizer.iterations == 21


def test_stop_training_from_a_batch_callback_stops_within_the_epoch():
    x, y = _blobs(160)
    seen = []

    class StopAtThird(callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            seen.append(batch)
            if batch == 2:
                self.model.stop_training = True

    model = _classifier()
    history = model.fit(x, y, epochs=5, batch_size=16, verbose=0, callbacks=[StopAtThird()])
    assert seen == [0, 1, 2]
    assert history.epoch == [0]
    assert model.optimizer.iterations == 3


def test_early_stopping_stops():
    x, y = _blobs()
    model = _classifier()
    stopper = callbacks.EarlyStopping(monitor="loss", min_delta=10.0, patience=1)
    history = model.fit(x, y, epochs=20, verbose=0, callbacks=[stopper])
    assert len(history.epoch) == 2
    assert stopper.stopped_epoch == 1


def test_model_checkpoint_best_only_writes_a_loadable_file(tmp_path):
    x, y = _blobs()
    model = _classifier()
    path = tmp_path / "best.lcmodel"
    checkpoint = callbacks.ModelCheckpoint(path, monitor="loss", save_best_only=True)
    history = model.fit(x, y, epochs=4, verbose=0, callbacks=[checkpoint], seed=0)
    assert checkpoint.last_saved == str(path)
    loaded = engine.load_model(path)
    best = int(np.argmin(history.history["loss"]))
    assert best == 3  # the loss falls every epoch here, so the last epoch is the best
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))


def test_callbacks_see_logs_params_and_learning_rate_changes():
    x, y = _blobs()
    events = []

    class Recorder(callbacks.Callback):
        def on_train_begin(self, logs=None):
            events.append(("params", dict(self.params)))

        def on_train_batch_end(self, batch, logs=None):
            events.append(("batch", sorted(logs)))

        def on_test_end(self, logs=None):
            events.append(("test", sorted(logs)))

    model = _classifier()
    schedule = callbacks.LearningRateScheduler(lambda epoch: 0.01 / (epoch + 1))
    history = model.fit(
        x,
        y,
        epochs=2,
        batch_size=40,
        verbose=0,
        validation_split=0.25,
        callbacks=[Recorder(), schedule],
    )
    assert events[0] == (
        "params",
        {"epochs": 2, "steps": 3, "samples": 90, "batch_size": 40, "verbose": 0},
    )
    assert ("batch", ["accuracy", "loss", "size"]) in events
    assert ("test", ["accuracy", "loss"]) in events
    assert history.history["learning_rate"] == [pytest.approx(0.01), pytest.approx(0.005)]


def test_steps_per_epoch_and_initial_epoch():
    x, y = _blobs(100)
    model = _classifier()
    history = model.fit(
        x, y, epochs=4, initial_epoch=2, batch_size=10, steps_per_epoch=3, verbose=0
    )
    assert history.epoch == [2, 3]
    assert model.optimizer.iterations == 6


def test_augmentation_applies_to_training_batches_only():
    x, y = _blobs(40)
    calls = []

    def augment(batch, rng):
        calls.append(len(batch))
        return batch

    model = _classifier()
    model.fit(x, y, epochs=1, batch_size=10, verbose=0, augment=augment, validation_split=0.5)
    assert calls == [10, 10]  # 20 training samples; the 20 validation samples untouched


def test_progress_is_printed_with_verbose(capsys):
    x, y = _blobs(40)
    model = _classifier()
    model.fit(x, y, epochs=2, batch_size=20, verbose=2)
    out = capsys.readouterr().out
    assert "Epoch 1/2" in out and "Epoch 2/2" in out and "loss" in out
    model.fit(x, y, epochs=1, verbose=0)
    assert capsys.readouterr().out == ""


def test_non_finite_loss_stops_training_before_the_weights_are_spoilt(capsys):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 4)).astype(np.float32)
    y = (x @ np.array([1.0, -2.0, 3.0, 0.5], np.float32))[:, None] * 1e3
    model = Sequential([Input((4,)), Dense(1)])
    model.compile({"name": "sgd", "learning_rate": 1e12}, "mse")
    history = model.fit(x, y, epochs=10, batch_size=8, verbose=0)
    assert model.stop_reason is not None and "the loss became" in model.stop_reason
    assert "smaller learning rate" in capsys.readouterr().out
    assert len(history.epoch) == 1
    assert all(np.isfinite(w).all() for w in model.get_weights())
    assert not math.isfinite(history.history["loss"][0])


def test_user_errors_are_clear():
    x, y = _blobs(30)
    model = Sequential([Input((4,)), Dense(3, activation="softmax")])
    with pytest.raises(RuntimeError, match="compile"):
        model.fit(x, y)
    model.compile("adam", "sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match="x has 30, y has 29"):
        model.fit(x, y[:29], verbose=0)
    with pytest.raises(ValueError, match=r"labels out of range: y has class id 3"):
        model.fit(x, y + 1, verbose=0)
    with pytest.raises(
        ValueError, match=r"model expects input of shape \(None, 4\), got \(30, 5\)"
    ):
        model.fit(np.zeros((30, 5)), y, verbose=0)
    with pytest.raises(ValueError, match="needs targets"):
        model.fit(x, verbose=0)
    with pytest.raises(ValueError, match="validation_split"):
        model.fit(x, y, validation_split=1.5, verbose=0)
    with pytest.raises(ValueError, match="batch_size"):
        model.fit(x, y, batch_size=0, verbose=0)
    with pytest.raises(ValueError, match="unknown loss"):
        model.compile("adam", loss="not_a_loss")
    with pytest.raises(ValueError, match="unknown optimizer"):
        model.compile("not_an_optimizer", loss="mse")
    uncompiled = Sequential([Input((4,)), Dense(1)])
    uncompiled.compile("sgd")
    with pytest.raises(RuntimeError, match="needs a loss"):
        uncompiled.fit(x, y.astype(np.float32))


def test_training_loop_is_namespace_generic():
    """fit / evaluate / predict run on the strict array-API namespace: nothing in the loops
    assumes numpy arrays on the device."""
    xps = pytest.importorskip("array_api_strict")
    x, y = _blobs(40)
    with engine.backend.use_namespace(xps, "strict"):
        model = _classifier()
        history = model.fit(x, y, epochs=2, batch_size=8, verbose=0, validation_split=0.25)
        probs = model.predict(x)
        loss, _ = model.evaluate(x, y)
    assert isinstance(probs, np.ndarray) and probs.shape == (40, 3)
    assert math.isfinite(loss) and len(history.history["val_loss"]) == 2
