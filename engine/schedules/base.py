"""The schedule base class: the step-to-rate contract, linear warmup for every schedule,
configs, and the argument checks the schedules share.

Warmup follows Keras's ``CosineDecay``: with ``warmup_target`` set, the rate rises linearly
from the schedule's initial rate to ``warmup_target`` over ``warmup_steps`` steps, then the
schedule runs from ``warmup_target`` (in place of its initial rate), its step counter starting
at 0 when the warmup ends. So the decay's own step counts (``decay_steps``, ``boundaries``,
``total_steps``, ...) are counted after the warmup, and a schedule of ``decay_steps`` steps
with a warmup of ``warmup_steps`` reaches its end at step ``warmup_steps + decay_steps``.
Without ``warmup_target`` there is no warmup, whatever ``warmup_steps`` says (as in Keras).
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

__all__ = ["LearningRateSchedule"]


class LearningRateSchedule:
    """Base class: ``schedule(step) -> float``, ``step`` the number of batches trained so far.

    A subclass implements :meth:`_rate` (the schedule without warmup, beginning at a given
    rate) and :meth:`_arguments`, and calls :meth:`_init_warmup` from ``__init__``; the
    warmup, ``get_config`` and ``from_config`` then come from here. A subclass that overrides
    ``__call__`` and ``get_config`` itself (the pre-warmup way) still works, without warmup.
    """

    # The name used in configs and project files ("exponential_decay", ...).
    config_name: ClassVar[str] = ""
    warmup_target: float | None = None
    warmup_steps: float = 0

    def _init_warmup(self, warmup_target, warmup_steps) -> None:
        self.warmup_target = (
            None if warmup_target is None else rate(self, "warmup_target", warmup_target)
        )
        self.warmup_steps = steps(self, "warmup_steps", warmup_steps, allow_zero=True)

    def __call__(self, step: int) -> float:
        try:
            return self._with_warmup(float(step))
        except OverflowError:
            # A growing schedule (decay_rate > 1) past float's range: what float math (and
            # Keras) gives; the optimizer's step guard then stops training with a message.
            return math.inf

    def _with_warmup(self, step: float) -> float:
        if self.warmup_target is None:
            return self._rate(step, self._initial_rate())
        if step < self.warmup_steps:
            # Keras's CosineDecay._warmup_function, written the same way.
            start = self._initial_rate()
            return (self.warmup_target - start) * (step / self.warmup_steps) + start
        return self._rate(step - self.warmup_steps, self.warmup_target)

    def _rate(self, step: float, start: float) -> float:
        """The rate at ``step`` of this schedule begun at rate ``start`` (its initial rate
        without warmup, ``warmup_target`` after one)."""
        raise NotImplementedError

    def _initial_rate(self) -> float:
        """Where the schedule (and its warmup) starts."""
        return self.initial_learning_rate

    def _arguments(self) -> dict[str, Any]:
        """The schedule's own constructor arguments (not the warmup's)."""
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
        """``{"name": <config name>, **arguments}``; :func:`engine.schedules.get` turns it back."""
        return {
            "name": self.config_name,
            **self._arguments(),
            "warmup_target": self.warmup_target,
            "warmup_steps": self.warmup_steps,
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> LearningRateSchedule:
        config = {k: v for k, v in config.items() if k != "name"}
        return cls(**config)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items() if k != "name")
        return f"{type(self).__name__}({args})"


# -- argument checks: each names the schedule, the argument, the value and what is allowed ----


def _fail(owner, name: str, value, allowed: str) -> ValueError:
    return ValueError(f"{type(owner).__name__}: {name} must be {allowed}, got {value!r}")


def number(owner, name: str, value, allowed: str = "a finite number") -> float:
    """A finite real number (bools and strings are refused: a project file's typo)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _fail(owner, name, value, allowed)
    try:
        checked = float(value)
    except OverflowError:  # an int past float's range, from a hand-edited file
        raise _fail(owner, name, value, allowed) from None
    if not math.isfinite(checked):
        raise _fail(owner, name, value, allowed)
    return checked


def rate(owner, name: str, value) -> float:
    """A learning rate: finite and >= 0."""
    allowed = "a finite learning rate >= 0"
    if number(owner, name, value, allowed) < 0:
        raise _fail(owner, name, value, allowed)
    return float(value)


def steps(owner, name: str, value, allow_zero: bool = False):
    """A step count (> 0, or >= 0 with ``allow_zero``); ints stay ints so configs read back
    as written, and Keras allows fractional counts, so finite floats are taken too."""
    allowed = "a number of steps >= 0" if allow_zero else "a number of steps > 0"
    checked = number(owner, name, value, allowed)
    if checked < 0 or (checked == 0 and not allow_zero):
        raise _fail(owner, name, value, allowed)
    return value


def at_least(owner, name: str, value, low: float, above: bool = False) -> float:
    """A finite number >= ``low`` (> ``low`` with ``above``)."""
    allowed = f"a finite number {'>' if above else '>='} {low:g}"
    checked = number(owner, name, value, allowed)
    if checked < low or (above and checked == low):
        raise _fail(owner, name, value, allowed)
    return checked


def flag(owner, name: str, value) -> bool:
    if not isinstance(value, bool):
        raise _fail(owner, name, value, "true or false")
    return value
