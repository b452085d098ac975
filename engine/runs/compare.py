"""What differs between runs: every setting of each run as one flat ``key → text`` map.

:func:`run_parameters` flattens a record's project (training settings, dataset and split,
every node's parameters, the wiring) plus its seed, batch size and epochs into keys such as
``training.optimizer.learning_rate`` or ``graph.dense1.units``; :func:`differing` keeps the
keys whose values are not the same in every run given. The Runs panel highlights these.
Node positions are left out: moving a node changes no run.
"""

from __future__ import annotations

import json
from typing import Any

from engine.runs.store import RunRecord

__all__ = ["MISSING", "differing", "run_parameters"]

MISSING = "—"


def run_parameters(record: RunRecord) -> dict[str, str]:
    """Every setting of ``record`` as ``{key: value as text}`` (see the module docstring)."""
    out: dict[str, str] = {
        "seed": str(record.seed),
        "batch_size": str(record.batch_size),
        "epochs": str(record.epochs_done),
    }
    project = record.project
    _flatten("training", project.get("training"), out, skip=("seed", "batch_size", "epochs"))
    _flatten("dataset", project.get("dataset"), out)
    graph = project.get("graph") if isinstance(project.get("graph"), dict) else {}
    for node in graph.get("nodes") or []:
        if not isinstance(node, dict):
            continue
        node_id = str(node.get("id"))
        out[f"graph.{node_id}"] = str(node.get("type"))
        _flatten(f"graph.{node_id}", node.get("params"), out)
    edges = [
        f"{e.get('source')}→{e.get('target')}:{e.get('target_port', 0)}"
        for e in graph.get("edges") or []
        if isinstance(e, dict)
    ]
    out["graph.edges"] = ", ".join(sorted(edges))
    return out


def differing(records: list[RunRecord]) -> dict[str, list[str]]:
    """The keys whose values differ between ``records`` (two or more), each with the value of
    every record in order (:data:`MISSING` where a run lacks the key)."""
    if len(records) < 2:
        return {}
    params = [run_parameters(r) for r in records]
    keys = list(dict.fromkeys(k for p in params for k in p))
    found = {}
    for key in keys:
        values = [p.get(key, MISSING) for p in params]
        if len(set(values)) > 1:
            found[key] = values
    return found


def _flatten(prefix: str, value: Any, out: dict[str, str], skip: tuple = ()) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            if key in skip:
                continue
            _flatten(f"{prefix}.{key}", item, out)
    else:
        out[prefix] = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
