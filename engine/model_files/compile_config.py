"""Compile arguments and optimizer state as a model file stores them.

Compile arguments (optimizer, loss, metrics, loss weights) are saved as JSON that the
engine's families (``engine.optimizers.get`` ...) turn back into the same kind of object:
names stay names, objects become their config. A custom function has no such form, so the
model is then saved uncompiled, as Keras's ``load_model(compile=False)`` would give it.
The optimizer's state arrays become ``optimizer/NNNN.npy`` members in ``state_keys`` order.
"""

from __future__ import annotations

import numpy as np

from engine.model_files.archive import npy_bytes

__all__ = ["Unsaveable", "compile_config", "jsonable", "optimizer_members"]


class Unsaveable(TypeError):
    """A value (a custom loss or metric function, an object in metadata) with no saved form."""


def jsonable(value):
    """Plain JSON data (names, numbers, lists, dicts) passes; anything else is refused."""
    if value is None or isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray | np.generic):  # e.g. normalisation statistics
        return jsonable(value.tolist())
    get_config = getattr(value, "get_config", None)
    if get_config is not None:
        return jsonable(get_config())
    raise Unsaveable(f"{value!r} cannot be written to a model file")


def _saved_form(value, family):
    """A compile argument as JSON that ``family.get`` turns back into the same kind of
    object: names stay names, objects become their config (Keras's ``class_name`` form or
    the family's ``{"name": ...}`` form, whichever the family reads back)."""
    if value is None or isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, dict):
        return {str(k): _saved_form(v, family) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_saved_form(v, family) for v in value]
    get_config = getattr(value, "get_config", None)
    if get_config is None:
        raise Unsaveable(f"{value!r} has no config and cannot be saved")
    config = jsonable(get_config())
    for candidate in ({"class_name": type(value).__name__, "config": config}, config):
        try:
            rebuilt = family.get(dict(candidate))
        except (ValueError, TypeError, KeyError):
            continue
        if type(rebuilt) is type(value):  # a function of the user's own would not come back
            return candidate
    raise Unsaveable(f"{value!r} cannot be rebuilt from its config")


def compile_config(model) -> dict | None:
    """The model's compile arguments as JSON, or None when it is not compiled (or has a
    custom loss or metric function, which cannot be saved)."""
    # The families load lazily: most model files are read without training.
    from engine import losses, metrics, optimizers  # noqa: PLC0415

    if not getattr(model, "compiled", False) or model.optimizer is None:
        return None
    args = model._compile_args or {}
    try:
        config = {
            "optimizer": _saved_form(model.optimizer, optimizers),
            "loss": _saved_form(args.get("loss"), losses),
            "metrics": _saved_form(args.get("metrics"), metrics),
            "loss_weights": jsonable(args.get("loss_weights")),
        }
        if args.get("weighted_metrics") is not None:  # only then: older files stay the same
            config["weighted_metrics"] = _saved_form(args["weighted_metrics"], metrics)
        return config
    except Unsaveable:
        # Saved uncompiled, as Keras's load_model(compile=False) would give it; compile it
        # again after loading.
        return None


def optimizer_members(model) -> tuple[dict | None, list[tuple[str, bytes]]]:
    """The config's ``optimizer`` entry and the ``optimizer/NNNN.npy`` members."""
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None or not getattr(model, "compiled", False):
        return None, []
    state = optimizer.get_state()
    keys = list(state)
    members = [
        (f"optimizer/{i:04d}.npy", npy_bytes(np.asarray(state[k]))) for i, k in enumerate(keys)
    ]
    iterations = getattr(optimizer, "iterations", 0)
    return {"state_keys": keys, "iterations": int(np.asarray(iterations))}, members
