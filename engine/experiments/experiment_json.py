"""Checking a parsed ``experiment.json`` (see :mod:`engine.experiments.experiment`).

Every key is checked for its type and range; a problem raises :class:`SweepError` naming
the file, the key path and what is wrong, so a damaged record never half-loads.
"""

from __future__ import annotations

import math
from typing import Any

from engine.experiments.errors import SweepError

__all__ = ["read_experiment"]


def read_experiment(cls, trial_cls, data: Any, where: str):
    from engine.experiments.experiment import (  # noqa: PLC0415
        EXPERIMENT_FORMAT,
        EXPERIMENT_STATUSES,
        EXPERIMENT_VERSION,
        TRIAL_STATUSES,
    )
    from engine.experiments.plan import STRATEGIES  # noqa: PLC0415

    def bad(key: str, problem: str) -> SweepError:
        return SweepError(f"{where}: {key}: {problem}")

    if not isinstance(data, dict) or data.get("format") != EXPERIMENT_FORMAT:
        raise SweepError(f"{where}: not a LayerCanvas experiment record")
    version = data.get("version")
    if not _is_int(version) or version < 1:
        raise bad("version", f"must be a whole number from 1, got {version!r}")
    if version > EXPERIMENT_VERSION:
        raise bad(
            "version",
            f"{version} was written by a newer LayerCanvas (this one reads up to "
            f"{EXPERIMENT_VERSION}); update LayerCanvas to open it",
        )

    def get(source: dict, key: str, check, default=None, required=False, prefix=""):
        if key not in source:
            if required:
                raise bad(prefix + key, "is missing")
            return default
        value = source[key]
        problem = check(value)
        if problem:
            raise bad(prefix + key, f"{problem}, got {value!r}")
        return value

    text = _kind(str, "must be text")
    strategy = get(data, "strategy", _choice(STRATEGIES), "grid")
    status = get(data, "status", _choice(EXPERIMENT_STATUSES), "pending")
    params = get(data, "params", _kind(list, "must be a list"), required=True)
    for i, param in enumerate(params):
        key = f"params[{i}]"
        if not isinstance(param, dict):
            raise bad(key, "must be an object")
        get(param, "name", text, required=True, prefix=key + ".")
        get(param, "spec", text, "", prefix=key + ".")
        get(param, "values", _kind(list, "must be a list"), required=True, prefix=key + ".")
    trials_data = get(data, "trials", _kind(list, "must be a list"), [])
    trials = []
    seen = set()
    for i, item in enumerate(trials_data):
        key = f"trials[{i}]."
        if not isinstance(item, dict):
            raise bad(f"trials[{i}]", "must be an object")
        trial_id = get(item, "id", text, required=True, prefix=key)
        if trial_id in seen:
            raise bad(key + "id", f"{trial_id!r} is used twice")
        seen.add(trial_id)
        metric = get(item, "metric", _optional(_number), None, prefix=key)
        trials.append(
            trial_cls(
                id=trial_id,
                values=dict(get(item, "values", _kind(dict, "must be an object"), {}, prefix=key)),
                status=get(item, "status", _choice(TRIAL_STATUSES), "pending", prefix=key),
                run_id=get(item, "run_id", _optional(_kind(str, "must be text")), None, prefix=key),
                metric=None if metric is None else float(metric),
                rung=get(item, "rung", _whole(0), 0, prefix=key),
                epochs=get(item, "epochs", _optional(_whole(1)), None, prefix=key),
                parent=get(item, "parent", _optional(_kind(str, "must be text")), None, prefix=key),
                error=get(item, "error", _optional(_kind(str, "must be text")), None, prefix=key),
                earlier_runs=list(
                    get(item, "earlier_runs", _kind(list, "must be a list"), [], prefix=key)
                ),
            )
        )
    for trial in trials:
        if trial.parent is not None and trial.parent not in seen:
            raise bad("trials", f"trial {trial.id} continues {trial.parent!r}, which is not here")
    return cls(
        id=get(data, "id", text, required=True),
        name=get(data, "name", text, ""),
        created=get(data, "created", text, ""),
        params=[dict(p) for p in params],
        strategy=strategy,
        metric=get(data, "metric", text, "val_loss"),
        mode=get(data, "mode", _choice(("max", "min")), "min"),
        epochs=get(data, "epochs", _whole(1), required=True),
        trials=trials,
        trials_requested=get(data, "trials_requested", _optional(_whole(1)), None),
        seed=get(data, "seed", _whole(0), 0),
        parallel=get(data, "parallel", _whole(1), 1),
        status=status,
        source=get(data, "source", text, "app"),
        runner=get(data, "runner", _optional(_kind(dict, "must be an object")), None),
    )


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _kind(kind, problem: str):
    return lambda value: (
        None if isinstance(value, kind) and not isinstance(value, bool) else problem
    )


def _choice(choices):
    return lambda value: None if value in choices else f"must be one of {', '.join(choices)}"


def _whole(low: int):
    def check(value):
        return None if _is_int(value) and value >= low else f"must be a whole number >= {low}"

    return check


def _number(value):
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return None
    return "must be a finite number"


def _optional(check):
    return lambda value: None if value is None else check(value)
