"""Optimizers by Keras identifier: :func:`get` reads the forms project files hold
(``"nadam"``, ``{"name": "lion", "learning_rate": 1e-4}``, Keras's ``{"class_name": ...,
"config": ...}``) and :func:`available` lists the classes for the app's optimizer form."""

from __future__ import annotations

from engine.identifiers import from_identifier
from engine.optimizers.adam import Adam, Adamax, AdamW, Nadam
from engine.optimizers.adaptive import Adadelta, Adafactor, Adagrad, RMSprop
from engine.optimizers.base import Optimizer
from engine.optimizers.ftrl import Ftrl
from engine.optimizers.lion import Lion
from engine.optimizers.sgd import SGD

_OPTIMIZERS: dict[str, type[Optimizer]] = {
    cls.type_name: cls
    for cls in (SGD, Adam, AdamW, RMSprop, Adagrad, Adadelta, Adamax, Nadam, Lion, Adafactor, Ftrl)
}
OPTIMIZER_NAMES: tuple[str, ...] = tuple(_OPTIMIZERS)


def available() -> dict[str, type[Optimizer]]:
    """``{identifier: class}`` for every built-in optimizer (lower-case Keras identifiers,
    ``"sgd"`` ... ``"ftrl"``); ``cls().get_config()`` gives each one's arguments and
    defaults."""
    return dict(_OPTIMIZERS)


def _class_for(name: str) -> type[Optimizer]:
    cls = _OPTIMIZERS.get(str(name).lower())
    if cls is None:
        raise ValueError(f"unknown optimizer {name!r}; choose one of {', '.join(OPTIMIZER_NAMES)}")
    return cls


def get(identifier) -> Optimizer:
    """An optimizer from a name (``"adam"``), a project-file dict ``{"name": "adam",
    "learning_rate": 0.01, ...}`` (or Keras's ``{"class_name": "Adam", "config": {...}}``),
    or an instance (returned as is)."""
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, str | dict):
        return from_identifier(identifier, _class_for, "optimizer")
    raise ValueError(f"cannot interpret {identifier!r} as an optimizer")
