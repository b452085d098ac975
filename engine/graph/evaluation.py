"""One node on its own: its parameters validated into a layer instance, and its shape
inference (output shape, parameter counts, FLOPs) for given input shapes.

These are the pieces :class:`engine.graph.checker.GraphChecker` caches between checks, keyed
by (type, parameters) and (type, parameters, input shapes). Nothing here allocates weights:
a layer is constructed but never built, and parameter counts come from its weight specs'
shapes as Python ints.
"""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass
from typing import Any

from engine.graph.results import Shape

__all__ = ["Evaluation", "Problem", "evaluate", "freeze", "instantiate", "parameter_fix"]


@dataclass(frozen=True)
class Problem:
    """A diagnostic without the node and edge ids (those are filled in per use)."""

    code: str
    message: str
    fix: str | None = None
    param: str | None = None


@dataclass(frozen=True)
class Evaluation:
    output_shape: Shape | None
    param_count: int | None
    flops: int | None
    problem: Problem | None
    trainable_count: int | None = None


def freeze(value: Any) -> Any:
    """A hashable form of JSON data that keeps ``1``, ``1.0`` and ``True`` apart."""
    if isinstance(value, dict):
        return ("{}", tuple(sorted((str(k), freeze(v)) for k, v in value.items())))
    if isinstance(value, list | tuple):
        return ("[]", tuple(freeze(v) for v in value))
    return (type(value).__name__, value)


def instantiate(cls: type, params: dict[str, Any]):
    """A layer instance for shape inference, or the list of :class:`Problem` its parameters
    cause (every bad parameter, not only the first)."""
    from engine.layers.schema import ParameterError  # noqa: PLC0415

    schema = {p.name: p for p in cls.params}
    problems = []
    for name, value in params.items():
        if name == "trainable":  # every layer's freeze flag (Layer.__init__), in no schema
            if not isinstance(value, bool):
                problems.append(
                    Problem(
                        "parameter",
                        f"trainable must be true or false, got {value!r}",
                        "set trainable to true or false",
                        name,
                    )
                )
            continue
        param = schema.get(name)
        try:
            if param is None:
                raise ParameterError(
                    cls.type_name,
                    name,
                    f"{cls.type_name} has no such parameter (it takes: "
                    f"{', '.join(schema) or 'none'})",
                )
            param.coerce(cls.type_name, value)
        except ParameterError as err:
            problems.append(Problem("parameter", err.message, parameter_fix(cls, err, value), name))
    for param in cls.params:
        if param.required and param.name not in params:
            problems.append(
                Problem("parameter", "this parameter is required", f"set {param.name}", param.name)
            )
    if problems:
        return problems
    try:
        return cls(**params, name=f"_check_{cls.type_name}")
    except ParameterError as err:  # relations between parameters (validate_config)
        return [Problem("parameter", err.message, parameter_fix(cls, err, None), err.param)]
    except (TypeError, ValueError) as err:
        return [Problem("parameter", str(err), "check this layer's parameters")]


def parameter_fix(cls: type, err, value: Any) -> str | None:
    schema = {p.name: p for p in cls.params}
    param = schema.get(err.param)
    if param is None:  # an unknown parameter name
        close = difflib.get_close_matches(err.param, list(schema), n=1, cutoff=0.6)
        if close:
            return f"did you mean '{close[0]}'? Rename it"
        return f"remove '{err.param}'"
    if param.kind == "choice":
        close = (
            difflib.get_close_matches(value, [str(c) for c in param.choices or ()], n=1)
            if isinstance(value, str)
            else []
        )
        return f"did you mean '{close[0]}'?" if close else f"use {param.describe_range()}"
    if value is None and not param.nullable:
        return f"set {param.name}"
    bounds = "" if param.min is None and param.max is None else f" {param.describe_range()}"
    if param.kind == "int":
        return f"set {param.name} to an integer{bounds}"
    if param.kind == "float":
        return f"set {param.name} to a number{bounds}"
    if param.kind == "bool":
        return f"set {param.name} to true or false"
    if param.kind in ("shape", "ints"):
        return f"set {param.name} to a list of positive integers, e.g. [1, 8, 8]"
    if param.kind == "int_tuple":
        return f"set {param.name} to an integer or a list of {param.length or 1} integers"
    return None


def evaluate(cls: type, layer: Any, shapes: list[Shape]) -> Evaluation:
    from engine.layers.base import ShapeError  # noqa: PLC0415
    from engine.layers.schema import ParameterError  # noqa: PLC0415

    if cls.max_inputs == 0:
        shape_arg = None
    elif cls.max_inputs == 1:
        shape_arg = shapes[0]
    else:
        shape_arg = list(shapes)
    try:
        out = tuple(int(d) for d in layer.compute_output_shape(shape_arg))
    except ShapeError as err:
        return Evaluation(None, None, None, Problem("shape", err.message, err.fix))
    except ParameterError as err:
        return Evaluation(None, None, None, Problem("parameter", err.message, None, err.param))
    except ValueError as err:
        return Evaluation(None, None, None, Problem("shape", str(err)))
    except Exception as err:  # a layer type's own bug must not take the canvas down
        return Evaluation(
            None,
            None,
            None,
            Problem(
                "internal",
                f"{cls.type_name} failed to work out its output shape "
                f"({type(err).__name__}: {err})",
                "please report this; meanwhile try other parameter values",
            ),
        )
    try:
        specs = layer.weight_specs(shape_arg)  # shapes only: nothing is allocated
        params = sum(math.prod(s.shape) for s in specs)
        frozen = not getattr(layer, "trainable", True)  # the node's "trainable": false
        trainable = 0 if frozen else sum(math.prod(s.shape) for s in specs if s.trainable)
    except Exception:
        params = trainable = None
    try:
        flops = int(layer.flops(shape_arg))
    except Exception:
        flops = None
    return Evaluation(out, params, flops, None, trainable)
