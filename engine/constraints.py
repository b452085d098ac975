"""Weight constraints with Keras's names, arguments and defaults.

``MaxNorm(max_value=2, axis=0)``, ``MinMaxNorm(min_value=0.0, max_value=1.0, rate=1.0,
axis=0)``, ``NonNeg()`` and ``UnitNorm(axis=0)``. A constraint maps a weight array to its
projected value; the optimizer applies ``variable.constraint`` after each update
(``var.assign(var.constraint(var))``), as Keras does.

Axes and layouts. ``axis`` is read in *Keras's* layout of the weight, so that the same
configuration takes the same norm as in Keras. Dense, Embedding and recurrent kernels have
Keras's layout in the engine, but the engine's Conv2D kernel is ``(filters, in_channels,
kh, kw)`` where Keras has ``(kh, kw, in_channels, filters)``. When a layer builds a weight
it calls :meth:`Constraint.for_layout` with the engine axis of each Keras axis (Conv2D:
``(2, 3, 1, 0)``), which returns the constraint with its axes renamed; that is the object
stored on ``variable.constraint``. So ``MaxNorm(axis=[0, 1, 2])`` on a Conv2D still bounds
the norm of each filter (over kh, kw and in_channels), and the default ``axis=0`` takes the
norm over the kernel rows, exactly as in Keras. The layer's config keeps the Keras axis.

Identifiers, as :func:`get` reads them: ``None``, a name (``"max_norm"``, ``"min_max_norm"``,
``"non_neg"``, ``"unit_norm"`` or the Keras class name), ``{"name": "max_norm",
"max_value": 3}``, Keras's ``{"class_name": ..., "config": ...}`` or a :class:`Constraint`;
:func:`canonical` gives the stored JSON form ``{"name": ..., **every argument}``.
"""

from __future__ import annotations

import copy
import difflib
import math
from collections.abc import Sequence
from typing import Any, ClassVar

from engine import backend
from engine.autodiff.tensor import Tensor
from engine.identifiers import from_identifier

__all__ = [
    "NAMES",
    "Constraint",
    "MaxNorm",
    "MinMaxNorm",
    "NonNeg",
    "UnitNorm",
    "canonical",
    "get",
    "serialize",
]

_EPSILON = 1e-7  # keras.backend.epsilon()


def _number(value: Any, name: str, low: float | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    if low is not None and value < low:
        raise ValueError(f"{name} must be >= {low}, got {value!r}")
    return value


def _axis(value: Any) -> int | tuple[int, ...]:
    """An int or a list of distinct ints (lists from JSON become tuples)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if (
        isinstance(value, list | tuple)
        and value
        and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
        and len(set(value)) == len(value)
    ):
        return tuple(value)
    raise ValueError(f"axis must be an integer or a list of distinct integers, got {value!r}")


def _array(w):
    return w.data if isinstance(w, Tensor) else backend.asarray(w)


class Constraint:
    """A projection ``constraint(w) -> array`` (``keras.constraints.Constraint``)."""

    name: ClassVar[str] = ""

    def __call__(self, w):
        return _array(w)

    def get_config(self) -> dict[str, Any]:
        return {}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Constraint:
        return cls(**config)

    def for_layout(self, keras_to_engine: Sequence[int] | None, ndim: int) -> Constraint:
        """This constraint for a weight whose engine axis ``keras_to_engine[a]`` is Keras's
        axis ``a`` (``None``: same layout). Checks the axes exist for ``ndim`` dimensions."""
        if not hasattr(self, "axis"):
            return self
        axes = (self.axis,) if isinstance(self.axis, int) else tuple(self.axis)
        for a in axes:
            if not -ndim <= a < ndim:
                raise ValueError(
                    f"{type(self).__name__} axis {self.axis!r} does not exist for a weight "
                    f"of rank {ndim}"
                )
        mapped = tuple(
            (a % ndim) if keras_to_engine is None else keras_to_engine[a % ndim] for a in axes
        )
        bound = copy.copy(self)
        bound.axis = mapped
        return bound

    def _norms(self, w):
        xp = backend.xp
        return xp.sqrt(xp.sum(w * w, axis=self.axis, keepdims=True))

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and self.get_config() == other.get_config()

    def __hash__(self) -> int:
        return hash((type(self).__name__, repr(self.get_config())))

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class MaxNorm(Constraint):
    """Rescales each weight vector along ``axis`` whose L2 norm exceeds ``max_value``."""

    name = "max_norm"

    def __init__(self, max_value: float = 2, axis: int | Sequence[int] = 0):
        self.max_value = _number(max_value, "max_value", 0)
        self.axis = _axis(axis)

    def __call__(self, w):
        w = _array(w)
        norms = self._norms(w)
        desired = backend.xp.clip(norms, 0, self.max_value)
        return w * (desired / (_EPSILON + norms))

    def get_config(self) -> dict[str, Any]:
        return {"max_value": self.max_value, "axis": _jsonable(self.axis)}


class MinMaxNorm(Constraint):
    """Moves each weight vector's norm towards ``[min_value, max_value]``:
    ``norm -> rate * clip(norm, min_value, max_value) + (1 - rate) * norm``."""

    name = "min_max_norm"

    def __init__(
        self,
        min_value: float = 0.0,
        max_value: float = 1.0,
        rate: float = 1.0,
        axis: int | Sequence[int] = 0,
    ):
        self.min_value = _number(min_value, "min_value", 0)
        self.max_value = _number(max_value, "max_value", 0)
        if self.max_value < self.min_value:
            raise ValueError(f"max_value ({max_value!r}) must be >= min_value ({min_value!r})")
        self.rate = _number(rate, "rate", 0)
        self.axis = _axis(axis)

    def __call__(self, w):
        w = _array(w)
        norms = self._norms(w)
        clipped = backend.xp.clip(norms, self.min_value, self.max_value)
        desired = self.rate * clipped + (1 - self.rate) * norms
        return w * (desired / (_EPSILON + norms))

    def get_config(self) -> dict[str, Any]:
        return {
            "min_value": self.min_value,
            "max_value": self.max_value,
            "rate": self.rate,
            "axis": _jsonable(self.axis),
        }


class NonNeg(Constraint):
    """Sets negative weights to zero."""

    name = "non_neg"

    def __call__(self, w):
        w = _array(w)
        return backend.xp.maximum(w, backend.xp.zeros((), dtype=w.dtype))


class UnitNorm(Constraint):
    """Scales each weight vector along ``axis`` to unit L2 norm."""

    name = "unit_norm"

    def __init__(self, axis: int | Sequence[int] = 0):
        self.axis = _axis(axis)

    def __call__(self, w):
        w = _array(w)
        return w / (_EPSILON + self._norms(w))

    def get_config(self) -> dict[str, Any]:
        return {"axis": _jsonable(self.axis)}


def _jsonable(axis):
    return list(axis) if isinstance(axis, tuple) else axis


_CLASSES: dict[str, type[Constraint]] = {
    cls.name: cls for cls in (MaxNorm, MinMaxNorm, NonNeg, UnitNorm)
}
_ALIASES = {cls.__name__: name for name, cls in _CLASSES.items()}
# Names offered to users (the inspector, error messages), in this order.
NAMES: tuple[str, ...] = tuple(_CLASSES)


def _class_for(name: str) -> type[Constraint]:
    key = _ALIASES.get(name, name)
    if key not in _CLASSES:
        close = difflib.get_close_matches(str(name), [*NAMES, *_ALIASES], n=1)
        hint = f" (did you mean {_ALIASES.get(close[0], close[0])!r}?)" if close else ""
        allowed = ", ".join(map(repr, NAMES))
        raise ValueError(f"unknown constraint {name!r}{hint}; use one of {allowed}")
    return _CLASSES[key]


def get(identifier) -> Constraint | None:
    """A :class:`Constraint` (or ``None``) from any identifier form (module docstring)."""
    if identifier is None or isinstance(identifier, Constraint):
        return identifier
    if isinstance(identifier, str | dict):
        return from_identifier(identifier, _class_for, "constraint")
    raise ValueError(
        f"cannot interpret {identifier!r} as a constraint: use None, a name such as "
        '\'max_norm\', or a dict such as {"name": "max_norm", "max_value": 3}'
    )


def serialize(constraint: Constraint | None) -> dict[str, Any] | None:
    """``{"name": ..., **config}``, the form project and model files hold."""
    if constraint is None:
        return None
    return {"name": constraint.name, **constraint.get_config()}


def canonical(identifier) -> dict[str, Any] | None:
    """Validate any identifier and return its canonical dict (``None`` stays ``None``)."""
    return serialize(get(identifier))
