"""Keras's compile arguments <-> a project's ``training`` settings.

Import reads Keras 3's ``compile_config`` (or Keras 2's ``training_config``): the optimizer
with every argument that differs from its default, the loss (one, a list per output, or a
dict keyed by output name), the metrics, in the project's forms. Whatever the engine has no
counterpart for (an unknown loss or metric, a learning-rate schedule object, loss weights)
is left out and named in the returned notes, never dropped silently.

Export writes the project's settings back as a Keras ``compile_config``
(:func:`keras_compile_config`), using Keras's names, which are the engine's.
"""

from __future__ import annotations

from typing import Any

from engine.keras_io.config_graph import snake_case

__all__ = ["keras_compile_config", "training_from_keras"]

# Keras's loss-object config keys that only restate the default behaviour.
_LOSS_DEFAULTS = {"reduction": "sum_over_batch_size", "dtype": None, "name": None}


def training_from_keras(
    config: dict | None, outputs: list[str], keras_outputs: list[str], fallback: dict
) -> tuple[dict, list[str]]:
    """``(training, notes)``: the project's training settings from Keras's compile config.
    ``outputs`` are the project's output node ids, ``keras_outputs`` the Keras output layer
    names in the same order; ``fallback`` supplies what the file does not say (an
    uncompiled model gets the defaults chosen from its outputs, and a note)."""
    training = dict(fallback)
    notes: list[str] = []
    if not config:
        notes.append(
            "the model was saved without compile() settings: the training settings are "
            f"defaults chosen from its outputs (loss {fallback.get('loss')!r}, Adam)"
        )
        return training, notes
    optimizer = config.get("optimizer", config.get("optimizer_config"))
    if optimizer is not None:
        converted = _optimizer(optimizer, notes)
        if converted is not None:
            training["optimizer"] = converted
    names = dict(zip(keras_outputs, outputs, strict=True))
    loss = _per_output(config.get("loss"), outputs, names, _loss, notes, "loss")
    if loss is not None:
        training["loss"] = loss
    else:
        notes.append(f"no usable loss in the file: using {fallback.get('loss')!r}")
    metrics = _metrics(config.get("metrics"), outputs, names, notes)
    training["metrics"] = metrics if metrics is not None else []
    if config.get("weighted_metrics"):
        notes.append("weighted_metrics are not imported (LayerCanvas has no sample weights)")
    if config.get("loss_weights") is not None:
        notes.append(
            f"loss_weights {config['loss_weights']!r} are not imported: a project weighs "
            "every output's loss equally"
        )
    return training, notes


def _optimizer(value: Any, notes: list[str]) -> dict | None:
    from engine import optimizers  # noqa: PLC0415

    if isinstance(value, str):
        value = {"class_name": value, "config": {}}
    if not isinstance(value, dict):
        notes.append(f"optimizer {value!r} is not understood; using Adam")
        return None
    class_name = value.get("class_name", value.get("name"))
    config = dict(value.get("config") or {})
    config.pop("name", None)
    schedule = config.get("learning_rate")
    if isinstance(schedule, dict):
        initial = (schedule.get("config") or {}).get("initial_learning_rate")
        notes.append(
            f"the learning-rate schedule {schedule.get('class_name')!r} is not imported; "
            f"training starts from its initial rate {initial} (set a schedule in Training)"
        )
        config.pop("learning_rate")
        if isinstance(initial, int | float):
            config["learning_rate"] = float(initial)
    try:
        built = optimizers.get({"class_name": class_name, "config": {}})
    except (ValueError, KeyError, TypeError):
        notes.append(f"optimizer {class_name!r} has no LayerCanvas equivalent; using Adam")
        return None
    defaults = built.get_config()
    kept: dict[str, Any] = {}
    for key, val in config.items():
        if key in defaults and defaults[key] == val and key != "learning_rate":
            continue
        try:
            optimizers.get({"class_name": class_name, "config": {key: val}})
        except (ValueError, KeyError, TypeError):
            notes.append(f"optimizer {class_name} argument {key}={val!r} is not supported")
            continue
        kept[key] = _round(val)
    return {"name": built.name, **kept}


def _round(value):
    # Keras stores float32 numbers (0.0010000000474974513): show what the user typed.
    if isinstance(value, float):
        return float(f"{value:.7g}")
    return value


def _per_output(value, outputs, names, convert, notes, what):
    if value is None:
        return None
    if isinstance(value, list):
        if len(value) == 1 and len(outputs) == 1:
            return convert(value[0], notes)
        if len(value) != len(outputs):
            notes.append(f"the file has {len(value)} {what} entries for {len(outputs)} outputs")
            return None
        mapped = {out: convert(v, notes) for out, v in zip(outputs, value, strict=True)}
        return {k: v for k, v in mapped.items() if v is not None} or None
    if isinstance(value, dict) and "class_name" not in value:
        mapped = {}
        for key, v in value.items():
            if key not in names:
                notes.append(f"the {what} for {key!r} names no output of the model")
                continue
            converted = convert(v, notes)
            if converted is not None:
                mapped[names[key]] = converted
        return mapped or None
    return convert(value, notes)


def _loss(value, notes):
    from engine import losses  # noqa: PLC0415

    form = _named(value)
    if form is None:
        notes.append(f"loss {value!r} is not a built-in Keras loss; not imported")
        return None
    try:
        losses.get(form)
    except (ValueError, KeyError, TypeError) as err:
        notes.append(f"loss {value!r} is not supported ({err})")
        return None
    return form


def _named(value):
    """A Keras loss or metric (a name, or a serialized object) as the project's form:
    ``"mse"`` or ``{"name": "huber", "delta": 2.0}``."""
    if isinstance(value, str):
        return value
    if not isinstance(value, dict) or not isinstance(value.get("class_name"), str):
        return None
    if value.get("class_name") == "function":  # Keras 3's serialized loss function
        inner = value.get("config")
        return inner if isinstance(inner, str) else None
    args = {
        k: v
        for k, v in (value.get("config") or {}).items()
        if not (k in _LOSS_DEFAULTS and (_LOSS_DEFAULTS[k] is None or v == _LOSS_DEFAULTS[k]))
    }
    name = snake_case(value["class_name"])
    return {"name": name, **args} if args else name


def _metrics(value, outputs, names, notes):
    if value is None:
        return None
    if isinstance(value, dict):
        out = {}
        for key, items in value.items():
            if key not in names:
                notes.append(f"metrics for {key!r} name no output of the model")
                continue
            out[names[key]] = _metric_list(items, notes)
        return out
    if isinstance(value, list) and value and all(isinstance(v, list) or v is None for v in value):
        if len(value) == 1 and len(outputs) == 1:
            return _metric_list(value[0] or [], notes)
        if len(value) != len(outputs):
            notes.append(f"the file has {len(value)} metric lists for {len(outputs)} outputs")
            return None
        return {out: _metric_list(v or [], notes) for out, v in zip(outputs, value, strict=True)}
    return _metric_list(value, notes)


def _metric_list(items, notes) -> list:
    from engine import metrics  # noqa: PLC0415

    out = []
    for item in items if isinstance(items, list) else [items]:
        form = _named(item)
        try:
            if form is None:
                raise ValueError("not a built-in metric")
            metrics.get(form)
        except (ValueError, KeyError, TypeError):
            notes.append(f"metric {item!r} is not supported; not imported")
            continue
        out.append(form)
    return out


# -- export ---------------------------------------------------------------------------------


def keras_compile_config(training: dict | None) -> dict | None:
    """A Keras ``compile_config`` from a project's training settings (None when there are
    none). Names are shared by Keras and the engine; a dict form becomes Keras's
    serialized object."""
    if not training or training.get("loss") is None:
        return None
    optimizer = training.get("optimizer") or {"name": "adam"}
    if isinstance(optimizer, str):
        optimizer = {"name": optimizer}
    opt_config = {k: v for k, v in optimizer.items() if k != "name"}
    return {
        "optimizer": {
            "module": "keras.optimizers",
            "class_name": _optimizer_class(optimizer["name"]),
            "config": opt_config,
            "registered_name": None,
        },
        "loss": _keras_named(training["loss"], "losses"),
        "loss_weights": None,
        "metrics": _keras_metrics(training.get("metrics")),
        "weighted_metrics": None,
        "run_eagerly": False,
        "steps_per_execution": 1,
        "jit_compile": False,
    }


def _optimizer_class(name: str) -> str:
    from engine import optimizers  # noqa: PLC0415

    return type(optimizers.get(name)).__name__


def _keras_named(value, module):
    if isinstance(value, str) or value is None:
        return value
    if isinstance(value, dict) and isinstance(value.get("name"), str):
        from engine import losses, metrics  # noqa: PLC0415

        family = losses if module == "losses" else metrics
        obj = family.get(value)
        args = {k: v for k, v in value.items() if k != "name"}
        return {
            "module": f"keras.{module}",
            "class_name": type(obj).__name__,
            "config": args,
            "registered_name": None,
        }
    if isinstance(value, dict):  # output id -> loss
        return {k: _keras_named(v, module) for k, v in value.items()}
    return value


def _keras_metrics(metrics):
    if not metrics:
        return None
    if isinstance(metrics, dict):
        return {k: [_keras_named(m, "metrics") for m in v] for k, v in metrics.items()}
    return [_keras_named(m, "metrics") for m in metrics]
