"""The step-count decays: exponential, inverse-time, step, piecewise-constant and polynomial
(``keras.optimizers.schedules``; ``StepDecay`` is PyTorch's ``StepLR`` counted in steps).

Each is ``rate(step)`` on the host in Python floats; the warmup is the base class's.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from engine.schedules.base import LearningRateSchedule, at_least, flag, number, rate, steps

__all__ = [
    "ExponentialDecay",
    "InverseTimeDecay",
    "StepDecay",
    "PiecewiseConstantDecay",
    "PolynomialDecay",
]


class _RateDecay(LearningRateSchedule):
    """Shared by the decays that follow ``step / decay_steps`` (floored with ``staircase``)."""

    def __init__(
        self,
        initial_learning_rate: float,
        decay_steps: int,
        decay_rate: float,
        staircase: bool = False,
        *,
        warmup_target: float | None = None,
        warmup_steps: int = 0,
    ):
        self.initial_learning_rate = rate(self, "initial_learning_rate", initial_learning_rate)
        self.decay_steps = steps(self, "decay_steps", decay_steps)
        self.decay_rate = at_least(self, "decay_rate", decay_rate, 0.0)
        self.staircase = flag(self, "staircase", staircase)
        self._init_warmup(warmup_target, warmup_steps)

    def _progress(self, step: float) -> float:
        p = step / self.decay_steps
        return math.floor(p) if self.staircase else p

    def _arguments(self) -> dict[str, Any]:
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "decay_rate": self.decay_rate,
            "staircase": self.staircase,
        }


class ExponentialDecay(_RateDecay):
    """``initial_learning_rate * decay_rate ** (step / decay_steps)``; with ``staircase``
    the exponent is floored, so the rate drops by ``decay_rate`` every ``decay_steps``."""

    config_name = "exponential_decay"

    def _rate(self, step: float, start: float) -> float:
        return start * self.decay_rate ** self._progress(step)


class InverseTimeDecay(_RateDecay):
    """``initial_learning_rate / (1 + decay_rate * step / decay_steps)`` (floored ratio with
    ``staircase``)."""

    config_name = "inverse_time_decay"

    def _rate(self, step: float, start: float) -> float:
        return start / (1.0 + self.decay_rate * self._progress(step))


class StepDecay(LearningRateSchedule):
    """Step decay: ``initial_learning_rate * gamma ** floor(step / step_size)`` — the rate is
    multiplied by ``gamma`` every ``step_size`` steps (PyTorch's ``StepLR``, counted in
    optimizer steps). Equivalent to ``ExponentialDecay(lr, step_size, gamma, staircase=True)``.
    """

    config_name = "step_decay"

    def __init__(
        self,
        initial_learning_rate: float,
        step_size: int,
        gamma: float = 0.1,
        *,
        warmup_target: float | None = None,
        warmup_steps: int = 0,
    ):
        self.initial_learning_rate = rate(self, "initial_learning_rate", initial_learning_rate)
        self.step_size = steps(self, "step_size", step_size)
        self.gamma = at_least(self, "gamma", gamma, 0.0)
        self._init_warmup(warmup_target, warmup_steps)

    def _rate(self, step: float, start: float) -> float:
        return start * self.gamma ** math.floor(step / self.step_size)

    def _arguments(self) -> dict[str, Any]:
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "step_size": self.step_size,
            "gamma": self.gamma,
        }


class PiecewiseConstantDecay(LearningRateSchedule):
    """``values[0]`` while ``step <= boundaries[0]``, ``values[1]`` while
    ``boundaries[0] < step <= boundaries[1]``, ..., ``values[-1]`` after the last boundary.

    It has no initial rate, and its values are rates, not fractions: with a warmup the rate
    rises from 0 to ``warmup_target``, then ``values`` apply as given, the boundaries counted
    from the end of the warmup. Set ``warmup_target`` to ``values[0]`` for a curve without a
    jump.
    """

    config_name = "piecewise_constant_decay"

    def __init__(
        self,
        boundaries: Sequence[int],
        values: Sequence[float],
        *,
        warmup_target: float | None = None,
        warmup_steps: int = 0,
    ):
        if isinstance(boundaries, str | bytes) or not isinstance(boundaries, Sequence):
            raise ValueError(
                f"PiecewiseConstantDecay: boundaries must be a list of steps, got {boundaries!r}"
            )
        if isinstance(values, str | bytes) or not isinstance(values, Sequence):
            raise ValueError(
                f"PiecewiseConstantDecay: values must be a list of rates, got {values!r}"
            )
        if len(values) != len(boundaries) + 1:
            raise ValueError(
                f"PiecewiseConstantDecay needs one more value than boundaries, got "
                f"{len(boundaries)} boundaries and {len(values)} values"
            )
        for i, boundary in enumerate(boundaries):
            number(self, f"boundaries[{i}]", boundary)
        if any(later <= earlier for earlier, later in zip(boundaries, boundaries[1:])):
            raise ValueError(f"boundaries must increase, got {list(boundaries)}")
        self.boundaries = list(boundaries)
        self.values = [rate(self, f"values[{i}]", v) for i, v in enumerate(values)]
        self._init_warmup(warmup_target, warmup_steps)

    def _initial_rate(self) -> float:
        return 0.0

    def _rate(self, step: float, start: float) -> float:
        for boundary, value in zip(self.boundaries, self.values):
            if step <= boundary:
                return value
        return self.values[-1]

    def _arguments(self) -> dict[str, Any]:
        return {"boundaries": self.boundaries, "values": self.values}


class PolynomialDecay(LearningRateSchedule):
    """``(initial_learning_rate - end_learning_rate) * (1 - step / decay_steps) ** power +
    end_learning_rate``, then ``end_learning_rate`` after ``decay_steps`` (Keras's
    ``PolynomialDecay``; ``power=1`` is a straight line).

    With ``cycle`` the decay restarts instead of stopping: ``decay_steps`` grows to the first
    multiple of it that is >= ``step``, so each restart decays more slowly (Keras's rule).
    """

    config_name = "polynomial_decay"

    def __init__(
        self,
        initial_learning_rate: float,
        decay_steps: int,
        end_learning_rate: float = 0.0001,
        power: float = 1.0,
        cycle: bool = False,
        *,
        warmup_target: float | None = None,
        warmup_steps: int = 0,
    ):
        self.initial_learning_rate = rate(self, "initial_learning_rate", initial_learning_rate)
        self.decay_steps = steps(self, "decay_steps", decay_steps)
        self.end_learning_rate = rate(self, "end_learning_rate", end_learning_rate)
        # power < 0 would divide by zero at the end of the decay (0 ** power).
        self.power = at_least(self, "power", power, 0.0)
        self.cycle = flag(self, "cycle", cycle)
        self._init_warmup(warmup_target, warmup_steps)

    def _rate(self, step: float, start: float) -> float:
        decay_steps = float(self.decay_steps)
        if self.cycle:
            # Step 0 keeps one period; otherwise the first multiple of decay_steps >= step.
            decay_steps *= 1.0 if step == 0 else math.ceil(step / self.decay_steps)
        else:
            step = min(step, decay_steps)
        p = step / decay_steps
        return (start - self.end_learning_rate) * (1.0 - p) ** self.power + self.end_learning_rate

    def _arguments(self) -> dict[str, Any]:
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "end_learning_rate": self.end_learning_rate,
            "power": self.power,
            "cycle": self.cycle,
        }
