"""Applying a trial's values to a project: for each trial, and for "Apply best".

:func:`apply_values` returns a new project JSON with the values set; :func:`changes_for`
says what changed (the new ``training`` object, each changed node's new ``params``) so the
app can make it one undo step. Values are keyed by canonical names (see
:mod:`engine.experiments.params`).

How the training settings interact:

* ``optimizer`` switches the optimizer, keeping the learning rate (or schedule) and the
  arguments the new optimizer also takes (``clipnorm``, ``weight_decay``, ...);
* ``schedule`` ``none`` removes the schedule (the rate becomes its starting rate); a name
  keeps the project's schedule when it is already that one, else starts one with its
  required arguments seeded from the planned run, as the app's schedule box does (decay
  steps = all the run's steps, counted from the dataset's training samples and the batch
  size; a step decay every epoch; the starting rate = the current rate). The schedule
  stays where the project keeps it (``training.schedule`` or the optimizer's
  ``learning_rate``);
* ``learning_rate`` sets the schedule's starting rate when a schedule is in use, else the
  optimizer's rate.
"""

from __future__ import annotations

import copy
import functools
import inspect
import json
import math
import os
from pathlib import Path
from typing import Any

from engine.experiments.errors import SweepError

__all__ = [
    "DEFAULT_STEPS_PER_EPOCH",
    "apply_values",
    "changes_for",
    "optimizer_dict",
    "schedule_name",
    "train_samples_of",
]

#: Steps per epoch assumed for a new schedule's step counts while the data size is unknown.
DEFAULT_STEPS_PER_EPOCH = 100
_RATE_KEYS = ("initial_learning_rate", "max_learning_rate", "warmup_target")
_DEFAULT_OPTIMIZER = {"name": "adam", "learning_rate": 0.001}


def optimizer_dict(training: dict) -> dict[str, Any]:
    """``training.optimizer`` as a dict (a bare name ``"adam"`` becomes ``{"name": "adam"}``)."""
    config = training.get("optimizer", _DEFAULT_OPTIMIZER)
    if isinstance(config, str):
        return {"name": config}
    return copy.deepcopy(config) if isinstance(config, dict) else dict(_DEFAULT_OPTIMIZER)


def schedule_name(name: str) -> str | None:
    """The canonical schedule name (``"CosineDecay"`` -> ``"cosine_decay"``), ``"none"``, or
    ``None`` when ``name`` is not a schedule."""
    from engine import schedules  # noqa: PLC0415

    if name.lower() in ("none", "constant"):
        return "none"
    try:
        return schedules._class_for(name).config_name  # noqa: SLF001 - the one name lookup
    except ValueError:
        return None


def apply_values(
    project_json: dict,
    values: dict[str, Any],
    *,
    train_samples: int | None = None,
    base_dir: str | os.PathLike | None = None,
) -> dict:
    """A copy of ``project_json`` with ``values`` applied (see the module docstring).

    ``train_samples`` sizes a new schedule's steps; without it they are counted from the
    project's dataset (relative file paths start at ``base_dir``, the project's folder),
    and when that cannot be loaded an epoch counts :data:`DEFAULT_STEPS_PER_EPOCH` steps."""
    if train_samples is None and values.get("schedule") not in (None, "none"):
        train_samples = train_samples_of(project_json, base_dir)
    project = copy.deepcopy(project_json)
    training = project.setdefault("training", {})
    if not isinstance(training, dict):
        raise SweepError("the project's training settings are not an object")
    nodes = {n.get("id"): n for n in project.get("graph", {}).get("nodes", [])}
    node_values: dict[str, Any] = {}
    for name, value in values.items():
        if name == "optimizer":
            _set_optimizer(training, value)
        elif name.startswith("optimizer."):
            pass  # after the optimizer is chosen, below
        elif name in ("batch_size", "epochs"):
            training[name] = int(value)
        elif name not in ("learning_rate", "schedule"):
            node_values[name] = value
    for name, value in values.items():
        if name.startswith("optimizer."):
            config = optimizer_dict(training)
            config[name.partition(".")[2]] = value
            training["optimizer"] = config
    if "schedule" in values:
        _set_schedule(training, values["schedule"], train_samples)
    if "learning_rate" in values:
        _set_rate(training, float(values["learning_rate"]))
    for name, value in node_values.items():
        node_id, _, key = name.rpartition(".")
        node = nodes.get(node_id)
        if not node_id or node is None:
            raise SweepError(f"parameter {name}: the project has no node {node_id!r}")
        params = node.setdefault("params", {})
        params[key] = copy.deepcopy(value)
    return project


def changes_for(
    project_json: dict,
    values: dict[str, Any],
    *,
    train_samples: int | None = None,
    base_dir: str | os.PathLike | None = None,
) -> dict[str, Any]:
    """``{"training": new training dict or None when unchanged, "nodes": {node id: new
    params}}`` (only the nodes whose params change); arguments as :func:`apply_values`."""
    applied = apply_values(project_json, values, train_samples=train_samples, base_dir=base_dir)
    old_training = project_json.get("training", {})
    new_training = applied.get("training", {})
    old_nodes = {n.get("id"): n for n in project_json.get("graph", {}).get("nodes", [])}
    nodes = {}
    for node in applied.get("graph", {}).get("nodes", []):
        before = old_nodes.get(node.get("id"), {}).get("params", {})
        if node.get("params", {}) != before:
            nodes[node["id"]] = copy.deepcopy(node["params"])
    return {
        "training": None if new_training == old_training else copy.deepcopy(new_training),
        "nodes": nodes,
    }


def train_samples_of(project_json: dict, base_dir: str | os.PathLike | None = None) -> int | None:
    """Training samples of the project's dataset after its split, or None when it cannot
    be loaded (the run itself will say why). Counted once per dataset setting."""
    dataset = project_json.get("dataset")
    if not isinstance(dataset, dict) or not dataset:
        return None
    split = (project_json.get("training") or {}).get("validation_split")
    folder = str(Path(base_dir).resolve()) if base_dir is not None else None
    return _count_samples(json.dumps(dataset, sort_keys=True), json.dumps(split), folder)


@functools.lru_cache(maxsize=16)
def _count_samples(dataset: str, split: str, folder: str | None) -> int | None:
    from engine import data  # noqa: PLC0415

    fraction = json.loads(split)
    overrides = {} if fraction is None else {"validation_split": float(fraction)}
    try:
        loaded = data.load_dataset(json.loads(dataset), folder)
        return len(data.prepare(loaded, **overrides).train)
    except (data.DataError, OSError, ValueError, TypeError, KeyError):
        return None


# -- the training settings --------------------------------------------------------------------


def _set_optimizer(training: dict, name: str) -> None:
    from engine.optimizers import available  # noqa: PLC0415

    old = optimizer_dict(training)
    cls = available().get(str(name).lower())
    if cls is None:
        raise SweepError(f"unknown optimizer {name!r}")
    if str(old.get("name", "")).lower() == cls.type_name:
        return
    takes = set(cls().get_config())
    new = {"name": cls.type_name}
    if "learning_rate" in old:
        new["learning_rate"] = old["learning_rate"]
    new.update({k: v for k, v in old.items() if k in takes and k not in new})
    training["optimizer"] = new


def _current_schedule(training: dict) -> tuple[str | None, dict | None]:
    """Where the schedule lives (``"training"``, ``"optimizer"`` or None) and its config."""
    if isinstance(training.get("schedule"), dict):
        return "training", training["schedule"]
    optimizer = training.get("optimizer")
    rate = optimizer.get("learning_rate") if isinstance(optimizer, dict) else None
    if isinstance(rate, dict):
        return "optimizer", rate  # the object itself: callers change it in place
    return None, None


def _starting_rate(training: dict) -> float:
    _, schedule = _current_schedule(training)
    if schedule is not None:
        for key in _RATE_KEYS:
            value = schedule.get(key)
            if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
                return float(value)
    rate = optimizer_dict(training).get("learning_rate")
    if isinstance(rate, int | float) and not isinstance(rate, bool):
        return float(rate)
    return float(_DEFAULT_OPTIMIZER["learning_rate"])


def _set_rate(training: dict, rate: float) -> None:
    _, schedule = _current_schedule(training)
    if schedule is not None:
        key = next((k for k in _RATE_KEYS[:2] if k in schedule), None)
        if key is not None:
            schedule[key] = rate
            return
    # No schedule, or one without a starting rate (piecewise): the optimizer's rate.
    config = optimizer_dict(training)
    config["learning_rate"] = rate
    training["optimizer"] = config


def _set_schedule(training: dict, name: str, train_samples: int | None) -> None:
    from engine import schedules  # noqa: PLC0415

    canonical = schedule_name(str(name))
    if canonical is None:
        raise SweepError(f"unknown schedule {name!r}")
    where, old = _current_schedule(training)
    if canonical == "none":
        if where is None:
            return
        rate = _starting_rate(training)
        training.pop("schedule", None)
        config = optimizer_dict(training)
        config["learning_rate"] = rate
        training["optimizer"] = config
        return
    if old is not None and schedule_name(str(old.get("name", ""))) == canonical:
        return
    cls = schedules.available()[canonical]
    parameters = inspect.signature(cls).parameters
    config = {"name": canonical, **_seeds(cls, training, train_samples)}
    for key, value in (old or {}).items():
        if key != "name" and key in parameters and key not in config:
            config[key] = value
    if where == "training":
        training["schedule"] = config
    else:
        optimizer = optimizer_dict(training)
        optimizer["learning_rate"] = config
        training["optimizer"] = optimizer


def _seeds(cls, training: dict, train_samples: int | None) -> dict[str, Any]:
    """Required arguments of a new schedule, from the planned run (as the app's form)."""
    batch = int(training.get("batch_size") or 32)
    per_epoch = (
        max(1, math.ceil(train_samples / batch)) if train_samples else DEFAULT_STEPS_PER_EPOCH
    )
    if training.get("steps_per_epoch"):
        per_epoch = min(per_epoch, int(training["steps_per_epoch"]))
    total = max(1, int(training.get("epochs") or 10) * per_epoch)
    rate = _starting_rate(training)
    seeds: dict[str, Any] = {}
    for p in inspect.signature(cls).parameters.values():
        if p.default is not inspect.Parameter.empty or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        annotation = str(p.annotation)
        if annotation == "int":
            seeds[p.name] = per_epoch if p.name == "step_size" else total
        elif "Sequence" in annotation:
            seeds[p.name] = [total // 2] if "bound" in p.name else [rate, rate / 10]
        elif p.name.startswith("max"):
            seeds[p.name] = rate * 10
        elif "rate" in p.name and "learning" not in p.name:
            seeds[p.name] = 0.5  # a decay factor
        else:
            seeds[p.name] = rate
    return seeds
