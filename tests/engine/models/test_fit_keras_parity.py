"""fit's Keras arguments against Keras 3 (torch backend) itself: the same tiny model (Dense
on fixed weights, plain SGD, no shuffling, a fixed batch size) trained a few steps in both,
compared within 1e-5: class_weight, sample_weight (and validation sample weights),
weighted_metrics, L2 and activity regularization, steps_per_epoch, initial_epoch,
validation_freq and use_ema's end-of-training averages."""

from __future__ import annotations

import os
import warnings

import numpy as np
import pytest

import engine
from engine import Input, Sequential, callbacks, optimizers, regularizers
from engine.layers import Dense

os.environ.setdefault("KERAS_BACKEND", "torch")
with warnings.catch_warnings():  # Keras's and PyTorch's import-time warnings are not ours
    warnings.simplefilter("ignore")
    keras = pytest.importorskip("keras")

# Keras's Variable.numpy() goes through np.array(variable), which NumPy 2 warns about.
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")

TOL = 1e-5
RNG = np.random.default_rng(12)
X = RNG.standard_normal((40, 4)).astype(np.float32)
Y = RNG.integers(0, 3, 40)
KERNEL = (0.5 * RNG.standard_normal((4, 3))).astype(np.float32)
BIAS = np.array([0.1, -0.2, 0.05], np.float32)


def _pair(loss="sparse_categorical_crossentropy", lr=0.1, layer_args=None, **compile_args):
    """The same model in the engine and in Keras, on the same weights."""
    layer_args = layer_args or {}
    ours = Sequential([Input((4,)), Dense(3, activation="softmax", **layer_args.get("ours", {}))])
    ours.set_weights([KERNEL, BIAS])
    ours.compile(optimizers.SGD(learning_rate=lr), loss, **compile_args)
    theirs = keras.Sequential(
        [
            keras.Input((4,)),
            keras.layers.Dense(3, activation="softmax", **layer_args.get("keras", {})),
        ]
    )
    theirs.set_weights([KERNEL, BIAS])
    theirs.compile(keras.optimizers.SGD(learning_rate=lr), loss, **compile_args)
    return ours, theirs


def _fit_both(ours, theirs, *args, **kwargs):
    kwargs = {"batch_size": 8, "shuffle": False, "verbose": 0, **kwargs}
    mine = ours.fit(*args, **kwargs)
    with warnings.catch_warnings():  # e.g. Keras's "Your input ran out of data"
        warnings.simplefilter("ignore")
        reference = theirs.fit(*args, **kwargs)
    return mine, reference


def _same_history(mine, reference, keys=None):
    keys = keys or reference.history.keys()
    assert mine.epoch == reference.epoch
    for key in keys:
        np.testing.assert_allclose(
            mine.history[key], reference.history[key], rtol=TOL, atol=TOL, err_msg=key
        )


def _same_weights(ours, theirs):
    for a, b in zip(ours.get_weights(), theirs.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=TOL, atol=TOL)


def test_class_weight_on_sparse_labels():
    ours, theirs = _pair(metrics=["accuracy"], weighted_metrics=["accuracy"])
    weights = {0: 1.0, 1: 3.0, 2: 0.5}
    mine, reference = _fit_both(ours, theirs, X, Y, epochs=2, class_weight=weights)
    assert {"loss", "accuracy", "weighted_accuracy"} <= set(mine.history)
    _same_history(mine, reference)
    _same_weights(ours, theirs)


def test_class_weight_on_one_hot_targets_and_an_unnamed_class_weighs_one():
    one_hot = np.eye(3, dtype=np.float32)[Y]
    ours, theirs = _pair(loss="categorical_crossentropy")
    mine, reference = _fit_both(ours, theirs, X, one_hot, epochs=2, class_weight={1: 4.0})
    _same_history(mine, reference)
    _same_weights(ours, theirs)


def test_sample_weight_and_validation_sample_weight():
    sw = RNG.uniform(0.0, 2.0, 32).astype(np.float32)
    val_sw = RNG.uniform(0.0, 2.0, 8).astype(np.float32)
    ours, theirs = _pair(metrics=["accuracy"], weighted_metrics=["accuracy"])
    validation = (X[32:], Y[32:], val_sw)
    mine, reference = _fit_both(
        ours, theirs, X[:32], Y[:32], epochs=2, sample_weight=sw, validation_data=validation
    )
    assert "val_weighted_accuracy" in mine.history
    _same_history(mine, reference)
    _same_weights(ours, theirs)
    got = ours.evaluate(X, Y, sample_weight=np.arange(40.0) / 40, return_dict=True)
    want = theirs.evaluate(X, Y, sample_weight=np.arange(40.0) / 40, return_dict=True, verbose=0)
    for key, value in want.items():
        assert got[key] == pytest.approx(value, rel=TOL, abs=TOL), key


def test_sample_weight_follows_validation_split():
    sw = np.linspace(0.2, 2.0, 40).astype(np.float32)
    ours, theirs = _pair()
    mine, reference = _fit_both(
        ours, theirs, X, Y, epochs=2, sample_weight=sw, validation_split=0.25
    )
    _same_history(mine, reference)
    _same_weights(ours, theirs)


def test_l2_kernel_regularizer_is_minimised_and_logged_apart():
    ours, theirs = _pair(
        layer_args={
            "ours": {"kernel_regularizer": regularizers.L2(0.05)},
            "keras": {"kernel_regularizer": keras.regularizers.L2(0.05)},
        }
    )
    mine, reference = _fit_both(ours, theirs, X, Y, epochs=2, validation_data=(X[:8], Y[:8]))
    _same_history(mine, reference)  # Keras's "loss" and "val_loss" include the penalty
    _same_weights(ours, theirs)
    assert "regularization_loss" in mine.history and "val_regularization_loss" in mine.history
    # The term alone, at the final weights, is what evaluate logs apart.
    logs = ours.evaluate(X, Y, return_dict=True)
    penalty = 0.05 * float(np.sum(ours.get_weights()[0].astype(np.float64) ** 2))
    assert logs["regularization_loss"] == pytest.approx(penalty, rel=TOL)
    assert logs["loss"] == pytest.approx(theirs.evaluate(X, Y, verbose=0), rel=TOL)


def test_activity_regularizer_is_minimised():
    ours, theirs = _pair(
        layer_args={
            "ours": {"activity_regularizer": regularizers.L1(0.1)},
            "keras": {"activity_regularizer": keras.regularizers.L1(0.1)},
        }
    )
    mine, reference = _fit_both(ours, theirs, X, Y, epochs=2)
    _same_history(mine, reference)
    _same_weights(ours, theirs)
    # The penalty of a softmax output is l1 * mean(sum |p|) = 0.1 exactly.
    assert mine.history["regularization_loss"] == pytest.approx([0.1, 0.1], rel=TOL)


def test_no_regularizers_no_regularization_key():
    ours, _ = _pair()
    history = ours.fit(X, Y, epochs=1, verbose=0)
    assert "regularization_loss" not in history.history


def test_steps_per_epoch_continues_through_the_data_as_keras():
    # 5 batches a pass, 3 a epoch: Keras runs 3, then the 2 left of the pass, then 3 ...
    ours, theirs = _pair()
    mine, reference = _fit_both(ours, theirs, X, Y, epochs=3, steps_per_epoch=3)
    _same_history(mine, reference)
    _same_weights(ours, theirs)
    assert int(ours.optimizer.iterations) == 8


def test_initial_epoch_numbers_epochs_and_continues_a_schedule():
    schedule = {"name": "exponential_decay", "initial_learning_rate": 0.2, "decay_steps": 2,
                "decay_rate": 0.5}  # fmt: skip
    ours, theirs = _pair()
    ours.compile(
        optimizers.SGD(learning_rate=engine.schedules.get(schedule)),
        "sparse_categorical_crossentropy",
    )
    theirs.compile(
        keras.optimizers.SGD(
            learning_rate=keras.optimizers.schedules.ExponentialDecay(0.2, 2, 0.5)
        ),
        "sparse_categorical_crossentropy",
    )
    mine, reference = _fit_both(ours, theirs, X, Y, epochs=3, initial_epoch=1, steps_per_epoch=3)
    assert mine.epoch == [1, 2]
    _same_history(mine, reference, keys=["loss"])
    _same_weights(ours, theirs)


def test_validation_freq_validates_every_second_epoch():
    seen = []
    recorder = callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: seen.append(logs))
    ours, theirs = _pair()
    mine, reference = _fit_both(
        ours, theirs, X[:32], Y[:32], epochs=4, validation_data=(X[32:], Y[32:]),
        validation_freq=2, callbacks=None,
    )  # fmt: skip
    _same_history(mine, reference)
    assert len(mine.history["loss"]) == 4 and len(mine.history["val_loss"]) == 2
    fresh, _ = _pair()
    validation = (X[32:], Y[32:])
    fresh.fit(X[:32], Y[:32], epochs=4, verbose=0, validation_data=validation,
              validation_freq=2, callbacks=[recorder])  # fmt: skip
    assert ["val_loss" in logs for logs in seen] == [False, True, False, True]
    seen.clear()
    fresh.fit(X[:32], Y[:32], epochs=3, verbose=0, validation_data=(X[32:], Y[32:]),
              validation_freq=[1, 3], callbacks=[recorder])  # fmt: skip
    assert ["val_loss" in logs for logs in seen] == [True, False, True]


def test_use_ema_puts_the_averages_into_the_weights_at_the_end():
    ours, theirs = _pair()
    ours.compile(
        optimizers.SGD(learning_rate=0.1, use_ema=True, ema_momentum=0.9),
        "sparse_categorical_crossentropy",
    )
    theirs.compile(
        keras.optimizers.SGD(learning_rate=0.1, use_ema=True, ema_momentum=0.9),
        "sparse_categorical_crossentropy",
    )
    mine, reference = _fit_both(ours, theirs, X, Y, epochs=2)
    _same_history(mine, reference)
    _same_weights(ours, theirs)
