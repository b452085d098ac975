"""Weight and activity regularizers with Keras's names, arguments and defaults.

``L1(l1=0.01)``, ``L2(l2=0.01)``, ``L1L2(l1=0.0, l2=0.0)`` and
``OrthogonalRegularizer(factor=0.01, mode="rows")`` each turn a tensor into a scalar penalty
built from engine primitives, so the penalty is differentiable and joins the data loss on
the same tape. A layer lists its penalties in ``layer.losses`` (see
:mod:`engine.layers.base`); the training step adds them to the loss.

Identifiers, as :func:`get` reads them: ``None``, a name (``"l1"``, ``"l2"``, ``"l1_l2"``,
``"orthogonal_regularizer"``, or the Keras class name), a dict ``{"name": "l2", "l2":
1e-4}`` (the form project files hold), Keras's ``{"class_name": "L2", "config": {...}}``,
or a :class:`Regularizer`. :func:`canonical` gives the one JSON form layers store:
``{"name": ..., **every argument}``.

One documented choice: the bare string ``"l1_l2"`` means ``L1L2(l1=0.01, l2=0.01)``, as
Keras's docstring promises (Keras 3 itself resolves only ``"l1l2"``, to a penalty of zero);
the dict ``{"name": "l1_l2"}`` fills missing arguments from the class defaults (0.0).
"""

from __future__ import annotations

import difflib
import math
from typing import Any, ClassVar

from engine import backend
from engine.autodiff import ops
from engine.autodiff.tensor import Tensor
from engine.identifiers import from_identifier

__all__ = [
    "L1",
    "L1L2",
    "L2",
    "NAMES",
    "OrthogonalRegularizer",
    "Regularizer",
    "canonical",
    "get",
    "serialize",
]


def _factor(value: Any, name: str) -> float:
    """A penalty factor: a finite number >= 0 (Keras's ``validate_float_arg``)."""
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or math.isinf(value)
        or math.isnan(value)
        or value < 0
    ):
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return float(value)


class Regularizer:
    """A penalty ``regularizer(x) -> scalar Tensor`` (``keras.regularizers.Regularizer``)."""

    name: ClassVar[str] = ""

    def __call__(self, x) -> Tensor:
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
        raise NotImplementedError

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Regularizer:
        return cls(**config)

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and self.get_config() == other.get_config()

    def __hash__(self) -> int:
        return hash((type(self).__name__, tuple(sorted(self.get_config().items()))))

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class L1L2(Regularizer):
    """``l1 * sum(|x|) + l2 * sum(x**2)``."""

    name = "l1_l2"

    def __init__(self, l1: float = 0.0, l2: float = 0.0):
        self.l1 = _factor(0.0 if l1 is None else l1, "l1")
        self.l2 = _factor(0.0 if l2 is None else l2, "l2")

    def __call__(self, x) -> Tensor:
        x = ops.as_tensor(x)
        total = ops.as_tensor(backend.xp.zeros((), dtype=x.dtype))
        if self.l1 != 0.0:
            total = ops.add(total, ops.mul(ops.sum_(ops.abs_(x)), self.l1))
        if self.l2 != 0.0:
            total = ops.add(total, ops.mul(ops.sum_(ops.square(x)), self.l2))
        return total

    def get_config(self) -> dict[str, Any]:
        return {"l1": self.l1, "l2": self.l2}


class L1(Regularizer):
    """``l1 * sum(|x|)``."""

    name = "l1"

    def __init__(self, l1: float = 0.01):
        self.l1 = _factor(0.01 if l1 is None else l1, "l1")

    def __call__(self, x) -> Tensor:
        return ops.mul(ops.sum_(ops.abs_(ops.as_tensor(x))), self.l1)

    def get_config(self) -> dict[str, Any]:
        return {"l1": self.l1}


class L2(Regularizer):
    """``l2 * sum(x**2)`` (no 1/2 factor, as in Keras)."""

    name = "l2"

    def __init__(self, l2: float = 0.01):
        self.l2 = _factor(0.01 if l2 is None else l2, "l2")

    def __call__(self, x) -> Tensor:
        return ops.mul(ops.sum_(ops.square(ops.as_tensor(x))), self.l2)

    def get_config(self) -> dict[str, Any]:
        return {"l2": self.l2}


class OrthogonalRegularizer(Regularizer):
    """Pushes the rows (``mode="rows"``) or columns of a 2-D weight towards orthogonality:
    ``factor * 0.5 * sum(|P - diag(P)|) / (n (n - 1) / 2)`` where ``P`` holds the dot
    products of the L2-normalised rows (columns) and ``n`` is their number."""

    name = "orthogonal_regularizer"

    def __init__(self, factor: float = 0.01, mode: str = "rows"):
        self.factor = _factor(factor, "factor")
        if mode not in ("rows", "columns"):
            raise ValueError(f"mode must be 'rows' or 'columns', got {mode!r}")
        self.mode = mode

    def __call__(self, x) -> Tensor:
        x = ops.as_tensor(x)
        if x.ndim != 2:
            raise ValueError(
                f"OrthogonalRegularizer needs a rank-2 weight, got shape {x.shape}: use it "
                "on Dense or recurrent kernels"
            )
        xp = backend.xp
        axis = 1 if self.mode == "rows" else 0
        # Keras's normalize: x * min(rsqrt(sum(x**2)), 1/epsilon), epsilon 1e-7, written as
        # x / sqrt(max(sum(x**2), epsilon**2)) so an all-zero row divides by no zero.
        squares = ops.sum_(ops.square(x), axis=axis, keepdims=True)
        unit = ops.div(x, ops.sqrt(ops.maximum(squares, 1e-14)))
        if self.mode == "rows":
            product, size = ops.matmul(unit, ops.transpose(unit)), x.shape[0]
        else:
            product, size = ops.matmul(ops.transpose(unit), unit), x.shape[1]
        off_diagonal = 1.0 - xp.eye(size, dtype=x.dtype)
        pairs = size * (size - 1.0) / 2.0
        total = ops.sum_(ops.abs_(ops.mul(product, off_diagonal)))
        # One row (or column) has no pairs: Keras divides 0 by 0; a zero penalty is meant.
        return ops.mul(total, self.factor * 0.5 / pairs if pairs else 0.0)

    def get_config(self) -> dict[str, Any]:
        return {"factor": self.factor, "mode": self.mode}


_CLASSES: dict[str, type[Regularizer]] = {
    cls.name: cls for cls in (L1, L2, L1L2, OrthogonalRegularizer)
}
_ALIASES = {cls.__name__: name for name, cls in _CLASSES.items()} | {"l1l2": "l1_l2"}
# Names offered to users (the inspector, error messages), in this order.
NAMES: tuple[str, ...] = ("l1", "l2", "l1_l2", "orthogonal_regularizer")


def _class_for(name: str) -> type[Regularizer]:
    key = _ALIASES.get(name, name)
    if key not in _CLASSES:
        close = difflib.get_close_matches(str(name), [*NAMES, *_ALIASES], n=1)
        hint = f" (did you mean {_ALIASES.get(close[0], close[0])!r}?)" if close else ""
        allowed = ", ".join(map(repr, NAMES))
        raise ValueError(f"unknown regularizer {name!r}{hint}; use one of {allowed}")
    return _CLASSES[key]


def get(identifier) -> Regularizer | None:
    """A :class:`Regularizer` (or ``None``) from any identifier form (module docstring)."""
    if identifier is None or isinstance(identifier, Regularizer):
        return identifier
    if identifier == "l1_l2":  # Keras's documented string default
        return L1L2(l1=0.01, l2=0.01)
    if isinstance(identifier, str | dict):
        return from_identifier(identifier, _class_for, "regularizer")
    raise ValueError(
        f"cannot interpret {identifier!r} as a regularizer: use None, a name such as 'l2', "
        'or a dict such as {"name": "l2", "l2": 0.0001}'
    )


def serialize(regularizer: Regularizer | None) -> dict[str, Any] | None:
    """``{"name": ..., **config}``, the form project and model files hold."""
    if regularizer is None:
        return None
    return {"name": regularizer.name, **regularizer.get_config()}


def canonical(identifier) -> dict[str, Any] | None:
    """Validate any identifier and return its canonical dict (``None`` stays ``None``)."""
    return serialize(get(identifier))
