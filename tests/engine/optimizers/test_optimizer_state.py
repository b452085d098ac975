"""Optimizer state and configuration: every optimizer (with the moving average and gradient
accumulation on) resumes bit for bit from ``get_state``, through a ``.lcmodel`` too; the
array-API-strict namespace gives numpy's numbers; project-file identifiers; bad arguments."""

import array_api_strict
import numpy as np
import pytest

import engine
from engine import Input, Sequential, backend, optimizers
from engine.autodiff.tensor import Variable
from engine.layers import Dense

NAMES = list(optimizers.available())
SHAPES = [(4, 3), (3,), (2, 3, 5)]


def problem(steps, dtype=np.float32):
    rng = np.random.default_rng(1)
    weights = [rng.normal(size=s).astype(dtype) for s in SHAPES]
    grads = [[rng.normal(size=s).astype(dtype) for s in SHAPES] for _ in range(steps)]
    return weights, grads


def make(name, **extra):
    return optimizers.get({"name": name, "learning_rate": 0.05, **extra})


@pytest.mark.parametrize("extra", [{}, {"use_ema": True, "gradient_accumulation_steps": 3}])
@pytest.mark.parametrize("name", NAMES)
def test_set_state_resumes_bit_for_bit(name, extra):
    extra = {**extra, "ema_overwrite_frequency": 3} if extra else extra
    weights, grads = problem(8)
    straight_vars = [Variable(w.copy()) for w in weights]
    straight = make(name, **extra)
    for step in grads:
        straight.apply_gradients(zip(step, straight_vars))

    first = make(name, **extra)
    variables = [Variable(w.copy()) for w in weights]
    for step in grads[:4]:  # in the middle of an accumulation
        first.apply_gradients(zip(step, variables))
    state = first.get_state()
    assert all(isinstance(a, np.ndarray) for a in state.values())
    assert int(state["iterations"]) == 4
    if extra:
        assert first.iterations == 1
        assert {"average/0", "gradient_accumulator/2"} <= set(state)
        assert np.any(state["gradient_accumulator/0"] != 0)

    resumed = make(name, **extra)
    fresh = [Variable(v.numpy().copy()) for v in variables]
    resumed.set_state(state, fresh)
    assert resumed.iterations == first.iterations
    for step in grads[4:]:
        resumed.apply_gradients(zip(step, fresh))
    for got, expected in zip(fresh, straight_vars):
        np.testing.assert_array_equal(got.numpy(), expected.numpy())
    np.testing.assert_equal(resumed.get_state(), straight.get_state())


def test_adafactor_keeps_factored_moments_and_checks_their_shapes():
    opt = optimizers.Adafactor()
    weights, grads = problem(1)
    variables = [Variable(w) for w in weights]
    opt.apply_gradients(zip(grads[0], variables))
    state = opt.get_state()
    assert state["r/0"].shape == (4,) and state["c/0"].shape == (3,)
    assert state["r/1"].shape == () and state["velocity/1"].shape == (3,)
    assert state["r/2"].shape == (2, 3) and state["c/2"].shape == (2, 5)
    state["c/0"] = np.zeros(4, np.float32)
    with pytest.raises(ValueError, match=r"'c/0' has shape \(4,\).*needs \(3,\)"):
        optimizers.Adafactor().set_state(state, variables)


def _model(optimizer):
    engine.set_random_seed(0)
    model = Sequential([Input((4,)), Dense(8, activation="tanh"), Dense(3, activation="softmax")])
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy")
    return model


@pytest.mark.parametrize("name", NAMES)
def test_state_survives_a_model_file(tmp_path, name):
    x, y = engine.datasets.load_iris()
    x = (x - x.mean(axis=0)) / x.std(axis=0)
    config = {
        "name": name,
        "learning_rate": 0.01,
        "use_ema": True,
        "ema_overwrite_frequency": 5,
        "gradient_accumulation_steps": 3,
        "clipnorm": 1.0,
    }
    model = _model(config)
    for i in range(7):  # train_on_batch: fit would put the averages in at its end
        model.train_on_batch(x[16 * i : 16 * i + 16], y[16 * i : 16 * i + 16])
    state = model.optimizer.get_state()
    assert not np.array_equal(state["average/0"], model.trainable_weights[0].numpy())
    model.save(tmp_path / "m.lcmodel")
    loaded = engine.load_model(tmp_path / "m.lcmodel")
    assert type(loaded.optimizer) is type(model.optimizer)
    assert loaded.optimizer.get_config() == model.optimizer.get_config()
    np.testing.assert_equal(loaded.optimizer.get_state(), state)
    assert loaded.optimizer.iterations == 2 and int(state["iterations"]) == 7
    for m in (model, loaded):
        for i in range(7, 12):
            m.train_on_batch(x[8 * i : 8 * i + 16], y[8 * i : 8 * i + 16])
        m.optimizer.finalize_variable_values(m.trainable_weights)
    for a, b in zip(loaded.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name", NAMES)
def test_a_strict_array_namespace_gives_numpys_numbers(name):
    weights, grads = problem(5, np.float64)
    extra = {"use_ema": True, "gradient_accumulation_steps": 2, "weight_decay": 0.01}

    def run():
        opt = make(name, **extra)
        variables = [Variable(backend.asarray(w.copy())) for w in weights]
        for step in grads:
            opt.apply_gradients(zip([backend.asarray(g) for g in step], variables))
        opt.finalize_variable_values(variables)
        return [backend.to_numpy(v.data) for v in variables]

    expected = run()
    with backend.use_namespace(array_api_strict, "strict"):
        got = run()
    for g, e in zip(got, expected, strict=True):
        np.testing.assert_allclose(g, e, rtol=1e-12, atol=1e-14)


def test_identifiers_as_project_files_hold_them():
    assert isinstance(optimizers.get("nadam"), optimizers.Nadam)
    lion = optimizers.get({"name": "lion", "learning_rate": 1e-4})
    assert isinstance(lion, optimizers.Lion) and lion.learning_rate == 1e-4
    keras_form = optimizers.get({"class_name": "Ftrl", "config": {"beta": 0.5}})
    assert isinstance(keras_form, optimizers.Ftrl) and keras_form.beta == 0.5
    available = optimizers.available()
    assert len(available) >= 11 and all(name == name.lower() for name in available)
    for name, cls in available.items():
        assert cls.type_name == name and cls.__name__ in optimizers.__all__
        assert getattr(optimizers, cls.__name__) is cls
        opt = cls(learning_rate=0.02, use_ema=True, gradient_accumulation_steps=4, clipvalue=1.0)
        config = opt.get_config()
        assert config["gradient_accumulation_steps"] == 4 and config["use_ema"] is True
        for again in (optimizers.get(config), cls.from_config(config)):
            assert type(again) is cls and again.get_config() == config


@pytest.mark.parametrize(
    ("identifier", "message"),
    [
        ({"name": "adagrad", "learning_rate": -0.1}, r"learning_rate must be .*>= 0, got -0.1"),
        ({"name": "nadam", "learning_rate": "fast"}, r"learning_rate must be a number"),
        ({"name": "sgd", "momentum": 1.5}, r"momentum must be in \[0, 1\], got 1.5"),
        ({"name": "rmsprop", "momentum": -0.1}, r"momentum must be in \[0, 1\]"),
        ({"name": "adamax", "beta_1": 1.0}, r"beta_1 must be in \[0, 1\), got 1.0"),
        ({"name": "lion", "beta_1": 0.0}, r"beta_1 must be in \(0, 1\]"),
        ({"name": "adadelta", "rho": 2}, r"rho must be in \[0, 1\]"),
        ({"name": "adagrad", "initial_accumulator_value": -1}, "initial_accumulator_value"),
        ({"name": "ftrl", "learning_rate_power": 0.5}, r"learning_rate_power must be <= 0"),
        ({"name": "ftrl", "l1_regularization_strength": -1}, "l1_regularization_strength"),
        ({"name": "adafactor", "clip_threshold": 0}, r"clip_threshold must be > 0"),
        ({"name": "adam", "ema_momentum": 1.2, "use_ema": True}, r"ema_momentum must be in"),
        ({"name": "sgd", "ema_overwrite_frequency": 0.5}, "ema_overwrite_frequency must be an"),
        ({"name": "sgd", "gradient_accumulation_steps": 1}, "gradient_accumulation_steps must"),
        ({"name": "adam", "weight_decay": -0.1}, r"weight_decay must be >= 0"),
        ({"name": "adam", "clipnorm": "big"}, r"clipnorm must be a number"),
        ({"name": "adam", "use_ema": "yes"}, r"use_ema must be True or False"),
        ({"name": "lion", "momentum": 0.9}, r"bad options for optimizer Lion.*momentum"),
        ({"name": "sophia"}, r"unknown optimizer 'sophia'; choose one of sgd, adam"),
        ("adabelief", r"unknown optimizer 'adabelief'"),
    ],
    ids=str,
)
def test_bad_arguments_are_clear_value_errors(identifier, message):
    with pytest.raises(ValueError, match=message):
        optimizers.get(identifier)


def test_minimize_scales_the_loss_and_unscales_the_gradients_as_keras():
    # Keras's train step multiplies the loss by loss_scale_factor (scale_loss) and the
    # optimizer divides the gradients back: the same steps as without the factor.
    from engine.autodiff import ops

    target = np.array([3.0, -1.0, 0.25])
    results = []
    for factor in (None, 1024.0):
        w = Variable(np.zeros(3))
        opt = optimizers.SGD(learning_rate=0.1, loss_scale_factor=factor)
        for _ in range(5):
            opt.minimize(lambda w=w: ops.sum_(ops.square(w - target)), [w])
        results.append(w.numpy())
    np.testing.assert_allclose(results[1], results[0], rtol=1e-12)
    assert optimizers.SGD(loss_scale_factor=8.0).scale_loss(2.0) == 16.0


@pytest.mark.parametrize(
    "optimizer",
    [
        {"name": "sgd", "learning_rate": 1e38, "momentum": 0.9, "gradient_accumulation_steps": 2},
        {"name": "adagrad", "learning_rate": 1e38, "gradient_accumulation_steps": 3},
        {"name": "adamax", "learning_rate": 1e38, "gradient_accumulation_steps": 2},
    ],
    ids=lambda o: o["name"],
)
def test_a_diverging_update_after_accumulating_is_undone_with_the_raw_counter(optimizer):
    # fit's step guard puts back the raw counter of calls (not iterations, which counts
    # updates) and the accumulators: the optimizer is exactly as before the bad step.
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 4)).astype(np.float32)
    y = (x @ np.array([1.0, -2.0, 3.0, 0.5], np.float32))[:, None] * 100.0
    engine.set_random_seed(0)
    model = Sequential([Input((4,)), Dense(8, activation="relu"), Dense(1)])
    model.compile(optimizer, "mse")
    before = {}

    class Snapshot(engine.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            before["weights"] = self.model.get_weights()
            before["state"] = self.model.optimizer.get_state()

    model.fit(x, y, epochs=2, batch_size=8, verbose=0, callbacks=[Snapshot()])
    assert model.stop_reason is not None
    state = model.optimizer.get_state()
    assert int(state["iterations"]) == int(before["state"]["iterations"]) > 0
    assert any(np.any(v != 0) for k, v in state.items() if k.startswith("gradient_acc"))
    np.testing.assert_equal(state, before["state"])
    for a, b in zip(model.get_weights(), before["weights"], strict=True):
        np.testing.assert_array_equal(a, b)
