"""fit's Keras options beyond the numbers (those are in test_fit_keras_parity.py): clear
errors for bad values, resuming with steps_per_epoch, the step guard with a regularizer,
what evaluate returns, weighted_metrics in saved models, and the project "training" keys."""

from __future__ import annotations

import copy

import numpy as np
import pytest

import engine
from engine import Input, Model, Sequential, regularizers
from engine.graph.project import Project, ProjectError
from engine.graph.session import ProjectInvalid, prepare_training
from engine.layers import Dense

RNG = np.random.default_rng(3)
X = RNG.standard_normal((40, 4)).astype(np.float32)
Y = RNG.integers(0, 3, 40)


def _model(seed=0, **dense_args):
    engine.set_random_seed(seed)
    model = Sequential([Input((4,)), Dense(3, activation="softmax", **dense_args)])
    model.compile({"name": "sgd", "learning_rate": 0.1}, "sparse_categorical_crossentropy")
    return model


def test_bad_fit_options_name_the_argument():
    model = _model()
    cases = [
        ({"class_weight": {0: 1.0, 3: 2.0}}, r"class_weight names class 3.*3 classes"),
        ({"class_weight": {"0": 1.0}}, "class_weight keys must be integer class ids"),
        ({"class_weight": {0: -1.0}}, r"class_weight\[0\] must not be negative"),
        ({"class_weight": [1.0, 2.0]}, "class_weight must be a dict"),
        (
            {"class_weight": {0: 1.0}, "sample_weight": np.ones(40)},
            "class_weight or sample_weight",
        ),
        ({"sample_weight": np.ones(39)}, r"sample_weight must hold one weight per sample \(40\)"),
        ({"sample_weight": np.full(40, np.nan)}, "sample_weight contains NaN"),
        ({"validation_freq": 0}, "validation_freq must be a positive integer"),
        ({"validation_freq": "2"}, "validation_freq must be a positive integer"),
        ({"steps_per_epoch": 0}, "steps_per_epoch must be a positive integer or None, got 0"),
        ({"initial_epoch": -1}, "initial_epoch must be a non-negative integer, got -1"),
        ({"validation_data": (X, Y, None, None)}, "validation_data must be a tuple"),
    ]
    for kwargs, message in cases:
        with pytest.raises(ValueError, match=message):
            model.fit(X, Y, epochs=1, verbose=0, **kwargs)
    assert model.optimizer.iterations == 0  # nothing ran


def test_class_weight_needs_one_output():
    inputs = Input((4,))
    model = Model(
        inputs, [Dense(3, activation="softmax", name="a")(inputs), Dense(1, name="b")(inputs)]
    )
    model.compile("sgd", ["sparse_categorical_crossentropy", "mse"])
    with pytest.raises(
        ValueError, match="class_weight is only supported for models with one output"
    ):
        model.fit(X, [Y, X[:, :1]], class_weight={0: 2.0}, verbose=0)
    # ... but one sample_weight array weighs every output, as in Keras.
    model.fit(X, [Y, X[:, :1]], sample_weight=np.ones(40), verbose=0)


def test_class_weight_of_a_binary_output_uses_classes_0_and_1():
    model = Sequential([Input((4,)), Dense(1, activation="sigmoid")])
    model.compile("sgd", "binary_crossentropy")
    labels = (X[:, 0] > 0).astype(np.float32)
    model.fit(X, labels, class_weight={0: 1.0, 1: 2.0}, epochs=1, verbose=0)
    with pytest.raises(ValueError, match="2 classes"):
        model.fit(X, labels, class_weight={2: 1.0}, verbose=0)


def test_zero_class_weights_mean_no_gradient_from_those_samples():
    weighted = _model()
    weighted.fit(X, Y, class_weight={0: 0.0, 1: 0.0, 2: 1.0}, batch_size=40, shuffle=False,
                 verbose=0)  # fmt: skip
    subset = _model()
    keep = Y == 2
    # The same step from only class 2's samples, scaled by their share of the batch.
    subset.fit(X[keep], Y[keep], sample_weight=np.full(keep.sum(), keep.mean()), batch_size=40,
               shuffle=False, verbose=0)  # fmt: skip
    for a, b in zip(weighted.get_weights(), subset.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_resuming_at_a_pass_boundary_with_steps_per_epoch_is_exact(tmp_path):
    # 40 samples / batch 4 = 10 batches a pass, 5 an epoch: epoch 2 begins a pass.
    args = {"batch_size": 4, "steps_per_epoch": 5, "seed": 9, "verbose": 0}
    straight = _model(seed=1)
    straight.fit(X, Y, epochs=4, **args)
    half = _model(seed=1)
    half.fit(X, Y, epochs=2, **args)
    half.save(tmp_path / "half.lcmodel")
    resumed = engine.load_model(tmp_path / "half.lcmodel")
    history = resumed.fit(X, Y, epochs=4, initial_epoch=2, **args)
    assert history.epoch == [2, 3]
    for a, b in zip(resumed.get_weights(), straight.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_steps_per_epoch_beyond_the_data_runs_one_pass_per_epoch():
    model = _model()
    model.fit(X, Y, epochs=2, batch_size=8, steps_per_epoch=100, verbose=0)
    assert int(model.optimizer.iterations) == 10


def test_the_step_guard_still_undoes_a_diverging_step_with_a_regularizer(capsys):
    model = Sequential([Input((4,)), Dense(3, kernel_regularizer=regularizers.L2(1.0))])
    model.compile({"name": "sgd", "learning_rate": 1e20}, "mse")
    history = model.fit(X, np.ones((40, 3), np.float32) * 1e3, epochs=3, batch_size=8, verbose=0)
    assert model.stop_reason is not None
    assert "smaller learning rate" in capsys.readouterr().out
    assert len(history.epoch) == 1
    assert all(np.isfinite(w).all() for w in model.get_weights())


def test_evaluate_list_follows_keras_names_and_the_dict_has_the_penalty():
    model = _model(kernel_regularizer=regularizers.L2(0.1))
    model.compile("sgd", "sparse_categorical_crossentropy", metrics=["accuracy"])
    loss, accuracy = model.evaluate(X, Y)
    logs = model.evaluate(X, Y, return_dict=True)
    assert list(logs) == ["loss", "regularization_loss", "accuracy"]
    assert logs["loss"] == pytest.approx(loss) and logs["accuracy"] == pytest.approx(accuracy)
    kernel = model.get_weights()[0].astype(np.float64)
    assert logs["regularization_loss"] == pytest.approx(0.1 * np.sum(kernel**2), rel=1e-5)
    logs = model.train_on_batch(X, Y, class_weight={1: 2.0}, return_dict=True)
    assert "regularization_loss" in logs


def test_weighted_metrics_survive_save_and_load(tmp_path):
    model = _model()
    model.compile("sgd", "sparse_categorical_crossentropy", metrics=["accuracy"],
                  weighted_metrics=["accuracy"])  # fmt: skip
    weights = np.linspace(0, 1, 40)
    before = model.evaluate(X, Y, sample_weight=weights, return_dict=True)
    assert set(before) == {"loss", "accuracy", "weighted_accuracy"}
    assert before["weighted_accuracy"] != pytest.approx(before["accuracy"])
    model.save(tmp_path / "m.lcmodel")
    after = engine.load_model(tmp_path / "m.lcmodel").evaluate(
        X, Y, sample_weight=weights, return_dict=True
    )
    assert after == pytest.approx(before)


# -- the project "training" keys -----------------------------------------------------------


def _project(**training):
    return {
        "format": "layercanvas-project",
        "version": 1,
        "name": "t",
        "graph": {
            "nodes": [
                {"id": "input", "type": "Input", "params": {"shape": [2]}, "position": [0, 0]},
                {
                    "id": "out",
                    "type": "Dense",
                    "params": {"units": 2, "activation": "softmax"},
                    "position": [0, 0],
                },  # fmt: skip
            ],
            "edges": [{"source": "input", "target": "out", "target_port": 0}],
        },
        "dataset": {"name": "moons", "n_samples": 100, "seed": 0, "validation_split": 0.2},
        "training": {
            "loss": "sparse_categorical_crossentropy",
            "epochs": 4,
            "batch_size": 16,
            **training,
        },  # fmt: skip
    }


def test_project_fit_options_reach_fit():
    data = _project(class_weight={"0": 1.0, "1": 3.0}, validation_freq=2, initial_epoch=1,
                    steps_per_epoch=2)  # fmt: skip
    setup = prepare_training(Project.from_json(copy.deepcopy(data)))
    args = setup.fit_arguments()
    assert args["class_weight"] == {0: 1.0, 1: 3.0}
    assert (args["validation_freq"], args["initial_epoch"], args["steps_per_epoch"]) == (2, 1, 2)
    assert setup.steps_per_epoch == 2
    history = setup.model.fit(**args)
    assert history.epoch == [1, 2, 3]
    assert len(history.history["val_loss"]) == 2  # after the 2nd and the 4th epoch
    # 80 samples / 16 = 5 batches a pass, taken 2, 2 and the last 1 (Keras's EpochIterator)
    assert int(setup.model.optimizer.iterations) == 5


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("class_weight", {"a": 1.0}, "class ids must be non-negative integers"),
        ("class_weight", {"0": -2}, "must be a number >= 0"),
        ("class_weight", [1, 2], "expected an object mapping class ids"),
        ("validation_freq", 0, "expected a positive integer"),
        ("initial_epoch", -1, "expected a non-negative integer"),
        ("initial_epoch", 4, "must be below epochs"),
        ("steps_per_epoch", 1.5, "expected a positive integer or null"),
    ],
)
def test_bad_project_fit_options_name_the_key(key, value, message):
    with pytest.raises(ProjectError, match=message) as info:
        Project.from_json(_project(**{key: value}))
    assert f"training.{key}" in str(info.value)


def test_a_class_id_beyond_the_output_is_a_project_error_naming_the_key():
    project = Project.from_json(_project(class_weight={"5": 2.0}))
    with pytest.raises(ProjectInvalid, match="training.class_weight: .*2 classes"):
        prepare_training(project)
    with pytest.raises(ProjectInvalid, match="training.initial_epoch"):
        prepare_training(Project.from_json(_project(initial_epoch=2)), epochs=2)


def test_weights_and_penalties_run_on_the_strict_array_namespace():
    """Sample weights, weighted metrics and regularization terms assume nothing of numpy on
    the device: the loops run under array_api_strict."""
    xps = pytest.importorskip("array_api_strict")
    with engine.backend.use_namespace(xps, "strict"):
        model = _model(
            kernel_regularizer=regularizers.L2(0.01), activity_regularizer=regularizers.L1(0.01)
        )
        model.compile("sgd", "sparse_categorical_crossentropy", weighted_metrics=["accuracy"])
        history = model.fit(X, Y, epochs=2, batch_size=8, class_weight={0: 2.0}, verbose=0,
                            validation_data=(X, Y, np.ones(40)), validation_freq=2)  # fmt: skip
        logs = model.evaluate(X, Y, sample_weight=np.ones(40), return_dict=True)
    assert np.isfinite(history.history["regularization_loss"]).all()
    assert len(history.history["val_loss"]) == 1
    assert set(logs) == {"loss", "regularization_loss", "accuracy"}


def test_loss_scale_factor_scales_the_loss_for_the_gradients_and_back():
    """Keras's train step takes gradients of optimizer.scale_loss(loss); apply_gradients
    divides them back, so a power-of-two factor leaves the run exactly as it was."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 4)).astype("float32")
    y = (x.sum(axis=1) > 0).astype("int64")
    weights = []
    for factor in (None, 1024.0):
        engine.set_random_seed(0)
        model = engine.Sequential(
            [
                engine.Input((4,)),
                engine.layers.Dense(8, activation="relu"),
                engine.layers.Dense(2, activation="softmax"),
            ]
        )
        optimizer = engine.optimizers.SGD(learning_rate=0.1, loss_scale_factor=factor)
        model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy")
        model.fit(x, y, epochs=2, batch_size=16, verbose=0, shuffle=False)
        weights.append(model.get_weights())
    for a, b in zip(*weights, strict=True):
        np.testing.assert_array_equal(a, b)
