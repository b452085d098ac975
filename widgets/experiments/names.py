"""What a sweep can change in a project: the names the sweep editor's chooser lists.

Training settings first (``learning_rate``, ``batch_size``, ``epochs``, ``optimizer``,
``schedule`` and the current optimizer's own arguments as ``optimizer.<arg>``), then every
number, choice or switch parameter of every layer of the graph as ``<node_id>.<param>``.
The list only helps the user type; the engine's ``resolve_params`` decides what is valid.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["SweepName", "sweep_names"]

_TRAINING = (
    ("learning_rate", "Learning rate of the optimizer", "1e-4:1e-1:log:6"),
    ("batch_size", "Samples per training step", "16,32,64"),
    ("epochs", "Epochs each trial trains", "5,10,20"),
    ("optimizer", "Optimizer (by name)", "adam,sgd,rmsprop"),
    ("schedule", "Learning-rate schedule (by name, or none)", "none,cosine_decay"),
)
# Optimizer arguments that are not numbers to sweep (or are swept under another name).
_SKIPPED_OPTIMIZER_ARGS = {
    "name",
    "learning_rate",
    "ema_momentum",
    "ema_overwrite_frequency",
    "loss_scale_factor",
}
# Values worth trying for the common optimizer arguments (the placeholder of the field).
_OPTIMIZER_EXAMPLES = {
    "weight_decay": "0,1e-4,1e-2",
    "clipnorm": "0.5,1.0,5.0",
    "clipvalue": "0.5,1.0",
    "global_clipnorm": "0.5,1.0,5.0",
    "gradient_accumulation_steps": "2,4,8",
    "beta_1": "0.8,0.9,0.95",
    "beta_2": "0.99,0.999",
    "epsilon": "1e-8:1e-6:log:3",
    "momentum": "0.0,0.5,0.9",
    "rho": "0.8,0.9,0.95",
}
_SWEEPABLE_KINDS = {"int", "float", "choice", "bool"}


@dataclass(frozen=True)
class SweepName:
    """One entry of the chooser: the ``name`` to type, a ``help`` line for its tooltip and
    an ``example`` of values (the placeholder of the values field)."""

    name: str
    help: str
    example: str
    group: str  # "training" or "node"


def sweep_names(project_json: dict[str, Any]) -> list[SweepName]:
    """The names of ``project_json`` (a project's JSON) a sweep can change, in order."""
    names = [SweepName(n, h, e, "training") for n, h, e in _TRAINING]
    names += _optimizer_names(project_json.get("training") or {})
    graph = project_json.get("graph") or {}
    schemas: dict[str, Any] = {}  # type -> its parameters (a big graph repeats types)
    for node in graph.get("nodes") or []:
        names += _node_names(node, schemas)
    return names


def _optimizer_names(training: dict[str, Any]) -> list[SweepName]:
    from engine.optimizers.registry import available  # noqa: PLC0415

    optimizer = training.get("optimizer", "adam")
    name = optimizer.get("name", "adam") if isinstance(optimizer, dict) else optimizer
    cls = available().get(str(name).lower())
    if cls is None:
        return []
    found = []
    for arg, default in cls().get_config().items():
        if arg in _SKIPPED_OPTIMIZER_ARGS or isinstance(default, bool):
            continue
        example = _OPTIMIZER_EXAMPLES.get(arg) or (f"{default:g}" if default is not None else "")
        found.append(
            SweepName(f"optimizer.{arg}", f"{cls.__name__} argument {arg}", example, "training")
        )
    return found


def _node_names(node: dict[str, Any], schemas: dict[str, Any]) -> list[SweepName]:
    from engine.graph.registry_info import layer_info  # noqa: PLC0415

    node_type, node_id = str(node.get("type")), node.get("id")
    if node_type == "Input" or not isinstance(node_id, str):
        return []
    if node_type not in schemas:
        try:
            schemas[node_type] = layer_info(node_type).params
        except KeyError:
            schemas[node_type] = ()
    found = []
    params = node.get("params") or {}
    for param in schemas[node_type]:
        if param["kind"] not in _SWEEPABLE_KINDS:
            continue
        current = params.get(param["name"], param.get("default"))
        found.append(
            SweepName(
                f"{node_id}.{param['name']}",
                f"{node_type} '{node_id}': {param.get('help', param['name'])}",
                _example(param, current),
                "node",
            )
        )
    return found


def _example(param: dict[str, Any], current: Any) -> str:
    kind = param["kind"]
    if kind == "choice":
        return ",".join(str(c) for c in param.get("choices", [])[:3])
    if kind == "bool":
        return "true,false"
    if kind == "int" and current is None:
        return "0,1,2"
    if kind == "int" and isinstance(current, int):
        return ",".join(str(max(1, v)) for v in (current // 2, current, current * 2))
    if kind == "float" and isinstance(current, int | float) and current > 0:
        high = param.get("max")
        double = current * 2 if high is None else min(high, current * 2)
        return f"{current / 2:g},{current:g},{double:g}"
    return ""
