"""Argument conversions every layer mapping uses: activations, regularizers, constraints,
initializers and integer tuples, between Keras's config form and the engine's params."""

from __future__ import annotations

from typing import Any

from engine.keras_io.layers.registry import Unsupported

__all__ = [
    "activation",
    "constraint",
    "ints",
    "keras_constraint",
    "keras_regularizer",
    "penalties",
    "refuse_unless",
    "regularizer",
]


def _plain_name(value: Any, what: str) -> str:
    """A Keras function reference as its name: ``"relu"``, or Keras 3's serialized
    ``{"module": "keras.activations", "class_name": "function", "config": "relu"}``."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        if value.get("registered_name") and "keras" not in str(value.get("module", "keras")):
            raise Unsupported(f"custom {what} {value.get('registered_name')!r}")
        inner = value.get("config")
        if isinstance(inner, str):
            return inner
        if isinstance(value.get("class_name"), str):
            return value["class_name"]
    raise Unsupported(f"{what} {value!r} is not a built-in Keras {what}")


def activation(config: dict, key: str = "activation", allowed=None) -> str:
    """The engine's name for a Keras activation (Keras and the engine share the names)."""
    from engine import activations  # noqa: PLC0415

    name = _plain_name(config.get(key, "linear") or "linear", "activation")
    if name in ("None", "none"):
        name = "linear"
    names = allowed if allowed is not None else activations.ACTIVATION_NAMES
    if name not in names:
        raise Unsupported(f"{key} {name!r} has no LayerCanvas equivalent")
    return name


def regularizer(value: Any):
    """A Keras regularizer config as the engine's canonical dict (None stays None)."""
    from engine import regularizers  # noqa: PLC0415

    if value is None:
        return None
    try:
        return regularizers.canonical(_keras_object(value))
    except (ValueError, TypeError) as err:
        raise Unsupported(f"regularizer {value!r}: {err}") from None


def constraint(value: Any):
    from engine import constraints  # noqa: PLC0415

    if value is None:
        return None
    try:
        return constraints.canonical(_keras_object(value))
    except (ValueError, TypeError) as err:
        raise Unsupported(f"constraint {value!r}: {err}") from None


def _keras_object(value: Any):
    if isinstance(value, dict) and "class_name" in value:
        return {"class_name": value["class_name"], "config": dict(value.get("config") or {})}
    return value


def keras_regularizer(value: Any):
    """An engine regularizer param as Keras's serialized form."""
    from engine import regularizers  # noqa: PLC0415

    obj = regularizers.get(value)
    if obj is None:
        return None
    return {
        "module": "keras.regularizers",
        "class_name": type(obj).__name__,
        "config": obj.get_config(),
        "registered_name": None,
    }


def keras_constraint(value: Any):
    from engine import constraints  # noqa: PLC0415

    obj = constraints.get(value)
    if obj is None:
        return None
    return {
        "module": "keras.constraints",
        "class_name": type(obj).__name__,
        "config": obj.get_config(),
        "registered_name": None,
    }


def penalties(config: dict, keys: tuple[str, ...]) -> dict:
    """The engine params for Keras's regularizer and constraint arguments ``keys``."""
    params = {}
    for key in keys:
        value = config.get(key)
        if value is None:
            continue
        params[key] = constraint(value) if key.endswith("_constraint") else regularizer(value)
    return params


def keras_penalties(layer, keys: tuple[str, ...]) -> dict:
    out = {}
    for key in keys:
        value = layer.config.get(key)
        out[key] = (
            keras_constraint(value) if key.endswith("_constraint") else keras_regularizer(value)
        )
    return out


def initializer(config: dict, key: str, choices) -> dict:
    """``{key: name}`` when Keras's initializer has an engine namesake, else ``{}`` (the
    weights come from the file; only retraining from scratch would notice)."""
    value = config.get(key)
    if value is None:
        return {}
    try:
        name = _plain_name(value, "initializer")
    except Unsupported:
        return {}
    from engine.keras_io.config_graph import snake_case  # noqa: PLC0415

    name = snake_case(name) if name[:1].isupper() else name
    return {key: name} if name in choices else {}


def ints(value: Any, n: int, what: str) -> list[int]:
    """A Keras int-or-tuple argument as a list of ``n`` ints."""
    if isinstance(value, int):
        return [value] * n
    if (
        isinstance(value, list | tuple)
        and len(value) == n
        and all(isinstance(v, int) for v in value)
    ):
        return list(value)
    raise Unsupported(f"{what} {value!r} is not {n} integers")


def refuse_unless(config: dict, key: str, allowed: tuple, reason: str | None = None) -> None:
    """Refuse a Keras option the engine lacks when it is set to anything but ``allowed``."""
    value = config.get(key, allowed[0])
    if value not in allowed:
        raise Unsupported(reason or f"{key}={value!r} is not supported")


def choices(engine_type: str, param: str) -> tuple:
    """The values the engine type's schema allows for ``param``."""
    from engine.layers.base import get_layer_class  # noqa: PLC0415

    for p in get_layer_class(engine_type).params:
        if p.name == param:
            return tuple(p.choices or ())
    return ()


def engine_activation(config: dict, engine_type: str, key: str = "activation") -> str:
    return activation(config, key, choices(engine_type, key))


def penalty_keys(engine_type: str) -> tuple[str, ...]:
    """The engine type's regularizer and constraint params (Keras's names)."""
    from engine.layers.base import get_layer_class  # noqa: PLC0415

    return tuple(
        p.name
        for p in get_layer_class(engine_type).params
        if p.kind in ("regularizer", "constraint")
    )
