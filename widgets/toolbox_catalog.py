"""What the engine's toolbox offers, read from the engine itself: optimizers, learning-rate
schedules, losses and metrics, each with its constructor arguments.

Nothing here is a hand-written list per optimizer or loss. The entries come from the
engine's ``available()`` registries (``engine.optimizers.available()`` -> ``{identifier:
class}``, and the same for schedules, losses and metrics); where a registry has no
``available()`` yet, from what the module already names (``OPTIMIZER_NAMES``,
``LOSS_NAMES``, ...) or the classes it defines. Each class's arguments come from
``inspect.signature(cls.__init__)``: name, default, a kind deduced from the default (or the
annotation when the default is ``None`` or missing), and help text from the docstring's
``Args:`` section. So a class the engine adds shows up in the app with its arguments, and
nothing has to be edited here.

This module knows no Qt: the forms (:mod:`widgets.argument_form`) are built from it.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import math
import re
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = [
    "REQUIRED",
    "Argument",
    "Entry",
    "losses",
    "metric_names",
    "metrics",
    "optimizers",
    "preview_schedule",
    "schedules",
]

#: The default of an argument that has none (the user must give a value).
REQUIRED = inspect.Parameter.empty

# Arguments a form never shows: the object's display name, and what the panel sets itself.
_HIDDEN = frozenset({"self", "name", "dtype", "kwargs", "args"})

# Known choices of string arguments (from Keras's documentation of those arguments).
_CHOICES: dict[str, tuple[str, ...]] = {
    "reduction": ("sum_over_batch_size", "sum", "mean", "none"),
    "curve": ("ROC", "PR"),
    "summation_method": ("interpolation", "minoring", "majoring"),
    "average": ("micro", "macro", "weighted"),
    "anneal_strategy": ("cos", "linear"),
    # "None" stands for Python's None (R2Score then gives one value per output column)
    "class_aggregation": ("uniform_average", "variance_weighted_average", "None"),
}

# Kinds of arguments whose default (None, or none at all) and annotation say nothing: the
# metrics' counts and class ids are ints, their thresholds and label weights lists.
_KINDS: dict[str, str] = {
    "top_k": "int",
    "class_id": "int",
    "num_classes": "int",
    "ignore_class": "int",
    "num_labels": "int",
    "thresholds": "list",
    "label_weights": "list",
}

# Help for arguments every optimizer shares (Keras's wording), used when a class's
# docstring does not describe them itself.
_GLOSSARY: dict[str, str] = {
    "learning_rate": "The step size, or a schedule of the step (a float by default).",
    "weight_decay": "If set, weight decay is applied: w -= w * weight_decay * lr.",
    "clipnorm": "If set, the gradient of each weight is clipped to be no higher than this.",
    "clipvalue": "If set, the gradient of each weight is clipped to be no higher than this.",
    "global_clipnorm": "If set, the gradient of all weights is clipped so that their "
    "global norm is no higher than this value.",
    "use_ema": "If true, keeps an exponential moving average of the weights and "
    "overwrites the weights with it at the end of training.",
    "ema_momentum": "The momentum of the moving average of the weights (when use_ema).",
    "ema_overwrite_frequency": "Every how many iterations the weights are overwritten by "
    "their moving average (None: only at the end of training).",
    "gradient_accumulation_steps": "If set, the weights are updated every this many "
    "steps, with the mean of the gradients since the last update.",
    "epsilon": "A small constant for numerical stability.",
    "from_logits": "Whether the predictions are logits (no softmax/sigmoid applied) "
    "rather than probabilities.",
    "label_smoothing": "Move this share of the target probability to the other classes "
    "(0: no smoothing).",
    "reduction": "How the per-sample losses are reduced to one number.",
    "axis": "The axis along which the loss is computed.",
    "warmup_steps": "Steps over which the rate rises linearly before the schedule starts.",
    "warmup_target": "The rate the warmup rises to (None: no warmup).",
}


@dataclass(frozen=True)
class Argument:
    """One constructor argument: ``kind`` is ``"float"``, ``"int"``, ``"bool"``, ``"str"``,
    ``"choice"`` (a string from ``choices``) or ``"list"`` (numbers); ``optional`` when
    ``None`` is a valid value (the default is ``None``)."""

    name: str
    kind: str
    default: Any
    optional: bool = False
    choices: tuple[str, ...] = ()
    help: str = ""

    @property
    def required(self) -> bool:
        return self.default is REQUIRED


@dataclass(frozen=True)
class Entry:
    """A class the toolbox offers, under its identifier (``"nadam"``)."""

    identifier: str
    cls: type
    arguments: tuple[Argument, ...] = ()
    summary: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def argument(self, name: str) -> Argument | None:
        return next((a for a in self.arguments if a.name == name), None)

    def defaults(self) -> dict[str, Any]:
        """The arguments that have a default, with it."""
        return {a.name: a.default for a in self.arguments if not a.required}


# -- reading a class --------------------------------------------------------------------------


def summary_line(cls: type) -> str:
    """The first paragraph of the class's own docstring, as one line without reST markup
    (Keras's one-line description); the class name in words when it has none."""
    doc = inspect.cleandoc(cls.__dict__.get("__doc__") or "")
    paragraph = []
    for line in doc.splitlines():
        if not line.strip():
            if paragraph:
                break
            continue
        paragraph.append(line.strip())
    text = " ".join(paragraph).replace("``", "")
    if text:
        return text
    words = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", cls.__name__)
    return words[:1].upper() + words[1:].lower() + "."


def _doc_args(cls: type) -> dict[str, str]:
    """``name -> text`` from a Google-style ``Args:`` section of the class's docstrings."""
    found: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        doc = inspect.cleandoc(klass.__dict__.get("__doc__") or "")
        init = getattr(klass.__dict__.get("__init__"), "__doc__", None) or ""
        for text in (doc, inspect.cleandoc(init)):
            section = re.search(r"^(Args|Arguments):\s*$(.*?)(^\S|\Z)", text, re.M | re.S)
            if not section:
                continue
            current = None
            for line in section.group(2).splitlines():
                match = re.match(r"^\s{2,8}(\w+)(\s*\(.*?\))?:\s*(.*)$", line)
                if match:
                    current = match.group(1)
                    found[current] = match.group(3).strip()
                elif current and line.strip():
                    found[current] += " " + line.strip()
    return found


def _annotation_kind(annotation: Any) -> tuple[str | None, tuple[str, ...]]:
    """The kind an annotation names (and a ``Literal``'s choices)."""
    if annotation is inspect.Parameter.empty or annotation is None:
        return None, ()
    if isinstance(annotation, str):
        text = annotation.replace(" ", "")
        literal = re.search(r"Literal\[(.*?)\]", text)
        if literal:
            choices = tuple(c.strip("'\"") for c in literal.group(1).split(","))
            return "choice", choices
        for token, kind in (
            ("Sequence", "list"),
            ("list", "list"),
            ("tuple", "list"),
            ("bool", "bool"),
            ("float", "float"),
            ("int", "int"),
            ("str", "str"),
        ):
            if re.search(rf"\b{token}\b", text):
                return kind, ()
        return None, ()
    if typing.get_origin(annotation) is typing.Literal:
        return "choice", tuple(str(c) for c in typing.get_args(annotation))
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    origin = typing.get_origin(annotation)
    if origin in (list, tuple) or (origin is not None and "Sequence" in str(origin)):
        return "list", ()
    if args:
        return _annotation_kind(args[0])
    for py, kind in ((bool, "bool"), (float, "float"), (int, "int"), (str, "str")):
        if annotation is py:
            return kind, ()
    return None, ()


def _kind(param: inspect.Parameter) -> tuple[str, tuple[str, ...]]:
    default = param.default
    from_annotation, choices = _annotation_kind(param.annotation)
    if param.name in _CHOICES:
        return "choice", _CHOICES[param.name]
    if from_annotation == "choice":
        return "choice", choices
    if isinstance(default, bool):
        return "bool", ()
    if isinstance(default, int):
        # ``alpha: float = 0`` is a float argument with an int-looking default.
        return ("float" if from_annotation == "float" else "int"), ()
    if isinstance(default, float):
        return "float", ()
    if isinstance(default, str):
        return "str", ()
    if isinstance(default, list | tuple):
        return "list", ()
    return from_annotation or _KINDS.get(param.name, "float"), ()


@functools.cache
def arguments_of(cls: type, hidden: frozenset[str] = frozenset()) -> tuple[Argument, ...]:
    """The constructor arguments of ``cls`` a form shows (see the module docstring)."""
    docs = _doc_args(cls)
    found = []
    for param in _parameters(cls):
        if param.name in _HIDDEN or param.name in hidden:
            continue
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        kind, choices = _kind(param)
        default = param.default
        if isinstance(default, tuple):
            default = list(default)
        text = docs.get(param.name) or _GLOSSARY.get(param.name, "")
        found.append(
            Argument(
                name=param.name,
                kind=kind,
                default=default,
                optional=default is None,
                choices=choices,
                help=text,
            )
        )
    return tuple(found)


def _parameters(cls: type) -> list[inspect.Parameter]:
    """The named parameters of ``cls.__init__``; where it passes ``**kwargs`` on, those of
    its base classes too (Keras's optimizers take ``clipnorm``, ``use_ema``, ... that way)."""
    seen: dict[str, inspect.Parameter] = {}
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None:
            continue
        try:
            signature = inspect.signature(init)
        except (TypeError, ValueError):
            break
        passes_on = False
        for param in signature.parameters.values():
            if param.kind == param.VAR_KEYWORD:
                passes_on = True
            elif param.kind != param.VAR_POSITIONAL and param.name not in seen:
                seen[param.name] = param
        if not passes_on:
            break
    return list(seen.values())


def _entries(classes: Mapping[str, type], hidden: frozenset[str] = frozenset()) -> dict:
    return {
        str(name): Entry(str(name), cls, arguments_of(cls, hidden), summary_line(cls))
        for name, cls in classes.items()
        if isinstance(cls, type)
    }


def _module(name: str):
    try:
        return importlib.import_module(f"engine.{name}")
    except ImportError:
        return None


def _registry(module, fallback) -> dict[str, type]:
    available = getattr(module, "available", None) if module is not None else None
    if callable(available):
        try:
            return dict(available())
        except Exception:  # noqa: BLE001 - an engine mid-change must not break the panel
            pass
    return fallback(module) if module is not None else {}


def _subclasses(module, base_name: str, attribute: str) -> dict[str, type]:
    """Classes of ``module`` derived from ``module.<base_name>``, keyed by ``attribute``."""
    base = getattr(module, base_name, None)
    found = {}
    for value in vars(module).values():
        if isinstance(value, type) and base is not None and issubclass(value, base):
            key = getattr(value, attribute, "")
            if key and not inspect.isabstract(value):
                found.setdefault(key, value)
    return found


# -- the four registries ----------------------------------------------------------------------


def optimizers() -> dict[str, Entry]:
    """``{identifier: Entry}`` of every optimizer; ``learning_rate`` is not among the
    arguments (the panel's rate field and the schedule set it)."""

    def fallback(module) -> dict[str, type]:
        names = getattr(module, "OPTIMIZER_NAMES", None)
        class_for = getattr(module, "_class_for", None)
        if names and class_for:
            return {n: class_for(n) for n in names}
        return _subclasses(module, "Optimizer", "type_name")

    return _entries(_registry(_module("optimizers"), fallback), frozenset({"learning_rate"}))


def schedules() -> dict[str, Entry]:
    """``{identifier: Entry}`` of every learning-rate schedule."""

    def fallback(module) -> dict[str, type]:
        return _subclasses(module, "LearningRateSchedule", "config_name")

    return _entries(_registry(_module("schedules"), fallback))


def losses() -> dict[str, Entry]:
    """``{identifier: Entry}`` of every loss."""

    def fallback(module) -> dict[str, type]:
        names = getattr(module, "LOSS_NAMES", ())
        class_for = getattr(module, "_class_for", None)
        return {n: class_for(n) for n in names} if class_for else {}

    return _entries(_registry(_module("losses"), fallback))


def metrics() -> dict[str, Entry]:
    """``{identifier: Entry}`` of every metric, also those that need an argument (MeanIoU's
    ``num_classes``): the Setup tab writes those as ``{"name": ..., **arguments}``."""
    return _entries(_registry(_module("metrics"), lambda module: {}))


def metric_names() -> list[str]:
    """Metric names a project can list under ``training.metrics``: those the engine builds
    from the name alone (a metric that needs an argument, like MeanIoU's ``num_classes``,
    cannot be given as a name)."""
    module = _module("metrics")
    if module is None:
        return []
    available = getattr(module, "available", None)
    names: list[str] = []
    if callable(available):
        try:
            names = [str(n) for n in available()]
        except Exception:  # noqa: BLE001 - an engine mid-change must not break the panel
            names = []
    if not names:
        names = [str(n) for n in getattr(module, "METRIC_NAMES", ())]
    get = getattr(module, "get", None)
    usable = []
    for name in names:
        try:
            if get is not None:
                get(name)
        except Exception:  # noqa: BLE001 - not buildable by name: not offered
            continue
        usable.append(name)
    return usable


def build_schedule(config: Mapping[str, Any]):
    """The engine's schedule for a project-file dict (``ValueError`` when it is wrong)."""
    module = _module("schedules")
    if module is None:
        raise ValueError("the engine has no learning-rate schedules")
    return module.get(dict(config))


def preview_schedule(config: Mapping[str, Any] | float, steps: int) -> np.ndarray:
    """The learning rate at steps ``0 .. steps - 1``: ``engine.schedules.preview`` where the
    engine has it, else the schedule called step by step. A number is a constant rate."""
    steps = max(1, int(steps))
    if not isinstance(config, Mapping):
        return np.full(steps, float(config))
    schedule = build_schedule(config)
    module = _module("schedules")
    preview = getattr(module, "preview", None)
    if callable(preview):
        return np.asarray(preview(schedule, steps), dtype=np.float64).reshape(-1)[:steps]
    return np.array([float(schedule(i)) for i in range(steps)], dtype=np.float64)


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
