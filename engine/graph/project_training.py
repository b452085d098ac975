"""The ``training`` object of a project file: its structure when loading, its names when
checking.

:func:`check_training` runs while a file is read and raises :class:`ProjectError` for a value
of the wrong type or range (so a file with ``"epochs": "ten"`` does not open half-read);
:func:`check_training_names` runs in :meth:`Project.check` and turns unknown loss, optimizer,
metric, schedule and callback names into diagnostics, asking the engine's own registries.
"""

from __future__ import annotations

import importlib
from typing import Any

from engine.graph.compiler import CheckResult
from engine.graph.diagnostics import ERROR, WARNING, Diagnostic
from engine.graph.project_json import ProjectError, join_key

__all__ = [
    "CALLBACKS",
    "TRAINING_KEYS",
    "check_training",
    "check_training_names",
    "is_loss_config",
]

TRAINING_KEYS = (
    "loss",
    "optimizer",
    "schedule",
    "metrics",
    "batch_size",
    "epochs",
    "validation_split",
    "callbacks",
    "seed",
    "shuffle",
    "class_weight",
    "validation_freq",
    "initial_epoch",
    "steps_per_epoch",
)

#: Callback names a project may use (``training.callbacks``) -> engine.callbacks class name.
CALLBACKS = {
    "early_stopping": "EarlyStopping",
    "reduce_lr_on_plateau": "ReduceLROnPlateau",
}


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value == value


def is_loss_config(loss: Any, outputs=()) -> bool:
    """``{"name": "huber", "delta": 2.0}``: one loss with its arguments, not a map from
    output ids to losses (``model.compile``'s rule: a "name", and not every key an output)."""
    return (
        isinstance(loss, dict)
        and isinstance(loss.get("name"), str)
        and not set(loss) <= set(outputs)
    )


def check_training(training: Any, file: str | None) -> None:
    """Types and ranges of the training settings (their names are checked by ``check``)."""

    def fail(key: str, problem: str) -> ProjectError:
        return ProjectError(file, join_key("training", key), problem)

    if not isinstance(training, dict):
        raise fail("", "expected an object with loss, optimizer, epochs, ...")
    loss = training.get("loss")
    loss_ok = (
        loss is None
        or isinstance(loss, str)
        or is_loss_config(loss)
        or (
            isinstance(loss, dict)
            and all(
                isinstance(k, str) and (isinstance(v, str) or is_loss_config(v))
                for k, v in loss.items()
            )
        )
    )
    if not loss_ok:
        raise fail(
            "loss",
            'expected a loss name, {"name": "huber", "delta": 2.0}, or an object mapping '
            "output ids to those",
        )
    optimizer = training.get("optimizer")
    optimizer_ok = (
        optimizer is None
        or isinstance(optimizer, str)
        or (isinstance(optimizer, dict) and isinstance(optimizer.get("name"), str))
    )
    if not optimizer_ok:
        raise fail("optimizer", 'expected {"name": "adam", "learning_rate": 0.001} or a name')
    schedule = training.get("schedule")
    if schedule is not None and (
        not isinstance(schedule, dict) or not isinstance(schedule.get("name"), str)
    ):
        raise fail("schedule", 'expected an object with a "name", or null')
    metrics = training.get("metrics")
    if metrics is not None:
        lists = metrics.values() if isinstance(metrics, dict) else [metrics]
        for items in lists:
            if not isinstance(items, list) or not all(
                isinstance(m, str) or (isinstance(m, dict) and isinstance(m.get("name"), str))
                for m in items
            ):
                raise fail(
                    "metrics",
                    'expected a list of metric names such as ["accuracy"] or objects such as '
                    '{"name": "auc", "curve": "PR"}',
                )
    for key in ("batch_size", "epochs"):
        value = training.get(key)
        if value is not None and (not _is_int(value) or value < 1):
            raise fail(key, f"expected a positive integer, got {value!r}")
    seed = training.get("seed")
    if seed is not None and (not _is_int(seed) or seed < 0):
        raise fail("seed", f"expected a non-negative integer or null, got {seed!r}")
    split = training.get("validation_split")
    if split is not None and (not _is_number(split) or not 0 <= split < 1):
        raise fail("validation_split", f"expected a fraction from 0 up to 1, got {split!r}")
    shuffle = training.get("shuffle")
    if shuffle is not None and not isinstance(shuffle, bool):
        raise fail("shuffle", f"expected true or false, got {shuffle!r}")
    _check_fit_options(training, fail)
    callbacks = training.get("callbacks")
    if callbacks is not None:
        if not isinstance(callbacks, dict):
            raise fail("callbacks", 'expected an object such as {"early_stopping": {...}}')
        for name, args in callbacks.items():
            if not isinstance(args, dict):
                raise fail(f"callbacks.{name}", "expected an object of the callback's arguments")


def class_weight_dict(value: Any) -> dict[int, float]:
    """``training.class_weight`` with its JSON string keys as class ids (``{"1": 5.0}`` ->
    ``{1: 5.0}``); ``ValueError`` for anything else."""
    if not isinstance(value, dict):
        raise ValueError('expected an object mapping class ids to weights, e.g. {"1": 5.0}')
    converted = {}
    for key, weight in value.items():
        text = str(key)
        if isinstance(key, bool) or not text.isdigit():
            raise ValueError(f"class ids must be non-negative integers, got {key!r}")
        if not _is_number(weight) or weight < 0 or weight == float("inf"):
            raise ValueError(f"the weight of class {text} must be a number >= 0, got {weight!r}")
        converted[int(text)] = float(weight)
    return converted


def _check_fit_options(training: dict, fail) -> None:
    """class_weight, validation_freq, initial_epoch and steps_per_epoch (Keras's fit)."""
    if training.get("class_weight") is not None:
        try:
            class_weight_dict(training["class_weight"])
        except ValueError as err:
            raise fail("class_weight", str(err)) from None
    freq = training.get("validation_freq")
    if freq is not None and (not _is_int(freq) or freq < 1):
        raise fail("validation_freq", f"expected a positive integer (every N epochs), got {freq!r}")
    initial = training.get("initial_epoch")
    if initial is not None and (not _is_int(initial) or initial < 0):
        raise fail("initial_epoch", f"expected a non-negative integer, got {initial!r}")
    epochs = training.get("epochs")
    if _is_int(initial) and _is_int(epochs) and initial >= epochs:
        raise fail("initial_epoch", f"must be below epochs ({epochs}), got {initial}")
    steps = training.get("steps_per_epoch")
    if steps is not None and (not _is_int(steps) or steps < 1):
        raise fail("steps_per_epoch", f"expected a positive integer or null, got {steps!r}")


def check_training_names(training: dict, graph: CheckResult) -> list[Diagnostic]:
    """Loss, optimizer, metric, schedule and callback names, and the outputs losses name."""
    found: list[Diagnostic] = []

    def error(key: str, message: str, fix: str | None = None, nodes=()) -> None:
        found.append(Diagnostic(ERROR, "training", message, fix, tuple(nodes), key=key))

    loss = training.get("loss")
    outputs = graph.outputs
    if loss is None:
        error(
            "training.loss",
            "no loss is set",
            'set "loss", e.g. "mse" or "sparse_categorical_crossentropy"',
        )
    elif isinstance(loss, dict) and not is_loss_config(loss, outputs):
        for out_id, name in loss.items():
            if out_id not in outputs:
                error(
                    f"training.loss.{out_id}",
                    f"the loss names '{out_id}', which is not an output of the graph",
                    f"use one of: {', '.join(outputs) or 'no outputs yet'}",
                )
            _check_name("losses", name, f"training.loss.{out_id}", error)
        for out_id in outputs:
            if graph.ok and out_id not in loss:
                found.append(
                    Diagnostic(
                        WARNING,
                        "training",
                        f"output '{out_id}' has no loss, so it is not trained",
                        "give it a loss in training.loss, or delete the branch",
                        (out_id,),
                        key="training.loss",
                    )
                )
    else:
        _check_name("losses", loss, "training.loss", error)
    if (
        graph.ok
        and len(outputs) > 1
        and (not isinstance(loss, dict) or is_loss_config(loss, outputs))
    ):
        found.append(
            Diagnostic(
                WARNING,
                "training",
                f"the graph has {len(outputs)} outputs ({', '.join(outputs)}); each is trained "
                "against the same targets with the same loss",
                "delete a forgotten branch, or map output ids to losses in training.loss",
                tuple(outputs),
                key="training.loss",
            )
        )
    optimizer = training.get("optimizer")
    if optimizer is not None:
        name = optimizer if isinstance(optimizer, str) else optimizer.get("name")
        _check_name("optimizers", name, "training.optimizer", error, config=optimizer)
    metrics = training.get("metrics") or []
    for items in metrics.values() if isinstance(metrics, dict) else [metrics]:
        for i, metric in enumerate(items):
            _check_name("metrics", metric, f"training.metrics[{i}]", error)
    schedule = training.get("schedule")
    if schedule is not None:
        _check_name("schedules", schedule["name"], "training.schedule", error, config=schedule)
    for name in training.get("callbacks") or {}:
        if name not in CALLBACKS:
            error(
                f"training.callbacks.{name}",
                f"unknown callback '{name}'",
                f"use one of: {', '.join(CALLBACKS)}",
            )
    return found


def _check_name(module: str, name: str, key: str, error, config=None) -> None:
    """Ask ``engine.<module>.get`` whether it knows ``name`` (with its arguments)."""
    try:
        registry = importlib.import_module(f"engine.{module}")
    except ImportError:
        return  # that part of the engine is not installed; training will say so
    get = getattr(registry, "get", None)
    if get is None:
        return
    try:
        get(config if isinstance(config, dict) else name)
    except (ValueError, KeyError, TypeError, OverflowError) as err:
        text = str(err.args[0]) if err.args else str(err)
        error(key, text)
