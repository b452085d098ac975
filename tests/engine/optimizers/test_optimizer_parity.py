"""Every optimizer, and every common option on every optimizer, against Keras 3's own
optimizers (torch backend): the same float32 weights and gradients for several steps, the
weights equal within 1e-5 relative (1e-6 absolute) after each step."""

import warnings

import numpy as np
import pytest

from engine import optimizers, schedules
from engine.autodiff.tensor import Variable
from tests.engine.optimizers.keras_optimizer_reference import (
    KERAS_NAMES,
    assert_close_histories,
    engine_history,
    engine_optimizer,
    keras,
    keras_floatx,
    keras_history,
    problem,
    to_numpy,
)

# A learning rate per optimizer at which its steps move the weights visibly (float64 runs;
# float32 runs take a twentieth: Keras's float32 bias corrections, 1 - beta^t, carry a few
# 1e-5 of relative error into each step, which larger steps would push past 1e-6).
RATES = {
    "sgd": 0.1,
    "adam": 0.05,
    "adamw": 0.05,
    "rmsprop": 0.01,
    "adagrad": 0.1,
    "adadelta": 1.0,
    "adamax": 0.05,
    "nadam": 0.05,
    "lion": 0.01,
    "adafactor": 0.1,
    "ftrl": 0.1,
}

# The optimizers' own arguments, defaults first, then others (Keras's names).
OWN_ARGUMENTS = [(name, {}) for name in RATES] + [
    ("sgd", {"momentum": 0.9}),
    ("sgd", {"momentum": 0.7, "nesterov": True}),
    ("adam", {"amsgrad": True, "beta_1": 0.8, "epsilon": 1e-4}),
    ("adamw", {"weight_decay": 0.1, "amsgrad": True}),
    ("rmsprop", {"rho": 0.8, "momentum": 0.5, "centered": True, "epsilon": 1e-4}),
    ("adagrad", {"initial_accumulator_value": 0.5, "epsilon": 1e-3}),
    ("adadelta", {"rho": 0.8, "epsilon": 1e-4}),
    ("adamax", {"beta_1": 0.8, "beta_2": 0.95, "epsilon": 1e-4}),
    ("nadam", {"beta_1": 0.8, "beta_2": 0.95, "epsilon": 1e-4}),
    ("lion", {"beta_1": 0.95, "beta_2": 0.9}),
    ("adafactor", {"beta_2_decay": -0.5, "epsilon_2": 1e-2, "clip_threshold": 0.5}),
    ("adafactor", {"relative_step": False, "epsilon_1": 1e-20}),
    (
        "ftrl",
        {
            "learning_rate_power": -0.3,
            "initial_accumulator_value": 0.2,
            "l1_regularization_strength": 0.01,
            "l2_regularization_strength": 0.02,
            "l2_shrinkage_regularization_strength": 0.03,
            "beta": 0.5,
        },
    ),
    ("ftrl", {"learning_rate_power": 0.0, "l1_regularization_strength": 0.05}),
]

# The options every optimizer has (Keras's base optimizer arguments).
COMMON_OPTIONS = [
    {"weight_decay": 0.05},
    {"clipnorm": 0.5},
    {"clipvalue": 0.3},
    {"global_clipnorm": 0.8},
    {"use_ema": True},
    {"use_ema": True, "ema_momentum": 0.5, "ema_overwrite_frequency": 2},
    {"gradient_accumulation_steps": 2},
    {"gradient_accumulation_steps": 3, "use_ema": True, "ema_overwrite_frequency": 1},
    {"loss_scale_factor": 4.0},
]


DTYPES = [np.float32, np.float64]


def check_against_keras(name, options, dtype, steps=6, lr=None):
    if lr is None:
        lr = RATES[name] / 20 if dtype is np.float32 else RATES[name]
    options = {"learning_rate": lr, **options}
    weights, grads = problem(steps, dtype=dtype)
    expected, keras_iterations = keras_history(name, options, weights, grads)
    opt = engine_optimizer(name, options)
    got, _ = engine_history(opt, weights, grads)
    assert_close_histories(got, expected)
    assert opt.iterations == keras_iterations
    return opt


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize(("name", "options"), OWN_ARGUMENTS, ids=str)
def test_update_rule_matches_keras(name, options, dtype):
    check_against_keras(name, options, dtype)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("options", COMMON_OPTIONS, ids=str)
@pytest.mark.parametrize("name", list(RATES))
def test_common_option_matches_keras(name, options, dtype):
    check_against_keras(name, options, dtype, steps=7)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
def test_keras_defaults_over_more_steps(dtype):
    # Nadam's momentum cache and Adafactor's decaying beta_2 depend on the step: 20 steps.
    for name in ("nadam", "adafactor", "adamax", "adam"):
        check_against_keras(name, {}, dtype, steps=20, lr=0.001)


@pytest.mark.parametrize("name", ["sgd", "adam", "nadam", "adafactor"])
def test_schedule_with_accumulation_sees_the_raw_counter_as_in_keras(name):
    # Keras evaluates a schedule at the count of calls, the update rules at iterations
    # (updates): both must agree with it under gradient accumulation.
    weights, grads = problem(7, dtype=np.float64)
    keras_lr = keras.optimizers.schedules.ExponentialDecay(0.05, decay_steps=2, decay_rate=0.5)
    expected, _ = keras_history(
        name, {"learning_rate": keras_lr, "gradient_accumulation_steps": 2}, weights, grads
    )
    engine_lr = schedules.ExponentialDecay(0.05, decay_steps=2, decay_rate=0.5)
    opt = optimizers.get({"name": name, "gradient_accumulation_steps": 2})
    opt.learning_rate = engine_lr
    got, _ = engine_history(opt, weights, grads)
    assert_close_histories(got, expected)
    assert opt.iterations == 3 and opt.get_state()["iterations"] == 7


class ConstrainedVariable(Variable):
    """An engine Variable that can carry a ``constraint`` (as layers' weights will)."""


@pytest.mark.parametrize("name", ["sgd", "adam", "ftrl"])
def test_constraint_projects_after_each_update_as_in_keras(name):
    weights, grads = problem(5, dtype=np.float64)
    options = {"learning_rate": RATES[name]}
    expected, _ = keras_history(name, options, weights, grads, keras.constraints.NonNeg())

    def make(w):
        var = ConstrainedVariable(w)
        var.constraint = lambda x: x * (x >= 0)
        return var

    got, _ = engine_history(engine_optimizer(name, options), weights, grads, make)
    assert_close_histories(got, expected)
    assert all((w >= 0).all() for w in got[-1])


@pytest.mark.parametrize("name", ["sgd", "adam", "lion"])
def test_finalize_variable_values_puts_the_averages_in_as_keras(name):
    weights, grads = problem(5)
    options = {"learning_rate": RATES[name] / 20, "use_ema": True, "ema_momentum": 0.6}
    variables = [keras.Variable(w.copy()) for w in weights]
    reference = getattr(keras.optimizers, KERAS_NAMES[name])(**options)
    with keras_floatx("float32"):
        for step in grads:
            reference.apply_gradients(
                zip([keras.ops.convert_to_tensor(g) for g in step], variables)
            )
        reference.finalize_variable_values(variables)
    expected = [to_numpy(v) for v in variables]

    opt = engine_optimizer(name, options)
    history, engine_vars = engine_history(opt, weights, grads)
    last = [v.numpy().copy() for v in engine_vars]
    opt.finalize_variable_values(engine_vars)
    got = [v.numpy() for v in engine_vars]
    assert_close_histories([got], [expected])
    assert not all(np.allclose(a, b) for a, b in zip(got, last))  # the averages differ
    # Without use_ema it changes nothing.
    plain = engine_optimizer(name, {"learning_rate": 0.1})
    _, plain_vars = engine_history(plain, weights, grads[:2])
    before = [v.numpy().copy() for v in plain_vars]
    plain.finalize_variable_values(plain_vars)
    for v, b in zip(plain_vars, before):
        np.testing.assert_array_equal(v.numpy(), b)


def test_every_identifier_is_a_keras_optimizer_with_keras_defaults():
    assert set(optimizers.available()) == set(KERAS_NAMES) and len(KERAS_NAMES) >= 11
    for name, cls in optimizers.available().items():
        with warnings.catch_warnings():  # Keras's float(variable.numpy()), under numpy 2
            warnings.simplefilter("ignore", DeprecationWarning)
            reference = getattr(keras.optimizers, KERAS_NAMES[name])().get_config()
        ours = cls().get_config()
        for key, value in reference.items():
            if key == "name":
                continue
            assert key in ours, f"{name} lacks Keras's argument {key}"
            assert ours[key] == pytest.approx(value), f"{name}.{key}"
        assert cls.__name__ == KERAS_NAMES[name]
        assert name in optimizers.__all__ or cls.__name__ in optimizers.__all__
