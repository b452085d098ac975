"""Parameter schemas: what a layer type accepts, declared once and read by everyone.

The inspector builds its form from these, the project-file loader validates against them,
and layer constructors use them to check Keras-style keyword arguments. A bad value gives a
:class:`ParameterError` that names the parameter and says what is allowed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from engine import constraints, regularizers

# The kinds a parameter can be; the inspector maps each to an editor widget.
KINDS = (
    "int",  # an integer, optionally bounded
    "float",  # a real number, optionally bounded
    "bool",
    "choice",  # one string out of ``choices``
    "int_tuple",  # an int or a tuple of ``length`` ints (kernel_size=3 or (3, 5))
    "shape",  # a tuple of positive ints (Input shape, Reshape target; -1 allowed once)
    "ints",  # a tuple of ints of any length (axes)
    "str",  # free text (names)
    "regularizer",  # None, a name ("l2") or {"name": "l2", "l2": 1e-4}: engine.regularizers
    "constraint",  # None, a name ("max_norm") or a dict: engine.constraints
    "padding",  # one of ``choices`` or explicit pads: engine.layers.conv_params.PaddingParam
)


class ParameterError(ValueError):
    """A parameter value is missing, of the wrong type or out of range."""

    def __init__(self, layer_type: str, param: str, message: str):
        super().__init__(f"{layer_type}.{param}: {message}")
        self.layer_type = layer_type
        self.param = param
        self.message = message


@dataclass(frozen=True)
class Param:
    """One constructor argument of a layer type."""

    name: str
    kind: str
    default: Any = None
    help: str = ""
    choices: tuple[str, ...] | None = None
    min: float | None = None
    max: float | None = None
    min_exclusive: bool = False
    max_exclusive: bool = False
    length: int | None = None  # for int_tuple
    nullable: bool = False  # ``None`` is a legal value (e.g. activation=None)
    required: bool = False
    extra: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"unknown parameter kind {self.kind!r}")

    def describe_range(self) -> str:
        if self.choices:
            return "one of " + ", ".join(repr(c) for c in self.choices)
        lo = (
            ""
            if self.min is None
            else (f"> {self.min}" if self.min_exclusive else f">= {self.min}")
        )
        hi = (
            ""
            if self.max is None
            else (f"< {self.max}" if self.max_exclusive else f"<= {self.max}")
        )
        return " and ".join(part for part in (lo, hi) if part) or "any value"

    def coerce(self, layer_type: str, value: Any) -> Any:
        """Check ``value`` and return it in canonical form (lists from JSON become tuples)."""
        fail = lambda msg: ParameterError(layer_type, self.name, msg)  # noqa: E731
        if value is None:
            if self.nullable:
                return None
            raise fail("a value is required")
        kind = self.kind
        if kind == "bool":
            if not isinstance(value, bool):
                raise fail(f"expected true or false, got {value!r}")
            return value
        if kind == "int":
            value = self._as_int(value, fail)
            self._check_bounds(value, fail)
            return value
        if kind == "float":
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise fail(f"expected a number, got {value!r}")
            value = float(value)
            if value != value:
                raise fail("NaN is not allowed")
            self._check_bounds(value, fail)
            return value
        if kind == "choice":
            if value not in (self.choices or ()):
                raise fail(f"{value!r} is not allowed; use {self.describe_range()}")
            return value
        if kind == "str":
            if not isinstance(value, str):
                raise fail(f"expected text, got {value!r}")
            return value
        if kind == "int_tuple":
            items = (value,) * (self.length or 1) if not isinstance(value, list | tuple) else value
            items = tuple(self._as_int(v, fail) for v in items)
            if self.length is not None and len(items) != self.length:
                raise fail(f"expected an integer or {self.length} integers, got {value!r}")
            for v in items:
                self._check_bounds(v, fail)
            return items
        if kind in ("shape", "ints"):
            if isinstance(value, int) and not isinstance(value, bool):
                value = (value,)
            if not isinstance(value, list | tuple):
                raise fail(f"expected a list of integers, got {value!r}")
            items = tuple(self._as_int(v, fail) for v in value)
            if kind == "shape":
                if not items:
                    raise fail("the shape needs at least one dimension")
                if sum(1 for v in items if v == -1) > 1:
                    raise fail("only one dimension may be -1")
                if any(v == 0 or v < -1 for v in items):
                    raise fail(f"dimensions must be positive (or one -1), got {list(items)}")
            return items
        if kind in ("regularizer", "constraint"):
            module = regularizers if kind == "regularizer" else constraints
            try:
                # One canonical JSON form, {"name": ..., **every argument}, whatever was given.
                return module.canonical(value)
            except ValueError as exc:
                raise fail(str(exc)) from None
        raise AssertionError(kind)

    @staticmethod
    def _as_int(value, fail) -> int:
        if isinstance(value, bool):
            raise fail(f"expected an integer, got {value!r}")
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if not isinstance(value, int):
            raise fail(f"expected an integer, got {value!r}")
        return value

    def _check_bounds(self, value, fail) -> None:
        too_low = self.min is not None and (
            value <= self.min if self.min_exclusive else value < self.min
        )
        too_high = self.max is not None and (
            value >= self.max if self.max_exclusive else value > self.max
        )
        if too_low or too_high:
            raise fail(f"{value!r} is out of range; it must be {self.describe_range()}")

    def to_json(self) -> dict:
        """The schema entry as plain data (for tools and documentation)."""
        data = {
            "name": self.name,
            "kind": self.kind,
            "default": _jsonable(self.default),
            "help": self.help,
            "nullable": self.nullable,
            "required": self.required,
        }
        for key in ("choices", "min", "max", "length"):
            if getattr(self, key) is not None:
                data[key] = _jsonable(getattr(self, key))
        if self.kind in ("regularizer", "constraint"):
            # The names an editor offers; None is always allowed for these kinds.
            # The names an editor offers and, for each, the arguments it starts from (those
            # of the bare name, so choosing "l1_l2" gives a penalty, not Keras's 0.0s).
            module = regularizers if self.kind == "regularizer" else constraints
            data["names"] = list(module.NAMES)
            data["defaults"] = {n: module.get(n).get_config() for n in module.NAMES}
        return data


def _jsonable(value):
    return list(value) if isinstance(value, tuple) else value


def regularizer_param(name: str, what: str) -> Param:
    """A ``*_regularizer`` argument (Keras's), ``None`` by default."""
    return Param(
        name,
        "regularizer",
        default=None,
        nullable=True,
        help=f"Penalty on {what} added to the loss: l1, l2, l1_l2 or orthogonal_regularizer",
    )


def constraint_param(name: str, what: str) -> Param:
    """A ``*_constraint`` argument (Keras's), ``None`` by default."""
    return Param(
        name,
        "constraint",
        default=None,
        nullable=True,
        help=f"Projection of {what} after each update: max_norm, min_max_norm, non_neg "
        "or unit_norm (axis in Keras's weight layout)",
    )


def penalty_params(weights: tuple[str, ...], activity: bool = True) -> tuple[Param, ...]:
    """Keras's regularizer and constraint arguments for the named weights, in Keras's order:
    ``<w>_regularizer`` for each, ``activity_regularizer``, then ``<w>_constraint`` for each
    (``weights=("kernel", "bias")`` gives Dense's five)."""
    regs = tuple(regularizer_param(f"{w}_regularizer", f"the {w}") for w in weights)
    act = (regularizer_param("activity_regularizer", "the output"),) if activity else ()
    cons = tuple(constraint_param(f"{w}_constraint", f"the {w}") for w in weights)
    return regs + act + cons


def penalty_map(weights: tuple[str, ...]) -> dict[str, tuple[str, str]]:
    """``Layer.weight_penalties`` for :func:`penalty_params`' arguments."""
    return {w: (f"{w}_regularizer", f"{w}_constraint") for w in weights}


def validate_params(layer_type: str, schema: tuple[Param, ...], given: dict) -> dict:
    """Fill defaults, coerce every value, and refuse unknown or missing arguments."""
    known = {p.name: p for p in schema}
    unknown = sorted(set(given) - set(known))
    if unknown:
        allowed = ", ".join(known) or "none"
        raise ParameterError(
            layer_type, unknown[0], f"unknown parameter (this layer takes: {allowed})"
        )
    result = {}
    for p in schema:
        if p.name in given:
            result[p.name] = p.coerce(layer_type, given[p.name])
        elif p.required:
            raise ParameterError(layer_type, p.name, "this parameter is required")
        else:
            result[p.name] = p.default
    return result
