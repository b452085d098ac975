"""Sweep parameters: ``NAME=VALUES`` read from text, then bound to what they change.

:func:`parse_param` reads one parameter as a user writes it (``--param`` on the command
line, a row in the app)::

    lr=1e-4:1e-1:log:6        a log range: 6 values from 1e-4 to 1e-1, both ends included
    hidden.units=32:128:4     a linear range: 32, 64, 96, 128
    units=32,64,128           a list of numbers
    optimizer=adam,sgd        a list of names

:func:`resolve_params` binds each name to the setting it changes and checks every value
before anything starts: training settings (``learning_rate`` or ``lr``, ``batch_size``,
``epochs``, ``optimizer``, ``schedule``, ``optimizer.<argument>``) and node parameters
(``<node id>.<param>``, or the bare ``<param>`` when exactly one node has it). Node values
are checked against the layer type's parameter schema, training values against the
optimizer and schedule registries, and each value applied to the project must not add an
error to the project's check. Every problem is a :class:`SweepError` naming the parameter
and the value.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

from engine.experiments.errors import SweepError

__all__ = [
    "MAX_VALUES",
    "TRAINING_PARAMS",
    "SweepParam",
    "parse_param",
    "resolve_params",
]

#: The most values one parameter may have (a typo such as ``1:10:10000`` is not a sweep).
MAX_VALUES = 1000
#: Training settings that can be swept, with the label a table shows.
TRAINING_PARAMS = {
    "learning_rate": "learning rate",
    "batch_size": "batch size",
    "epochs": "epochs",
    "optimizer": "optimizer",
    "schedule": "schedule",
}
_ALIASES = {"lr": "learning_rate", "batch": "batch_size"}
_NAME = re.compile(r"^[A-Za-z_][\w.\-]*$")
_INT = re.compile(r"^[+-]?\d+$")
_WORD = re.compile(r"^[A-Za-z_][\w\-]*$")
_SWEEPABLE_KINDS = ("int", "float", "bool", "choice", "int_tuple", "str")


@dataclass
class SweepParam:
    """One swept parameter.

    ``name`` is canonical once resolved (``learning_rate``, ``hidden.units``,
    ``optimizer.beta_1``); ``spec`` is the values' text as given; ``values`` are JSON values
    (ints stay ints for integer parameters); ``target`` is ``"training"`` or ``"node"``
    (``None`` until :func:`resolve_params`); ``label`` is what a table's header shows.
    """

    name: str
    spec: str
    values: list[Any]
    target: str | None = None
    label: str = ""
    is_range: bool = False
    node: str | None = None  # for node parameters
    param: str | None = None  # the node's parameter, or the optimizer's argument
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def text(self) -> str:
        """``NAME=VALUES``, as it would be typed."""
        return f"{self.name}={self.spec}"

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "spec": self.spec,
            "values": list(self.values),
            "target": self.target,
            "label": self.label or self.name,
        }


# -- reading the text ---------------------------------------------------------------------------


def parse_param(text: str) -> SweepParam:
    """``NAME=VALUES`` -> a :class:`SweepParam` (name not yet resolved; see the module doc)."""
    if not isinstance(text, str) or "=" not in text:
        raise SweepError(
            f"parameter {text!r}: write NAME=VALUES, e.g. lr=1e-4:1e-1:log:6 or units=32,64"
        )
    name, _, spec = text.partition("=")
    name, spec = name.strip(), spec.strip()
    if not name:
        raise SweepError(f"parameter {text!r}: the name before '=' is missing")
    if not _NAME.match(name):
        raise SweepError(f"parameter {name!r}: not a parameter name")
    if not spec:
        raise SweepError(f"parameter {name}: no values after '=' (an empty list)")
    if ":" in spec:
        values = _range(name, spec)
        return SweepParam(name, spec, values, label=name, is_range=True)
    items = [item.strip() for item in spec.split(",")]
    if any(not item for item in items):
        raise SweepError(f"parameter {name}: an empty value in the list {spec!r}")
    values = [_scalar(name, item) for item in items]
    _no_repeats(name, values)
    if len(values) > MAX_VALUES:
        raise SweepError(f"parameter {name}: {len(values)} values; at most {MAX_VALUES}")
    return SweepParam(name, spec, values, label=name)


def _scalar(name: str, item: str) -> Any:
    if _INT.match(item):
        return int(item)
    lowered = item.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered in ("nan", "inf", "+inf", "-inf", "infinity", "-infinity"):
        raise SweepError(f"parameter {name}: {item} is not a usable value (finite numbers only)")
    try:
        return float(item)
    except ValueError:
        pass
    if not _WORD.match(item):
        raise SweepError(f"parameter {name}: {item!r} is neither a number nor a name")
    return item


def _number(name: str, what: str, item: str) -> float | int:
    value = _scalar(name, item.strip())
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SweepError(f"parameter {name}: the range's {what} {item.strip()!r} is not a number")
    return value


def _range(name: str, spec: str) -> list[Any]:
    parts = spec.split(":")
    log = len(parts) == 4 and parts[2].strip().lower() == "log"
    if len(parts) not in (3, 4) or (len(parts) == 4 and not log):
        raise SweepError(
            f"parameter {name}: {spec!r} is not a range; write start:stop:count (linear) or "
            "start:stop:log:count (logarithmic)"
        )
    start = _number(name, "start", parts[0])
    stop = _number(name, "stop", parts[1])
    count_text = parts[-1].strip()
    if not _INT.match(count_text):
        raise SweepError(
            f"parameter {name}: the range's count {count_text!r} is not a whole number"
        )
    count = int(count_text)
    if count < 1:
        raise SweepError(f"parameter {name}: the range's count must be at least 1, got {count}")
    if count > MAX_VALUES:
        raise SweepError(f"parameter {name}: the range's count {count} is above {MAX_VALUES}")
    if log:
        for what, value in (("start", start), ("stop", stop)):
            if value <= 0:
                raise SweepError(
                    f"parameter {name}: a log range needs start and stop > 0, got {what} {value}"
                )
        if count == 1:
            return [start]
        lo, hi = math.log(start), math.log(stop)
        values = [_tidy(math.exp(lo + (hi - lo) * i / (count - 1))) for i in range(count)]
        values[0], values[-1] = start, stop  # the ends exactly as written
        return values
    if count == 1:
        return [start]
    step = (stop - start) / (count - 1)
    whole = isinstance(start, int) and isinstance(stop, int) and (stop - start) % (count - 1) == 0
    if whole:
        return [start + (stop - start) // (count - 1) * i for i in range(count)]
    return [_tidy(start + step * i) for i in range(count)]


def _tidy(value: float) -> float:
    """Drop floating-point dust (0.30000000000000004 -> 0.3) so tables read well."""
    return float(f"{value:.10g}")


def _no_repeats(name: str, values: list[Any]) -> None:
    seen = []
    for value in values:
        if any(value == s and type(value) is type(s) for s in seen):
            raise SweepError(f"parameter {name}: the value {value!r} is listed twice")
        seen.append(value)


# -- binding names to settings ------------------------------------------------------------------


def resolve_params(project, params: list[SweepParam | str]) -> list[SweepParam]:
    """Bind each parameter to what it changes in ``project`` (a ``Project`` or its JSON) and
    check every value; see the module docstring. Raises :class:`SweepError`."""
    from engine.experiments.checks import check_value_in_project  # noqa: PLC0415

    project_json = project.to_json() if hasattr(project, "to_json") else project
    if not params:
        raise SweepError("no parameters to sweep: give at least one, e.g. lr=1e-4:1e-1:log:6")
    resolved: list[SweepParam] = []
    for item in params:
        param = parse_param(item) if isinstance(item, str) else item
        bound = _bind(project_json, param)
        if any(p.name == bound.name for p in resolved):
            raise SweepError(f"parameter {bound.name} is given twice")
        resolved.append(bound)
    for param in resolved:
        for value in param.values:
            check_value_in_project(project_json, param, value, resolved)
    return resolved


def _bind(project_json: dict, param: SweepParam) -> SweepParam:
    from engine.experiments import checks  # noqa: PLC0415

    raw = param.name
    name = _ALIASES.get(raw, raw)
    name = name.removeprefix("training.")
    name = _ALIASES.get(name, name)
    if name in TRAINING_PARAMS:
        values = checks.training_values(name, param, project_json)
        return SweepParam(
            name, param.spec, values, "training", TRAINING_PARAMS[name], param.is_range
        )
    if name.startswith("optimizer."):
        arg = name.partition(".")[2]
        values = checks.optimizer_arg_values(arg, param, project_json)
        return SweepParam(name, param.spec, values, "training", arg, param.is_range, param=arg)
    nodes = {n.get("id"): n for n in project_json.get("graph", {}).get("nodes", [])}
    if "." in name:
        node_id, _, key = name.rpartition(".")
        if node_id not in nodes:
            known = ", ".join(sorted(str(n) for n in nodes)) or "none"
            raise SweepError(
                f"parameter {raw}: the project has no node {node_id!r} (its nodes: {known})"
            )
    else:
        key = name
        having = [nid for nid, node in nodes.items() if _schema_param(node, key) is not None]
        if not having:
            raise SweepError(
                f"unknown parameter {raw!r}: not a training setting "
                f"({', '.join(['lr', *TRAINING_PARAMS, 'optimizer.<argument>'])}) and no node "
                f"has a parameter of that name; name a node's as <node id>.<param>"
            )
        if len(having) > 1:
            candidates = ", ".join(f"{nid}.{key}" for nid in having)
            raise SweepError(
                f"parameter {raw}: {len(having)} nodes have '{key}' ({candidates}); name one"
            )
        node_id = having[0]
    node = nodes[node_id]
    spec = _schema_param(node, key)
    if spec is None:
        raise SweepError(
            f"parameter {raw}: node '{node_id}' ({node.get('type')}) has no parameter '{key}'"
        )
    if spec.kind not in _SWEEPABLE_KINDS:
        raise SweepError(f"parameter {raw}: '{key}' ({spec.kind}) cannot be swept")
    canonical = f"{node_id}.{key}"
    values = checks.node_values(canonical, node.get("type"), spec, param)
    return SweepParam(
        canonical, param.spec, values, "node", canonical, param.is_range, node=node_id, param=key
    )


def _schema_param(node: dict, key: str):
    """The ``engine.layers.schema.Param`` named ``key`` of the node's layer type, or None."""
    import engine.layers  # noqa: F401, PLC0415 - registers every layer type
    from engine.layers.base import LAYER_TYPES  # noqa: PLC0415

    cls = LAYER_TYPES.get(node.get("type"))
    if cls is None:
        return None
    return next((p for p in cls.params if p.name == key), None)
