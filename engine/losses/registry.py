"""Losses by name: ``get`` turns a name, a config dict or a function into a ``Loss``;
``available`` lists the built-in ones for forms; ``loss_kind`` says which family of targets
a loss expects, which decides the accuracy metric and how targets are checked."""

from __future__ import annotations

from collections.abc import Callable

from engine.identifiers import from_identifier
from engine.losses import focal, hinges, probabilistic, regression
from engine.losses.base import Loss, LossFunctionWrapper

__all__ = ["LOSS_NAMES", "available", "get", "loss_kind"]

# Canonical snake_case identifier -> class, in the order a form lists them.
_CANONICAL: dict[str, type[Loss]] = {
    "mean_squared_error": regression.MeanSquaredError,
    "mean_absolute_error": regression.MeanAbsoluteError,
    "huber": regression.Huber,
    "log_cosh": regression.LogCosh,
    "cosine_similarity": regression.CosineSimilarity,
    "binary_crossentropy": probabilistic.BinaryCrossentropy,
    "categorical_crossentropy": probabilistic.CategoricalCrossentropy,
    "sparse_categorical_crossentropy": probabilistic.SparseCategoricalCrossentropy,
    "binary_focal_crossentropy": focal.BinaryFocalCrossentropy,
    "categorical_focal_crossentropy": focal.CategoricalFocalCrossentropy,
    "kl_divergence": probabilistic.KLDivergence,
    "poisson": probabilistic.Poisson,
    "hinge": hinges.Hinge,
    "squared_hinge": hinges.SquaredHinge,
    "categorical_hinge": hinges.CategoricalHinge,
}

# Other spellings: Keras's short and legacy names, its default instance names, and the class
# names (Keras's saved ``{"class_name": ..., "config": ...}`` form), all matched lower-case.
_ALIASES: dict[str, str] = {
    "mse": "mean_squared_error",
    "mae": "mean_absolute_error",
    "huber_loss": "huber",
    "logcosh": "log_cosh",
    "bce": "binary_crossentropy",
    "kld": "kl_divergence",
    "kullback_leibler_divergence": "kl_divergence",
}

_BY_NAME: dict[str, type[Loss]] = dict(_CANONICAL)
for _alias, _canonical in _ALIASES.items():
    _BY_NAME[_alias] = _CANONICAL[_canonical]
for _cls in _CANONICAL.values():
    _BY_NAME.setdefault(_cls.__name__.lower(), _cls)

LOSS_NAMES: tuple[str, ...] = tuple(_CANONICAL)

# The target family of each per-sample function, which metrics and target checks read: the
# focal losses take the targets (and want the accuracy) of the cross-entropy they scale.
_KIND: dict[Callable, str] = {
    regression.mean_squared_error: "mean_squared_error",
    regression.mean_absolute_error: "mean_absolute_error",
    regression.huber: "huber",
    regression.log_cosh: "log_cosh",
    regression.cosine_similarity: "cosine_similarity",
    probabilistic.binary_crossentropy: "binary_crossentropy",
    probabilistic.categorical_crossentropy: "categorical_crossentropy",
    probabilistic.sparse_categorical_crossentropy: "sparse_categorical_crossentropy",
    focal.binary_focal_crossentropy: "binary_crossentropy",
    focal.categorical_focal_crossentropy: "categorical_crossentropy",
    probabilistic.kl_divergence: "kl_divergence",
    probabilistic.poisson: "poisson",
    hinges.hinge: "hinge",
    hinges.squared_hinge: "squared_hinge",
    hinges.categorical_hinge: "categorical_hinge",
}


def available() -> dict[str, type[Loss]]:
    """Every built-in loss by its canonical snake_case identifier (``"log_cosh"`` ->
    ``LogCosh``), in a sensible order for a form; the class's ``__init__`` gives the
    arguments and defaults."""
    return dict(_CANONICAL)


def _class_for(name: str) -> type[Loss]:
    cls = _BY_NAME.get(str(name).lower())
    if cls is None:
        raise ValueError(f"unknown loss {name!r}; choose one of {', '.join(LOSS_NAMES)}")
    return cls


def get(identifier) -> Loss:
    """A ``Loss`` from a name (``"mse"``, ``"sparse_categorical_crossentropy"``, ...), a dict
    ``{"name": "huber", "delta": 2.0}`` (or Keras's ``{"class_name": ..., "config": ...}``),
    a ``Loss``, or a per-sample function ``fn(y_true, y_pred)``."""
    if isinstance(identifier, Loss):
        return identifier
    if isinstance(identifier, str | dict):
        return from_identifier(identifier, _class_for, "loss")
    if callable(identifier):
        return LossFunctionWrapper(identifier)
    raise ValueError(f"cannot interpret {identifier!r} as a loss")


def loss_kind(identifier) -> str | None:
    """The family of targets a loss identifier expects, named by its canonical function:
    ``"binary_crossentropy"`` (0/1 targets, also for binary focal cross-entropy),
    ``"categorical_crossentropy"`` (one-hot rows, also for categorical focal),
    ``"sparse_categorical_crossentropy"``, ``"mean_squared_error"``, ``"hinge"``, ...;
    ``None`` for a custom loss or none at all."""
    if identifier is None:
        return None
    try:
        loss = get(identifier)
    except ValueError:
        return None
    fn = getattr(loss, "fn", None)
    return _KIND.get(fn) if fn is not None else None
