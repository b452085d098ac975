"""Every schedule against an independent reference at many steps (0, 1, restarts and
boundaries, during the warmup, long past the end): Keras 3's ``keras.optimizers.schedules``
(torch backend, computing in float64 here so that 1e-6 relative is meaningful) and PyTorch's
``OneCycleLR`` over its whole length.

Keras has a warmup on ``CosineDecay`` only; for the other schedules the reference is Keras's
own warmup ramp (a ``CosineDecay`` with that warmup) up to ``warmup_steps``, then the Keras
schedule begun at ``warmup_target`` and counted from the warmup's end."""

import math
import warnings

import numpy as np
import pytest

from engine import schedules

with warnings.catch_warnings():
    # Keras and PyTorch warn about their own internals on import; not this project's concern.
    warnings.simplefilter("ignore")
    import keras
    import torch

K = keras.optimizers.schedules
RTOL = 1e-6
ATOL = 1e-13  # cosines that end at 0 end at ~1e-17 in float64, not at 0


@pytest.fixture(autouse=True, scope="module")
def _keras_in_float64():
    before = keras.config.floatx()
    keras.config.set_floatx("float64")
    yield
    keras.config.set_floatx(before)


def keras_values(schedule, steps) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return np.array([float(schedule(step)) for step in steps])


def ours(schedule, steps) -> np.ndarray:
    return np.array([schedule(step) for step in steps])


def keras_warmup(start, target, warmup_steps, step) -> float:
    """Keras's own linear warmup: a CosineDecay while it is still warming up."""
    ramp = K.CosineDecay(start, 1, warmup_target=target, warmup_steps=warmup_steps)
    return keras_values(ramp, [step])[0]


STEPS = [*range(0, 45), 49, 50, 51, 69, 70, 71, 99, 100, 101, 149, 150, 151, 1000, 123_457]

# (ours, the Keras equivalent built from the same arguments)
CASES = {
    "exponential": (
        dict(name="exponential_decay", initial_learning_rate=0.1, decay_steps=10, decay_rate=0.5),
        lambda a: K.ExponentialDecay(**a),
    ),
    "exponential_staircase": (
        dict(
            name="exponential_decay",
            initial_learning_rate=0.3,
            decay_steps=7,
            decay_rate=0.8,
            staircase=True,
        ),
        lambda a: K.ExponentialDecay(**a),
    ),
    "step_decay_is_a_staircase": (
        dict(name="step_decay", initial_learning_rate=0.2, step_size=6, gamma=0.5),
        lambda a: K.ExponentialDecay(
            a["initial_learning_rate"], a["step_size"], a["gamma"], staircase=True
        ),
    ),
    "inverse_time": (
        dict(name="inverse_time_decay", initial_learning_rate=0.1, decay_steps=10, decay_rate=2.0),
        lambda a: K.InverseTimeDecay(**a),
    ),
    "inverse_time_staircase": (
        dict(
            name="inverse_time_decay",
            initial_learning_rate=0.1,
            decay_steps=4,
            decay_rate=0.5,
            staircase=True,
        ),
        lambda a: K.InverseTimeDecay(**a),
    ),
    "piecewise": (
        dict(
            name="piecewise_constant_decay", boundaries=[10, 20, 50], values=[0.1, 0.05, 0.01, 1e-3]
        ),
        lambda a: K.PiecewiseConstantDecay(**a),
    ),
    "polynomial_defaults": (
        dict(name="polynomial_decay", initial_learning_rate=0.1, decay_steps=20),
        lambda a: K.PolynomialDecay(**a),
    ),
    "polynomial_power": (
        dict(
            name="polynomial_decay",
            initial_learning_rate=0.5,
            decay_steps=30,
            end_learning_rate=0.01,
            power=2.5,
        ),
        lambda a: K.PolynomialDecay(**a),
    ),
    "polynomial_cycle": (
        dict(
            name="polynomial_decay",
            initial_learning_rate=0.1,
            decay_steps=10,
            end_learning_rate=0.0,
            power=0.5,
            cycle=True,
        ),
        lambda a: K.PolynomialDecay(**a),
    ),
    "cosine": (
        dict(name="cosine_decay", initial_learning_rate=0.1, decay_steps=50, alpha=0.1),
        lambda a: K.CosineDecay(**a),
    ),
    "cosine_keras_warmup": (
        dict(
            name="cosine_decay",
            initial_learning_rate=0.0,
            decay_steps=50,
            warmup_target=0.1,
            warmup_steps=20,
        ),
        lambda a: K.CosineDecay(**a),
    ),
    "restarts_defaults": (
        dict(name="cosine_decay_restarts", initial_learning_rate=0.1, first_decay_steps=10),
        lambda a: K.CosineDecayRestarts(**a),
    ),
    "restarts_m_mul_alpha": (
        dict(
            name="cosine_decay_restarts",
            initial_learning_rate=0.1,
            first_decay_steps=10,
            t_mul=2.0,
            m_mul=0.5,
            alpha=0.1,
        ),
        lambda a: K.CosineDecayRestarts(**a),
    ),
    "restarts_equal_periods": (
        dict(
            name="cosine_decay_restarts",
            initial_learning_rate=1.0,
            first_decay_steps=7,
            t_mul=1.0,
            m_mul=0.9,
        ),
        lambda a: K.CosineDecayRestarts(**a),
    ),
    "restarts_t_mul_1_5": (
        dict(
            name="cosine_decay_restarts",
            initial_learning_rate=0.05,
            first_decay_steps=8,
            t_mul=1.5,
            alpha=0.2,
        ),
        lambda a: K.CosineDecayRestarts(**a),
    ),
}


def _keras_args(config: dict) -> dict:
    return {k: v for k, v in config.items() if k != "name"}


@pytest.mark.parametrize("case", CASES)
def test_matches_keras(case):
    config, make = CASES[case]
    expected = keras_values(make(_keras_args(config)), STEPS)
    np.testing.assert_allclose(ours(schedules.get(config), STEPS), expected, rtol=RTOL, atol=ATOL)


def test_restarts_with_shrinking_periods_match_keras_while_they_last():
    # t_mul < 1: periods of 10, 5, 2.5, ... steps add up to 20; Keras is NaN after that.
    args = dict(initial_learning_rate=0.1, first_decay_steps=10, t_mul=0.5, m_mul=0.8, alpha=0.1)
    steps = range(0, 20)
    expected = keras_values(K.CosineDecayRestarts(**args), steps)
    ours_ = schedules.CosineDecayRestarts(**args)
    np.testing.assert_allclose(ours(ours_, steps), expected, rtol=RTOL, atol=ATOL)
    assert np.isnan(keras_values(K.CosineDecayRestarts(**args), [25])[0])
    assert ours_(25) == pytest.approx(0.1 * 0.1)  # holds the floor instead of NaN


WARMUP_STEPS = [0, 1, 2, 5, 9, 10, 11, 12, 19, 20, 21, 29, 30, 31, 45, 60, 61, 80, 200, 5000]


@pytest.mark.parametrize(
    "case", [c for c in CASES if c not in ("cosine_keras_warmup", "piecewise")]
)
@pytest.mark.parametrize("warmup", [(10, 0.4), (7, 0.02), (0, 0.3)], ids=str)
def test_warmup_on_any_schedule_is_keras_ramp_then_the_schedule_from_the_target(case, warmup):
    warmup_steps, target = warmup
    config, make = CASES[case]
    start_key = "initial_learning_rate"
    start = config[start_key]
    rebased = make({**_keras_args(config), start_key: target})
    schedule = schedules.get({**config, "warmup_steps": warmup_steps, "warmup_target": target})
    expected = [
        keras_warmup(start, target, warmup_steps, s)
        if s < warmup_steps
        else keras_values(rebased, [s - warmup_steps])[0]
        for s in WARMUP_STEPS
    ]
    np.testing.assert_allclose(ours(schedule, WARMUP_STEPS), expected, rtol=RTOL, atol=ATOL)
    assert schedule(warmup_steps) == pytest.approx(
        keras_values(rebased, [0])[0], rel=RTOL
    )  # the schedule picks up at the target


def test_cosine_warmup_is_keras_own():
    args = dict(initial_learning_rate=0.01, decay_steps=40, alpha=0.05, warmup_target=0.2)
    for warmup_steps in (1, 3, 15):
        reference = K.CosineDecay(**args, warmup_steps=warmup_steps)
        ours_ = schedules.CosineDecay(**args, warmup_steps=warmup_steps)
        np.testing.assert_allclose(
            ours(ours_, WARMUP_STEPS), keras_values(reference, WARMUP_STEPS), rtol=RTOL, atol=ATOL
        )


def test_piecewise_warmup_rises_from_zero_then_keeps_its_values():
    boundaries, values = [10, 20], [0.1, 0.05, 0.01]
    schedule = schedules.PiecewiseConstantDecay(
        boundaries, values, warmup_target=0.1, warmup_steps=8
    )
    reference = K.PiecewiseConstantDecay(boundaries, values)
    expected = [
        keras_warmup(0.0, 0.1, 8, s) if s < 8 else keras_values(reference, [s - 8])[0]
        for s in WARMUP_STEPS
    ]
    np.testing.assert_allclose(ours(schedule, WARMUP_STEPS), expected, rtol=RTOL, atol=ATOL)


# -- OneCycle against torch.optim.lr_scheduler.OneCycleLR --------------------------------------


def torch_one_cycle(total_steps, **kwargs) -> np.ndarray:
    """OneCycleLR's rate at steps 0 .. total_steps - 1 (momentum cycling off, as ours)."""
    param = torch.zeros(1, requires_grad=True)
    optimizer = torch.optim.SGD([param], lr=1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scheduler = torch.optim.lr_scheduler.OneCycleLR(
            optimizer, total_steps=total_steps, cycle_momentum=False, **kwargs
        )
        rates = [optimizer.param_groups[0]["lr"]]
        for _ in range(total_steps - 1):
            optimizer.step()
            scheduler.step()
            rates.append(optimizer.param_groups[0]["lr"])
    return np.array(rates, dtype=np.float64)


ONE_CYCLE = {
    "defaults": dict(max_learning_rate=0.1, total_steps=100),
    "linear": dict(max_learning_rate=0.5, total_steps=57, anneal_strategy="linear"),
    "three_phase": dict(max_learning_rate=0.1, total_steps=100, three_phase=True),
    "three_phase_linear": dict(
        max_learning_rate=2.0,
        total_steps=33,
        pct_start=0.4,
        anneal_strategy="linear",
        three_phase=True,
    ),
    "factors": dict(
        max_learning_rate=0.01,
        total_steps=250,
        pct_start=0.1,
        div_factor=10.0,
        final_div_factor=100.0,
    ),
    "short_first_phase": dict(max_learning_rate=0.1, total_steps=10, pct_start=0.05),
    "one_step": dict(max_learning_rate=0.1, total_steps=1),
}


def _torch_args(args: dict) -> dict:
    mapped = {k: v for k, v in args.items() if k not in ("max_learning_rate", "total_steps")}
    return {"max_lr": args["max_learning_rate"], **mapped}


@pytest.mark.parametrize("case", ONE_CYCLE)
def test_one_cycle_matches_pytorch_over_its_whole_length(case):
    args = ONE_CYCLE[case]
    expected = torch_one_cycle(args["total_steps"], **_torch_args(args))
    got = schedules.preview(schedules.OneCycle(**args), args["total_steps"])
    np.testing.assert_allclose(got, expected, rtol=RTOL, atol=ATOL)
    # Past the end it holds the minimum (PyTorch raises instead).
    after = schedules.OneCycle(**args)(args["total_steps"] + 100)
    assert after == pytest.approx(expected[-1], rel=RTOL)


@pytest.mark.parametrize("three_phase", [False, True])
def test_one_cycle_after_a_warmup_starts_from_the_target(three_phase):
    # Starting the cycle from warmup_target is OneCycleLR with div_factor = max / target,
    # and final_div_factor chosen so that the minimum stays max / 25 / 1e4.
    top, target, warmup_steps, total = 0.1, 0.02, 12, 60
    schedule = schedules.OneCycle(
        top, total, three_phase=three_phase, warmup_target=target, warmup_steps=warmup_steps
    )
    cycle = torch_one_cycle(
        total,
        max_lr=top,
        div_factor=top / target,
        final_div_factor=target / (top / 25.0 / 1e4),
        three_phase=three_phase,
    )
    ramp = [keras_warmup(top / 25.0, target, warmup_steps, s) for s in range(warmup_steps)]
    expected = np.concatenate([ramp, cycle])
    got = schedules.preview(schedule, warmup_steps + total)
    np.testing.assert_allclose(got, expected, rtol=RTOL, atol=ATOL)


def test_restart_steps_where_a_float_logarithm_rounds_down_still_start_the_new_period():
    # t_mul 1.5, first period 16: period 5 starts at step 211, but Python's
    # log(1 + 13.1875 * 0.5) / log(1.5) comes out a hair under 5, which would put step 211 at
    # the very end of period 4, at the floor. The index is corrected, and matches Keras.
    assert math.floor(math.log(1 + 211 / 16 * 0.5) / math.log(1.5)) == 4  # the trap
    args = dict(initial_learning_rate=0.1, first_decay_steps=16, t_mul=1.5, m_mul=0.9)
    reference = K.CosineDecayRestarts(**args)
    schedule = schedules.CosineDecayRestarts(**args)
    assert schedule(211) == pytest.approx(0.1 * 0.9**5, rel=RTOL)
    steps = [205, 210, 211, 212, 220]
    np.testing.assert_allclose(ours(schedule, steps), keras_values(reference, steps), rtol=RTOL)
