"""Cosine schedules: ``CosineDecay`` (half a cosine, with Keras's warmup) and
``CosineDecayRestarts`` (SGDR: cosine periods that restart, each ``t_mul`` times longer and
``m_mul`` times lower than the one before), as in ``keras.optimizers.schedules``."""

from __future__ import annotations

import math
from typing import Any

from engine.schedules.base import LearningRateSchedule, at_least, rate, steps

__all__ = ["CosineDecay", "CosineDecayRestarts"]


def _cosine(fraction: float, alpha: float) -> float:
    """From 1 at ``fraction`` 0 to ``alpha`` at 1 along half a cosine."""
    return (1.0 - alpha) * (0.5 * (1.0 + math.cos(math.pi * fraction))) + alpha


class CosineDecay(LearningRateSchedule):
    """Cosine decay with an optional linear warmup (Keras's semantics).

    Without ``warmup_target`` the rate decays from ``initial_learning_rate`` to
    ``initial_learning_rate * alpha`` over ``decay_steps`` along half a cosine, then stays.
    With ``warmup_target`` it first rises linearly from ``initial_learning_rate`` to
    ``warmup_target`` over ``warmup_steps``, then decays from ``warmup_target`` to
    ``warmup_target * alpha`` over the next ``decay_steps`` — so it ends at step
    ``warmup_steps + decay_steps``, as in Keras.
    """

    config_name = "cosine_decay"

    def __init__(
        self,
        initial_learning_rate: float,
        decay_steps: int,
        alpha: float = 0.0,
        warmup_target: float | None = None,
        warmup_steps: int = 0,
    ):
        self.initial_learning_rate = rate(self, "initial_learning_rate", initial_learning_rate)
        self.decay_steps = steps(self, "decay_steps", decay_steps)
        self.alpha = at_least(self, "alpha", alpha, 0.0)
        self._init_warmup(warmup_target, warmup_steps)

    def _rate(self, step: float, start: float) -> float:
        return start * _cosine(min(step, self.decay_steps) / self.decay_steps, self.alpha)

    def _arguments(self) -> dict[str, Any]:
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "alpha": self.alpha,
        }


class CosineDecayRestarts(LearningRateSchedule):
    """Cosine decay with warm restarts (SGDR, Loshchilov & Hutter 2016; Keras's
    ``CosineDecayRestarts``).

    The first period decays from ``initial_learning_rate`` to ``initial_learning_rate *
    alpha`` over ``first_decay_steps``; the rate then jumps back up and period ``i`` (from 0)
    lasts ``first_decay_steps * t_mul ** i`` steps and starts at ``initial_learning_rate *
    m_mul ** i``. It never ends. With ``t_mul == 1`` all periods are equally long.
    """

    config_name = "cosine_decay_restarts"

    def __init__(
        self,
        initial_learning_rate: float,
        first_decay_steps: int,
        t_mul: float = 2.0,
        m_mul: float = 1.0,
        alpha: float = 0.0,
        *,
        warmup_target: float | None = None,
        warmup_steps: int = 0,
    ):
        self.initial_learning_rate = rate(self, "initial_learning_rate", initial_learning_rate)
        self.first_decay_steps = steps(self, "first_decay_steps", first_decay_steps)
        self.t_mul = at_least(self, "t_mul", t_mul, 0.0, above=True)
        self.m_mul = at_least(self, "m_mul", m_mul, 0.0)
        self.alpha = at_least(self, "alpha", alpha, 0.0)
        self._init_warmup(warmup_target, warmup_steps)

    def _period(self, fraction: float) -> tuple[int, float]:
        """(restart index, fraction of that period done) for ``fraction`` = step /
        first_decay_steps. Keras takes the index from a logarithm; that can land a hair
        below a whole number exactly at a restart, so it is corrected against the periods'
        exact start points."""
        t = self.t_mul
        if t == 1.0:
            i = math.floor(fraction)
            return i, fraction - i

        def begins(k: int) -> float:  # where period k begins, in first periods
            return (1.0 - t**k) / (1.0 - t)

        i = max(0, math.floor(math.log(1.0 - fraction * (1.0 - t)) / math.log(t)))
        while begins(i + 1) <= fraction:
            i += 1
        while i > 0 and begins(i) > fraction:
            i -= 1
        return i, (fraction - begins(i)) / t**i

    def _rate(self, step: float, start: float) -> float:
        fraction = step / self.first_decay_steps
        if self.t_mul < 1.0 and fraction >= 1.0 / (1.0 - self.t_mul):
            # Shrinking periods add up to 1 / (1 - t_mul) first periods; past that Keras takes
            # the logarithm of a number <= 0 and gives NaN. Hold the floor, start * alpha.
            return start * self.alpha
        i, done = self._period(fraction)
        cosine = self.m_mul**i * 0.5 * (1.0 + math.cos(math.pi * done))
        return start * ((1.0 - self.alpha) * cosine + self.alpha)

    def _arguments(self) -> dict[str, Any]:
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "first_decay_steps": self.first_decay_steps,
            "t_mul": self.t_mul,
            "m_mul": self.m_mul,
            "alpha": self.alpha,
        }
