"""Learning-rate schedules: values at chosen steps (worked out by hand from the formulas)
and the config dicts project files use."""

import math

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
