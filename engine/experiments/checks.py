"""Checking sweep values before anything starts (used by :func:`resolve_params`).

Each function takes the parsed values of one parameter and returns them in canonical JSON
form (ints for integer settings, canonical optimizer and schedule names), or raises
:class:`SweepError` naming the parameter and the value. :func:`check_value_in_project`
then applies each value to the project and refuses one that adds an error to its check.
"""

from __future__ import annotations

import math
from typing import Any

from engine.experiments.errors import SweepError

__all__ = [
    "check_value_in_project",
    "node_values",
    "optimizer_arg_values",
    "training_values",
]


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _ints(name: str, param, low: int = 1) -> list[int]:
    """Whole numbers >= ``low``; a range's values are rounded (and repeats dropped)."""
    out: list[int] = []
    for value in param.values:
        if not _is_number(value):
            raise SweepError(f"parameter {name}: {value!r} is not a whole number")
        if isinstance(value, float) and not value.is_integer():
            if not param.is_range:
                raise SweepError(f"parameter {name}: {value!r} is not a whole number")
            value = round(value)
        value = int(value)
        if value < low:
            raise SweepError(f"parameter {name}: {value} is below {low}")
        if value not in out:
            out.append(value)
    return out


def training_values(name: str, param, project_json: dict) -> list[Any]:
    """``learning_rate``, ``batch_size``, ``epochs``, ``optimizer`` or ``schedule``."""
    if name == "learning_rate":
        for value in param.values:
            if not _is_number(value) or not math.isfinite(value) or value <= 0:
                raise SweepError(
                    f"parameter learning_rate: {value!r} is not a usable learning rate "
                    "(a number > 0)"
                )
        return [float(v) for v in param.values]
    if name in ("batch_size", "epochs"):
        return _ints(name, param)
    if name == "optimizer":
        from engine.optimizers import OPTIMIZER_NAMES  # noqa: PLC0415

        out = []
        for value in param.values:
            key = str(value).lower()
            if not isinstance(value, str) or key not in OPTIMIZER_NAMES:
                raise SweepError(
                    f"parameter optimizer: unknown optimizer {value!r}; choose from "
                    f"{', '.join(OPTIMIZER_NAMES)}"
                )
            out.append(key)
        return out
    # schedule
    from engine.experiments.apply import schedule_name  # noqa: PLC0415

    out = []
    for value in param.values:
        canonical = schedule_name(value) if isinstance(value, str) else None
        if canonical is None:
            from engine.schedules import SCHEDULE_NAMES  # noqa: PLC0415

            raise SweepError(
                f"parameter schedule: unknown schedule {value!r}; choose from none, "
                f"{', '.join(SCHEDULE_NAMES)}"
            )
        out.append(canonical)
    return out


def optimizer_arg_values(arg: str, param, project_json: dict) -> list[Any]:
    """``optimizer.<arg>``: an argument the project's optimizer takes (checked per value when
    the optimizer is built in :func:`check_value_in_project`)."""
    from engine.experiments.apply import optimizer_dict  # noqa: PLC0415
    from engine.optimizers import available  # noqa: PLC0415

    if arg in ("learning_rate", "name"):
        instead = "optimizer" if arg == "name" else "learning_rate"
        raise SweepError(f"parameter optimizer.{arg}: sweep it as '{instead}'")
    config = optimizer_dict(project_json.get("training", {}))
    cls = available().get(str(config.get("name", "adam")).lower())
    takes = list(cls().get_config()) if cls is not None else []
    if arg not in takes:
        raise SweepError(
            f"parameter optimizer.{arg}: the optimizer {config.get('name')!r} has no argument "
            f"'{arg}' (it takes {', '.join(k for k in takes if k != 'name')})"
        )
    for value in param.values:
        if isinstance(value, str):
            raise SweepError(f"parameter optimizer.{arg}: {value!r} is not a number")
    return list(param.values)


def node_values(name: str, layer_type: str, spec, param) -> list[Any]:
    """A node parameter's values, checked against its schema entry ``spec`` (a ``Param``)."""
    from engine.layers.schema import ParameterError  # noqa: PLC0415

    values = param.values
    if spec.kind in ("int", "int_tuple"):
        values = _ints(name, param, low=-(2**62))
    out = []
    for value in values:
        if isinstance(value, str) and value.lower() in ("none", "null") and spec.nullable:
            value = None
        try:
            spec.coerce(layer_type, value)
        except ParameterError as err:
            raise SweepError(f"parameter {name}: {err.message}") from None
        if spec.kind == "float" and value is not None:
            value = float(value)
        out.append(value)
    return out


def check_value_in_project(project_json: dict, param, value: Any, every: list) -> None:
    """Apply ``param=value`` to the project and refuse it when the project's check (graph
    and training settings, including building the optimizer and schedule) finds an error
    the project did not have."""
    from engine.experiments.apply import apply_values  # noqa: PLC0415

    before = _errors(project_json)
    optimizers = next((p.values for p in every if p.name == "optimizer"), None)
    trial_optimizers = optimizers if param.name.startswith("optimizer.") and optimizers else [None]
    for optimizer in trial_optimizers:
        values = {param.name: value}
        if optimizer is not None:
            values["optimizer"] = optimizer
        try:
            applied = apply_values(project_json, values)
        except SweepError as err:
            raise SweepError(f"parameter {param.name}={value!r}: {err}") from None
        new = [e for e in _errors(applied) if e not in before]
        if new:
            where = f" with optimizer {optimizer}" if optimizer else ""
            raise SweepError(f"parameter {param.name}={_shown(value)}{where}: {new[0]}")


def _shown(value: Any) -> str:
    return "none" if value is None else str(value)


def _errors(project_json: dict) -> list[str]:
    """The project's errors as text (structure, graph and settings, optimizer and
    schedule as they would be built)."""
    from engine.graph.project import Project, ProjectError  # noqa: PLC0415

    try:
        project = Project.from_json(project_json)
    except ProjectError as err:
        return [str(err)]
    found = [f"{d.key}: {d.text()}" if d.key else d.text() for d in project.check().errors]
    found += _optimizer_errors(project.training)
    return found


def _optimizer_errors(training: dict) -> list[str]:
    from engine import optimizers, schedules  # noqa: PLC0415
    from engine.experiments.apply import optimizer_dict  # noqa: PLC0415

    config = optimizer_dict(training)
    try:
        if training.get("schedule") is not None:
            config["learning_rate"] = schedules.get(dict(training["schedule"]))
        optimizers.get(config)
    except (ValueError, TypeError, KeyError) as err:
        return [f"training.optimizer: {err}"]
    return []
