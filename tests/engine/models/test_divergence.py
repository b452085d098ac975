"""A diverging step is undone: fit stops with the weights and optimizer state exactly as
they were before that step, says which step it was, and never saves NaN weights."""

import math
import warnings

import numpy as np
import pytest

import engine
from engine import Input, Sequential, callbacks
from engine.layers import BatchNormalization, Dense
from engine.models.finite import NonFiniteWeightsWarning
from engine.models.step_guard import StepGuard


def _regression(n=64, scale=100.0):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, 4)).astype(np.float32)
    y = (x @ np.array([1.0, -2.0, 3.0, 0.5], np.float32))[:, None] * scale
    return x, y


def _mlp(optimizer, layers=None):
    engine.set_random_seed(0)
    model = Sequential(layers or [Input((4,)), Dense(8, activation="relu"), Dense(1)])
    model.compile(optimizer, "mse")
    return model


class _Snapshots(callbacks.Callback):
    """The weights and optimizer state at the start of every batch (what the guard must
    restore), and the batches that began."""

    def __init__(self):
        super().__init__()
        self.batches = []

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_begin(self, batch, logs=None):
        self.batches.append((self.epoch, batch))
        self.weights = self.model.get_weights()
        self.state = self.model.optimizer.get_state()


def _assert_same(state_a: dict, state_b: dict):
    assert state_a.keys() == state_b.keys()
    for key in state_a:
        np.testing.assert_array_equal(state_a[key], state_b[key], err_msg=key)


@pytest.mark.parametrize(
    ("optimizer", "words"),
    [
        # lr * gradient overflows float32 in the first update while the loss is small.
        ({"name": "sgd", "learning_rate": 1e38, "momentum": 0.9}, "weights of dense"),
        # The loss reaches ~1e26 and the gradients overflow before Adam's moments do.
        ({"name": "adam", "learning_rate": 1e6}, "NaN or infinite"),
    ],
)
def test_a_diverging_update_is_undone_exactly_and_named(capsys, optimizer, words):
    x, y = _regression()
    model = _mlp(optimizer)
    snap = _Snapshots()
    history = model.fit(x, y, epochs=5, batch_size=8, verbose=0, callbacks=[snap])

    epoch, batch = snap.batches[-1]
    reason = model.stop_reason
    assert reason is not None and words in reason
    assert reason.startswith(f"Epoch {epoch + 1}, batch {batch + 1} of 8:")
    assert "while the loss was" in reason
    assert "smaller learning rate" in capsys.readouterr().out
    # Exactly the model and optimizer from before the diverging step (same process, same
    # arrays: bit-for-bit equality is the right test here).
    after = model.get_weights()
    assert all(np.isfinite(w).all() for w in after)
    for before, now in zip(snap.weights, after, strict=True):
        np.testing.assert_array_equal(before, now)
    _assert_same(snap.state, model.optimizer.get_state())
    assert len(history.epoch) == epoch + 1  # it stopped in that epoch


def test_training_can_go_on_from_the_restored_model_with_a_sane_rate():
    x, y = _regression()
    model = _mlp({"name": "sgd", "learning_rate": 1e38})
    model.fit(x, y, epochs=2, batch_size=8, verbose=0)
    assert model.stop_reason is not None
    model.optimizer.learning_rate = 1e-3
    history = model.fit(x, y, epochs=2, batch_size=8, verbose=0)
    assert model.stop_reason is None
    assert all(math.isfinite(v) for v in history.history["loss"])


def test_inputs_near_1e30_are_caught_in_the_normalisation_statistics():
    """The forward pass moves BatchNormalization's moving statistics (weights no optimizer
    touches): a sample of 1e30 makes its variance infinite while the loss stays finite."""
    x, y = _regression(32, scale=1.0)
    x[20] = 1e30  # in the third batch of 8
    model = _mlp(
        {"name": "adam", "learning_rate": 1e-3},
        [Input((4,)), Dense(8), BatchNormalization(), Dense(1)],
    )
    snap = _Snapshots()
    model.fit(x, y, epochs=1, batch_size=8, verbose=0, shuffle=False, callbacks=[snap])
    assert snap.batches[-1] == (0, 2)
    assert model.stop_reason.startswith("Epoch 1, batch 3 of 4: ")
    assert "batch_normalization" in model.stop_reason or "the loss became" in model.stop_reason
    for before, now in zip(snap.weights, model.get_weights(), strict=True):
        np.testing.assert_array_equal(before, now)


def test_train_on_batch_leaves_the_model_as_it_was():
    x, y = _regression(8)
    model = _mlp({"name": "sgd", "learning_rate": 1e38})
    model.build((None, 4))
    before = model.get_weights()
    model.train_on_batch(x, y)
    assert "NaN or infinite" in model.stop_reason and "left as they were" in model.stop_reason
    for a, b in zip(before, model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert model.optimizer.iterations == 0


def test_the_fused_check_finds_one_bad_value_and_tolerates_huge_finite_ones():
    model = _mlp("adam")
    model.build((None, 4))
    guard = StepGuard(model.optimizer)
    guard.begin(model.weights, model.trainable_weights)
    assert guard.finite() and guard.nonfinite() == []
    kernel = model.layers[0].kernel
    kernel.data[2, 3] = 3e38  # finite, but its square overflows float32
    assert guard.finite()
    for bad in (np.nan, np.inf, -np.inf):
        kernel.data[2, 3] = bad
        assert not guard.finite()
        (found,) = guard.nonfinite()
        assert (found.name, found.count, found.size, found.weights) == (kernel.name, 1, 32, True)


def test_copies_are_made_only_when_an_update_could_overflow():
    model = _mlp({"name": "adam", "learning_rate": 1e-3})
    model.build((None, 4))
    guard = StepGuard(model.optimizer)
    gradients = [np.ones(w.shape, np.float32) for w in model.trainable_weights]
    guard.begin(model.weights, model.trainable_weights)
    assert guard.gradients_finite(gradients)
    guard.protect()
    assert not guard._copied  # normal training: two fused checks, no copy
    gradients[0][0, 0] = 1e20  # a huge but finite gradient
    guard.begin(model.weights, model.trainable_weights)
    assert guard.gradients_finite(gradients)
    guard.protect()
    assert guard._copied
    gradients[0][0, 0] = np.inf
    assert not guard.gradients_finite(gradients)


def test_checkpoints_refuse_nan_weights_and_keep_the_earlier_file(tmp_path):
    x, y = _regression(16)
    model = _mlp("sgd")
    path = tmp_path / "ckpt.lcmodel"
    checkpoint = callbacks.ModelCheckpoint(path)
    model.fit(x, y, epochs=1, batch_size=8, verbose=0, callbacks=[checkpoint])
    good = path.read_bytes()
    model.layers[1].bias.data[0] = np.nan
    checkpoint.set_model(model)
    with pytest.warns(NonFiniteWeightsWarning, match=r"did not save .*dense_\d+ \(1 value\)"):
        checkpoint.on_epoch_end(1, {"loss": 1.0})
    assert path.read_bytes() == good  # the earlier, finite checkpoint is untouched
    assert "earlier file there was kept" in checkpoint.last_refused


def test_a_diverging_run_checkpoints_only_finite_weights(tmp_path):
    x, y = _regression()
    model = _mlp({"name": "adam", "learning_rate": 1e6})
    path = tmp_path / "every-batch.lcmodel"
    checkpoint = callbacks.ModelCheckpoint(path, save_freq=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no refusal: the restored weights are finite
        model.fit(x, y, epochs=3, batch_size=8, verbose=0, callbacks=[checkpoint])
    assert model.stop_reason is not None
    saved = engine.load_model(path).get_weights()
    assert all(np.isfinite(w).all() for w in saved)
    for a, b in zip(saved, model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
