"""Turning the ways users name an object (``"adam"``, ``{"name": "adam", "learning_rate":
0.01}``, Keras's ``{"class_name": "Adam", "config": {...}}``) into an instance.

Losses and optimizers accept the same three forms; this is the one place that reads them.
"""

from __future__ import annotations

from collections.abc import Callable


def from_identifier(identifier, class_for: Callable[[str], type], kind: str):
    """An instance from a name or a config dict; ``class_for(name)`` finds the class and
    raises ValueError for an unknown name. ``kind`` ("loss", "optimizer") words the errors."""
    if isinstance(identifier, str):
        return class_for(identifier)()
    if not isinstance(identifier, dict):
        raise ValueError(f"cannot interpret {identifier!r} as {_article(kind)} {kind}")
    config = dict(identifier)
    if "class_name" in config:
        cls = class_for(config.pop("class_name"))
        kwargs = dict(config.get("config", {}))
    else:
        if "name" not in config:
            raise ValueError(
                f"{_article(kind)} {kind} given as a dict needs a 'name': {identifier!r}"
            )
        cls = class_for(config.pop("name"))
        kwargs = config
    try:
        return cls(**kwargs)
    except TypeError as exc:
        raise ValueError(f"bad options for {kind} {cls.__name__}: {exc}") from None


def _article(word: str) -> str:
    return "an" if word[:1] in "aeiou" else "a"
