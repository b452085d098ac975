"""Learning-rate schedules by Keras name (``keras.optimizers.schedules``), plus OneCycle.

A schedule maps the optimizer's step counter (``optimizer.iterations``, the number of
batches trained so far) to a learning rate; give one as an optimizer's ``learning_rate``.
Schedules are evaluated on the host in plain Python floats: one number per step.

Project files name a schedule by a dict, ``{"name": "cosine_decay",
"initial_learning_rate": 0.01, "decay_steps": 1000}`` (under ``training.schedule``, or as
``training.optimizer.learning_rate``); :func:`get` builds it and ``get_config`` gives that
dict back. :func:`available` lists the names, :func:`preview` draws a curve without a model.

Every schedule takes ``warmup_target`` and ``warmup_steps`` (a linear warmup, then the
schedule counted from the warmup's end; see :mod:`engine.schedules.base`).
"""

from __future__ import annotations

import inspect

import numpy as np

from engine.schedules.base import LearningRateSchedule
from engine.schedules.cosine import CosineDecay, CosineDecayRestarts
from engine.schedules.decays import (
    ExponentialDecay,
    InverseTimeDecay,
    PiecewiseConstantDecay,
    PolynomialDecay,
    StepDecay,
)
from engine.schedules.one_cycle import OneCycle

__all__ = [
    "LearningRateSchedule",
    "ExponentialDecay",
    "PiecewiseConstantDecay",
    "StepDecay",
    "CosineDecay",
    "InverseTimeDecay",
    "PolynomialDecay",
    "CosineDecayRestarts",
    "OneCycle",
    "available",
    "get",
    "preview",
    "SCHEDULE_NAMES",
]

_SCHEDULES: dict[str, type[LearningRateSchedule]] = {
    cls.config_name: cls
    for cls in (
        ExponentialDecay,
        PiecewiseConstantDecay,
        StepDecay,
        CosineDecay,
        InverseTimeDecay,
        PolynomialDecay,
        CosineDecayRestarts,
        OneCycle,
    )
}
SCHEDULE_NAMES: tuple[str, ...] = tuple(_SCHEDULES)
# Keras class names are accepted too ("CosineDecay"), and PyTorch's "OneCycleLR".
_ALIASES = {cls.__name__.lower(): name for name, cls in _SCHEDULES.items()}
_ALIASES["onecyclelr"] = "one_cycle"


def available() -> dict[str, type[LearningRateSchedule]]:
    """``{config name: class}`` for every schedule, in a stable order. A class's arguments
    and defaults are ``inspect.signature(cls)``; every one ends with ``warmup_target`` and
    ``warmup_steps``."""
    return dict(_SCHEDULES)


def _class_for(name: str) -> type[LearningRateSchedule]:
    key = name.lower()
    cls = _SCHEDULES.get(key) or _SCHEDULES.get(_ALIASES.get(key, ""))
    if cls is None:
        raise ValueError(
            f"unknown learning-rate schedule {name!r}; choose one of {', '.join(SCHEDULE_NAMES)}"
        )
    return cls


def _required(cls: type[LearningRateSchedule]) -> list[str]:
    return [
        p.name
        for p in inspect.signature(cls).parameters.values()
        if p.default is inspect.Parameter.empty
        and p.kind not in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    ]


def get(identifier) -> LearningRateSchedule:
    """A schedule from a config dict ``{"name": "cosine_decay", ...}`` (or Keras's
    ``{"class_name": "CosineDecay", "config": {...}}``), or a schedule instance.

    A bare name (``"polynomial_decay"``) is known but cannot be built without its
    arguments: the ValueError says which ones it needs."""
    if isinstance(identifier, LearningRateSchedule):
        return identifier
    if isinstance(identifier, str):
        cls = _class_for(identifier)
        needed = _required(cls)
        example = ", ".join(f'"{n}": ...' for n in needed)
        raise ValueError(
            f"the learning-rate schedule {identifier!r} needs its arguments "
            f"({', '.join(needed)}): give a dict such as "
            f'{{"name": "{cls.config_name}", {example}}}'
        )
    if not isinstance(identifier, dict):
        raise ValueError(
            f"cannot interpret {identifier!r} as a learning-rate schedule: give a dict such "
            f'as {{"name": "cosine_decay", "initial_learning_rate": 0.01, "decay_steps": 1000}}'
        )
    config = dict(identifier)
    if "class_name" in config:
        name = config.pop("class_name")
        config = config.get("config", {})
        if not isinstance(config, dict):
            raise ValueError(f"the schedule's 'config' must be an object, got {config!r}")
        config = dict(config)
        config.pop("name", None)  # Keras's own scope name ("SGDRDecay"), not ours
    else:
        name = config.pop("name", None)
    if not isinstance(name, str):
        raise ValueError(
            f"a learning-rate schedule needs a 'name' such as 'cosine_decay', got {name!r}; "
            f"choose one of {', '.join(SCHEDULE_NAMES)}"
        )
    cls = _class_for(name)
    parameters = inspect.signature(cls).parameters
    unknown = [k for k in config if k not in parameters]
    missing = [n for n in _required(cls) if n not in config]
    if unknown or missing:
        problems = []
        if missing:
            problems.append(f"missing {', '.join(missing)}")
        if unknown:
            problems.append(f"unknown {', '.join(map(str, unknown))}")
        raise ValueError(
            f"bad options for schedule {name!r}: {'; '.join(problems)} (it takes "
            f"{', '.join(parameters)})"
        )
    return cls(**config)


def preview(schedule, steps: int) -> np.ndarray:
    """The learning rate at steps ``0 .. steps - 1`` as a float64 array, from a schedule, its
    config dict, or a plain number (a constant rate). Needs no model or optimizer: the app
    draws it before training starts."""
    if isinstance(steps, bool) or not isinstance(steps, int | np.integer) or steps < 0:
        raise ValueError(f"steps must be a whole number >= 0, got {steps!r}")
    if isinstance(schedule, int | float | np.number) and not isinstance(schedule, bool):
        value = float(schedule)
        if not value >= 0 or value == float("inf"):
            raise ValueError(f"learning_rate must be a finite number >= 0, got {schedule!r}")
        return np.full(int(steps), value, dtype=np.float64)
    schedule = get(schedule)
    return np.fromiter((schedule(step) for step in range(int(steps))), np.float64, int(steps))
