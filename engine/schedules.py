"""Learning-rate schedules by Keras name (``keras.optimizers.schedules``).

A schedule maps the optimizer's step counter (``optimizer.iterations``, the number of
batches trained so far) to a learning rate; give one as an optimizer's ``learning_rate``.
Schedules are evaluated on the host in plain Python floats: one number per step.

Project files name a schedule by a dict, ``{"name": "cosine_decay",
"initial_learning_rate": 0.01, "decay_steps": 1000}``; :func:`get` builds it and
``get_config`` gives that dict back.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, ClassVar

__all__ = [
    "LearningRateSchedule",
    "ExponentialDecay",
    "PiecewiseConstantDecay",
    "StepDecay",
    "CosineDecay",
    "InverseTimeDecay",
    "get",
    "SCHEDULE_NAMES",
]


class LearningRateSchedule:
    """Base class: ``schedule(step) -> float``."""

    # The name used in configs and project files ("exponential_decay", ...).
    config_name: ClassVar[str] = ""

    def __call__(self, step: int) -> float:
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
        """``{"name": <config name>, **arguments}``; :func:`get` turns it back."""
        raise NotImplementedError

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> LearningRateSchedule:
        config = {k: v for k, v in config.items() if k != "name"}
        return cls(**config)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items() if k != "name")
        return f"{type(self).__name__}({args})"


def _positive(name: str, value) -> None:
    if value <= 0:
        raise ValueError(f"{name} must be > 0, got {value}")


class _RateDecay(LearningRateSchedule):
    """Shared by the decays that follow ``step / decay_steps`` (floored with ``staircase``)."""

    def __init__(
        self,
        initial_learning_rate: float,
        decay_steps: int,
        decay_rate: float,
        staircase: bool = False,
    ):
        _positive("decay_steps", decay_steps)
        self.initial_learning_rate = float(initial_learning_rate)
        self.decay_steps = decay_steps
        self.decay_rate = float(decay_rate)
        self.staircase = bool(staircase)

    def _progress(self, step: int) -> float:
        p = float(step) / self.decay_steps
        return math.floor(p) if self.staircase else p

    def get_config(self) -> dict[str, Any]:
        return {
            "name": self.config_name,
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "decay_rate": self.decay_rate,
            "staircase": self.staircase,
        }


class ExponentialDecay(_RateDecay):
    """``initial_learning_rate * decay_rate ** (step / decay_steps)``; with ``staircase``
    the exponent is floored, so the rate drops by ``decay_rate`` every ``decay_steps``."""

    config_name = "exponential_decay"

    def __call__(self, step: int) -> float:
        p = self._progress(step)
        return self.initial_learning_rate * self.decay_rate**p


class PiecewiseConstantDecay(LearningRateSchedule):
    """``values[0]`` while ``step <= boundaries[0]``, ``values[1]`` while
    ``boundaries[0] < step <= boundaries[1]``, ..., ``values[-1]`` after the last boundary."""

    config_name = "piecewise_constant_decay"

    def __init__(self, boundaries: Sequence[int], values: Sequence[float]):
        if len(values) != len(boundaries) + 1:
            raise ValueError(
                f"PiecewiseConstantDecay needs one more value than boundaries, got "
                f"{len(boundaries)} boundaries and {len(values)} values"
            )
        if any(later <= earlier for earlier, later in zip(boundaries, boundaries[1:])):
            raise ValueError(f"boundaries must increase, got {list(boundaries)}")
        self.boundaries = list(boundaries)
        self.values = [float(v) for v in values]

    def __call__(self, step: int) -> float:
        for boundary, value in zip(self.boundaries, self.values):
            if step <= boundary:
                return value
        return self.values[-1]

    def get_config(self) -> dict[str, Any]:
        return {"name": self.config_name, "boundaries": self.boundaries, "values": self.values}


class StepDecay(LearningRateSchedule):
    """Step decay: ``initial_learning_rate * gamma ** floor(step / step_size)`` — the rate is
    multiplied by ``gamma`` every ``step_size`` steps (PyTorch's ``StepLR``, counted in
    optimizer steps). Equivalent to ``ExponentialDecay(lr, step_size, gamma, staircase=True)``.
    """

    config_name = "step_decay"

    def __init__(self, initial_learning_rate: float, step_size: int, gamma: float = 0.1):
        _positive("step_size", step_size)
        self.initial_learning_rate = float(initial_learning_rate)
        self.step_size = step_size
        self.gamma = float(gamma)

    def __call__(self, step: int) -> float:
        return self.initial_learning_rate * self.gamma ** (int(step) // self.step_size)

    def get_config(self) -> dict[str, Any]:
        return {
            "name": self.config_name,
            "initial_learning_rate": self.initial_learning_rate,
            "step_size": self.step_size,
            "gamma": self.gamma,
        }


class CosineDecay(LearningRateSchedule):
    """Cosine decay with an optional linear warmup (Keras's semantics).

    Without ``warmup_target`` the rate decays from ``initial_learning_rate`` to
    ``initial_learning_rate * alpha`` over ``decay_steps`` along half a cosine, then stays.
    With ``warmup_target`` it first rises linearly from ``initial_learning_rate`` to
    ``warmup_target`` over ``warmup_steps``, then decays from ``warmup_target`` to
    ``warmup_target * alpha`` over the next ``decay_steps``.
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
        _positive("decay_steps", decay_steps)
        if warmup_steps < 0:
            raise ValueError(f"warmup_steps must be >= 0, got {warmup_steps}")
        self.initial_learning_rate = float(initial_learning_rate)
        self.decay_steps = decay_steps
        self.alpha = float(alpha)
        self.warmup_target = None if warmup_target is None else float(warmup_target)
        self.warmup_steps = warmup_steps

    def _decay(self, step: float, start: float) -> float:
        cosine = 0.5 * (1.0 + math.cos(math.pi * step / self.decay_steps))
        return start * ((1.0 - self.alpha) * cosine + self.alpha)

    def __call__(self, step: int) -> float:
        step = float(step)
        if self.warmup_target is None:
            return self._decay(min(step, self.decay_steps), self.initial_learning_rate)
        step = min(step, self.decay_steps + self.warmup_steps)
        if step < self.warmup_steps:
            fraction = step / self.warmup_steps
            delta = self.warmup_target - self.initial_learning_rate
            return self.initial_learning_rate + delta * fraction
        return self._decay(step - self.warmup_steps, self.warmup_target)

    def get_config(self) -> dict[str, Any]:
        return {
            "name": self.config_name,
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "alpha": self.alpha,
            "warmup_target": self.warmup_target,
            "warmup_steps": self.warmup_steps,
        }


class InverseTimeDecay(_RateDecay):
    """``initial_learning_rate / (1 + decay_rate * step / decay_steps)`` (floored ratio with
    ``staircase``)."""

    config_name = "inverse_time_decay"

    def __call__(self, step: int) -> float:
        p = self._progress(step)
        return self.initial_learning_rate / (1.0 + self.decay_rate * p)


_SCHEDULES: dict[str, type[LearningRateSchedule]] = {
    cls.config_name: cls
    for cls in (ExponentialDecay, PiecewiseConstantDecay, StepDecay, CosineDecay, InverseTimeDecay)
}
SCHEDULE_NAMES: tuple[str, ...] = tuple(_SCHEDULES)
# Keras class names are accepted too ("CosineDecay").
_ALIASES = {cls.__name__.lower(): name for name, cls in _SCHEDULES.items()}


def get(identifier) -> LearningRateSchedule:
    """A schedule from a config dict ``{"name": "cosine_decay", ...}`` (or Keras's
    ``{"class_name": "CosineDecay", "config": {...}}``), or a schedule instance."""
    if isinstance(identifier, LearningRateSchedule):
        return identifier
    if not isinstance(identifier, dict):
        raise ValueError(
            f"cannot interpret {identifier!r} as a learning-rate schedule: give a dict such "
            f'as {{"name": "cosine_decay", "initial_learning_rate": 0.01, "decay_steps": 1000}}'
        )
    config = dict(identifier)
    if "class_name" in config:
        name = str(config.pop("class_name"))
        config = dict(config.get("config", {}))
        config.pop("name", None)
    else:
        name = str(config.pop("name", ""))
    key = name.lower()
    cls = _SCHEDULES.get(key) or _SCHEDULES.get(_ALIASES.get(key, ""))
    if cls is None:
        raise ValueError(
            f"unknown learning-rate schedule {name!r}; choose one of {', '.join(SCHEDULE_NAMES)}"
        )
    try:
        return cls(**config)
    except TypeError as exc:
        raise ValueError(f"bad options for schedule {name!r}: {exc}") from None
