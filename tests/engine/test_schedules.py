"""Learning-rate schedules: values at chosen steps (worked out by hand from the formulas)
and the config dicts project files use."""

import inspect
import json
import math
import time

import numpy as np
import pytest

from engine import schedules


def test_exponential_decay():
    s = schedules.ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5)
    assert s(0) == pytest.approx(0.1)
    assert s(10) == pytest.approx(0.05)
    assert s(5) == pytest.approx(0.1 * 0.5**0.5)
    stairs = schedules.ExponentialDecay(0.1, 10, 0.5, staircase=True)
    assert stairs(9) == pytest.approx(0.1)
    assert stairs(10) == pytest.approx(0.05)
    assert stairs(25) == pytest.approx(0.025)


def test_piecewise_constant_decay_boundaries_are_inclusive_below():
    s = schedules.PiecewiseConstantDecay([100, 200], [1.0, 0.5, 0.1])
    assert [s(0), s(100), s(101), s(200), s(201), s(10_000)] == [1.0, 1.0, 0.5, 0.5, 0.1, 0.1]
    with pytest.raises(ValueError, match="one more value"):
        schedules.PiecewiseConstantDecay([1, 2], [1.0, 0.5])
    with pytest.raises(ValueError, match="increase"):
        schedules.PiecewiseConstantDecay([5, 2], [1.0, 0.5, 0.1])


def test_step_decay():
    s = schedules.StepDecay(0.1, step_size=30, gamma=0.1)
    assert s(0) == pytest.approx(0.1)
    assert s(29) == pytest.approx(0.1)
    assert s(30) == pytest.approx(0.01)
    assert s(65) == pytest.approx(0.001)
    with pytest.raises(ValueError, match="step_size"):
        schedules.StepDecay(0.1, 0, 0.5)


def test_cosine_decay_without_warmup():
    s = schedules.CosineDecay(0.1, decay_steps=100, alpha=0.1)
    assert s(0) == pytest.approx(0.1)
    # halfway: 0.5 * (1 + cos(pi/2)) = 0.5 -> (1 - 0.1) * 0.5 + 0.1 = 0.55
    assert s(50) == pytest.approx(0.055)
    assert s(100) == pytest.approx(0.01)
    assert s(500) == pytest.approx(0.01)  # stays at alpha * initial after the decay
    assert s(25) == pytest.approx(0.1 * (0.9 * 0.5 * (1 + math.cos(math.pi / 4)) + 0.1))


def test_cosine_decay_with_linear_warmup():
    s = schedules.CosineDecay(0.0, decay_steps=100, warmup_target=0.1, warmup_steps=10)
    assert s(0) == 0.0
    assert s(5) == pytest.approx(0.05)  # halfway up the linear warmup
    assert s(10) == pytest.approx(0.1)  # decay starts from warmup_target
    assert s(60) == pytest.approx(0.05)  # halfway through the cosine
    assert s(110) == pytest.approx(0.0, abs=1e-15)
    assert s(1000) == pytest.approx(0.0, abs=1e-15)
    # warmup_steps without a warmup_target means no warmup, as in Keras
    assert schedules.CosineDecay(0.1, 100, warmup_steps=10)(0) == pytest.approx(0.1)


def test_inverse_time_decay():
    s = schedules.InverseTimeDecay(0.1, decay_steps=10, decay_rate=0.5)
    assert s(0) == pytest.approx(0.1)
    assert s(10) == pytest.approx(0.1 / 1.5)
    assert s(5) == pytest.approx(0.1 / 1.25)
    stairs = schedules.InverseTimeDecay(0.1, 10, 0.5, staircase=True)
    assert stairs(19) == pytest.approx(0.1 / 1.5)


@pytest.mark.parametrize(
    "schedule",
    [
        schedules.ExponentialDecay(0.1, 10, 0.9, staircase=True),
        schedules.PiecewiseConstantDecay([5], [0.1, 0.01]),
        schedules.StepDecay(0.1, 7, 0.5),
        schedules.CosineDecay(0.0, 50, alpha=0.1, warmup_target=0.1, warmup_steps=5),
        schedules.InverseTimeDecay(0.1, 10, 1.0),
    ],
    ids=lambda s: type(s).__name__,
)
def test_config_round_trip(schedule):
    config = schedule.get_config()
    assert config["name"] in schedules.SCHEDULE_NAMES
    again = schedules.get(config)
    assert type(again) is type(schedule)
    assert again.get_config() == config
    assert [again(step) for step in range(0, 60, 7)] == [schedule(s) for s in range(0, 60, 7)]
    assert type(schedule).from_config(config).get_config() == config


def test_get_from_project_and_keras_dicts():
    s = schedules.get({"name": "cosine_decay", "initial_learning_rate": 0.01, "decay_steps": 10})
    assert isinstance(s, schedules.CosineDecay) and s(0) == pytest.approx(0.01)
    config = {"initial_learning_rate": 1.0, "step_size": 2, "gamma": 0.5}
    k = schedules.get({"class_name": "StepDecay", "config": config})
    assert k(4) == pytest.approx(0.25)
    assert schedules.get(s) is s
    with pytest.raises(ValueError, match="unknown learning-rate schedule 'linear'"):
        schedules.get({"name": "linear"})
    with pytest.raises(ValueError, match="bad options"):
        schedules.get({"name": "step_decay", "initial_learning_rate": 0.1})
    with pytest.raises(ValueError, match="needs its arguments.*initial_learning_rate, decay_steps"):
        schedules.get("cosine_decay")
    with pytest.raises(ValueError, match="cannot interpret"):
        schedules.get(0.01)


NEW = [
    schedules.PolynomialDecay(0.1, 20, end_learning_rate=0.01, power=2.0, cycle=True),
    schedules.CosineDecayRestarts(0.1, 10, t_mul=1.5, m_mul=0.8, alpha=0.05),
    schedules.OneCycle(0.1, 50, pct_start=0.25, anneal_strategy="linear", three_phase=True),
    schedules.ExponentialDecay(0.0, 10, 0.5, warmup_target=0.1, warmup_steps=5),
    schedules.PiecewiseConstantDecay([5], [0.1, 0.01], warmup_target=0.1, warmup_steps=3),
    schedules.OneCycle(0.1, 30, warmup_target=0.05, warmup_steps=4),
]


@pytest.mark.parametrize("schedule", NEW, ids=lambda s: type(s).__name__)
def test_new_schedules_and_warmups_round_trip_through_configs(schedule):
    config = schedule.get_config()
    assert config["name"] in schedules.available()
    assert list(config)[-2:] == ["warmup_target", "warmup_steps"]
    again = schedules.get(json.loads(json.dumps(config)))  # what a .lcproj file holds
    assert type(again) is type(schedule) and again.get_config() == config
    assert [again(s) for s in range(70)] == [schedule(s) for s in range(70)]
    assert type(schedule).from_config(config).get_config() == config
    keras_style = {"class_name": type(schedule).__name__, "config": {**config, "name": "scope"}}
    assert schedules.get(keras_style).get_config() == config


def test_every_schedule_takes_a_warmup():
    for name, cls in schedules.available().items():
        parameters = list(inspect.signature(cls).parameters)
        assert parameters[-2:] == ["warmup_target", "warmup_steps"], name


def test_available_lists_every_schedule_by_its_config_name():
    found = schedules.available()
    assert list(found) == list(schedules.SCHEDULE_NAMES)
    assert {
        "polynomial_decay",
        "cosine_decay_restarts",
        "one_cycle",
        "cosine_decay",
        "exponential_decay",
        "piecewise_constant_decay",
        "inverse_time_decay",
        "step_decay",
    } == set(found)
    assert all(found[name].config_name == name for name in found)
    found.clear()  # a copy: the registry is untouched
    assert schedules.available()


def test_names_keras_class_names_and_pytorch_one_cycle_lr_are_accepted():
    config = {"initial_learning_rate": 0.1, "decay_steps": 10}
    assert isinstance(
        schedules.get({"name": "PolynomialDecay", **config}), schedules.PolynomialDecay
    )
    args = {"max_learning_rate": 0.1, "total_steps": 10}
    assert isinstance(schedules.get({"name": "OneCycleLR", **args}), schedules.OneCycle)
    with pytest.raises(ValueError, match=r"'polynomial_decay' needs.*decay_steps"):
        schedules.get("polynomial_decay")
    with pytest.raises(ValueError, match=r"unknown learning-rate schedule 'cosine'.*one_cycle"):
        schedules.get("cosine")


def test_preview_is_the_rate_at_steps_0_to_n_minus_1_without_a_model():
    schedule = schedules.PolynomialDecay(0.1, 10, end_learning_rate=0.0)
    curve = schedules.preview(schedule, 12)
    assert curve.dtype == np.float64 and curve.shape == (12,)
    np.testing.assert_allclose(curve, [0.1 * (1 - min(s, 10) / 10) for s in range(12)])
    from_dict = schedules.preview(schedule.get_config(), 12)
    np.testing.assert_array_equal(from_dict, curve)
    np.testing.assert_array_equal(schedules.preview(0.01, 3), [0.01, 0.01, 0.01])
    assert schedules.preview(schedule, 0).shape == (0,)
    with pytest.raises(ValueError, match="steps must be a whole number >= 0, got -1"):
        schedules.preview(schedule, -1)
    with pytest.raises(ValueError, match="steps"):
        schedules.preview(schedule, 2.5)
    with pytest.raises(ValueError, match="learning_rate must be"):
        schedules.preview(-0.1, 3)


def test_preview_of_a_long_run_is_quick():
    started = time.perf_counter()
    curve = schedules.preview(schedules.OneCycle(0.1, 100_000), 100_000)
    assert time.perf_counter() - started < 5.0  # generous: the test machine is shared
    assert curve.argmax() == 29_999 and curve[-1] == pytest.approx(0.1 / 25 / 1e4)


@pytest.mark.parametrize(
    "make, words",
    [
        (
            lambda: schedules.PolynomialDecay(-0.1, 10),
            "initial_learning_rate must be a finite learning rate >= 0, got -0.1",
        ),
        (
            lambda: schedules.PolynomialDecay(0.1, 0),
            "decay_steps must be a number of steps > 0, got 0",
        ),
        (lambda: schedules.PolynomialDecay(0.1, 10, end_learning_rate=-1.0), "end_learning_rate"),
        (
            lambda: schedules.PolynomialDecay(0.1, 10, power=-1.0),
            "power must be a finite number >= 0",
        ),
        (lambda: schedules.PolynomialDecay(0.1, 10, cycle="yes"), "cycle must be true or false"),
        (lambda: schedules.ExponentialDecay(0.1, 0, 0.5), "decay_steps"),
        (lambda: schedules.CosineDecay(float("nan"), 10), "initial_learning_rate"),
        (
            lambda: schedules.CosineDecay(0.1, 10, warmup_target=0.2, warmup_steps=-1),
            "warmup_steps must be a number of steps >= 0, got -1",
        ),
        (
            lambda: schedules.CosineDecay(0.1, 10, warmup_target=-0.2),
            "warmup_target must be a finite learning rate >= 0",
        ),
        (lambda: schedules.StepDecay(0.1, 10, warmup_steps=-5), "warmup_steps"),
        (
            lambda: schedules.CosineDecayRestarts(0.1, 0),
            "first_decay_steps must be a number of steps > 0",
        ),
        (
            lambda: schedules.CosineDecayRestarts(0.1, 10, t_mul=0.0),
            "t_mul must be a finite number > 0",
        ),
        (lambda: schedules.CosineDecayRestarts(0.1, 10, m_mul=-1.0), "m_mul"),
        (lambda: schedules.CosineDecayRestarts(0.1, 10, alpha=-0.5), "alpha"),
        (
            lambda: schedules.PiecewiseConstantDecay([5], [0.1, -0.01]),
            r"values\[1\] must be a finite learning rate >= 0",
        ),
        (lambda: schedules.PiecewiseConstantDecay("5", [0.1, 0.01]), "boundaries must be a list"),
        (
            lambda: schedules.OneCycle(-0.1, 10),
            "max_learning_rate must be a finite learning rate >= 0",
        ),
        (
            lambda: schedules.OneCycle(0.1, 0),
            "total_steps must be a whole number of steps > 0, got 0",
        ),
        (lambda: schedules.OneCycle(0.1, 10.5), "total_steps"),
        (
            lambda: schedules.OneCycle(0.1, 10, pct_start=0.0),
            "pct_start must be a fraction strictly between 0 and 1, got 0.0",
        ),
        (lambda: schedules.OneCycle(0.1, 10, pct_start=1.0), "pct_start"),
        (lambda: schedules.OneCycle(0.1, 10, pct_start=1.5), "pct_start"),
        (
            lambda: schedules.OneCycle(0.1, 10, anneal_strategy="cosine"),
            "anneal_strategy must be 'cos' or 'linear', got 'cosine'",
        ),
        (
            lambda: schedules.OneCycle(0.1, 10, div_factor=0),
            "div_factor must be a finite number > 0",
        ),
        (lambda: schedules.OneCycle(0.1, 10, final_div_factor=-1), "final_div_factor"),
        (lambda: schedules.OneCycle(0.1, 10, three_phase=1), "three_phase must be true or false"),
        (
            lambda: schedules.get({"name": "one_cycle", "max_learning_rate": 0.1}),
            "bad options for schedule 'one_cycle': missing total_steps",
        ),
        (
            lambda: schedules.get(
                {
                    "name": "polynomial_decay",
                    "initial_learning_rate": 0.1,
                    "decay_steps": 5,
                    "decay": 1,
                }
            ),
            "unknown decay",
        ),
        (lambda: schedules.get({"initial_learning_rate": 0.1}), "needs a 'name'"),
        (
            lambda: schedules.get(
                {"name": "polynomial_decay", "initial_learning_rate": "0.1", "decay_steps": 5}
            ),
            "initial_learning_rate must be a finite learning rate >= 0, got '0.1'",
        ),
    ],
)
def test_bad_arguments_are_a_value_error_naming_the_argument(make, words):
    with pytest.raises(ValueError, match=words):
        make()


def test_a_growing_schedule_past_float_range_is_infinite_not_an_exception():
    growing = schedules.ExponentialDecay(0.1, 1, decay_rate=2.0)
    assert growing(10) == pytest.approx(0.1 * 2**10)
    assert growing(5000) == math.inf  # Python's float power raises OverflowError here
    with pytest.raises(ValueError, match="decay_steps must be"):
        schedules.PolynomialDecay(0.1, 10**400)  # past float's range
