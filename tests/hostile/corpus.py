"""The hostile-input corpus: each case writes its small files into a folder of its own at test
time and says which ``layercanvas`` command a user would run on them, and what must happen.

A case is a function registered with :func:`case`; it receives its (empty) folder, writes
what it needs there and returns the command line(s) to run in that folder, the last one
being the case itself (earlier ones set the scene, such as a good model trained first).
The expectations it declares are checked by ``test_hostile_inputs.py``:

- ``expect="error"``: exit status 1 or 2 with exactly one error line on stderr, starting
  with ``layercanvas:`` and containing ``names`` (the file or path the problem is in);
  ``expect="ok"``: exit status 0 and no error line; ``expect="usage"``: exit status 2.
- ``also``: regular expressions the error line must match (a node name, "step");
  ``forbid``: regular expressions nothing the command printed may match.
- ``cpu_s``: the child's CPU-time budget (5 s unless a defect asks for less).
- ``post``: a check of the files left behind, run by the test (finite weights, file modes).
- ``defect``: the number of the defect in issue 15 this case covers, if any.

The families live in ``cases_*.py`` beside this module; :func:`all_cases` gathers them.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["Case", "case", "all_cases", "write_project", "chain", "mlp", "TRAINING"]

Steps = list[list[str]]


@dataclass
class Case:
    id: str
    make: Callable[[Path], Steps]
    names: str | None
    expect: str = "error"
    also: tuple[str, ...] = ()
    forbid: tuple[str, ...] = ()
    defect: str | None = None
    may_block: bool = False
    cpu_s: float = 5.0
    warning: bool = False
    post: Callable[[Path], None] | None = None
    tags: tuple[str, ...] = field(default_factory=tuple)


_REGISTRY: dict[str, Case] = {}


def case(
    case_id: str,
    *,
    names: str | None,
    expect: str = "error",
    also: tuple[str, ...] | list[str] = (),
    forbid: tuple[str, ...] | list[str] = (),
    defect: str | None = None,
    may_block: bool = False,
    cpu_s: float = 5.0,
    warning: bool = False,
    post: Callable[[Path], None] | None = None,
) -> Callable[[Callable[[Path], Steps]], Callable[[Path], Steps]]:
    """Register the decorated ``make(folder) -> steps`` as the case ``case_id``."""
    if expect not in ("error", "ok", "usage"):
        raise ValueError(expect)

    def register(make: Callable[[Path], Steps]) -> Callable[[Path], Steps]:
        if case_id in _REGISTRY:
            raise ValueError(f"two hostile cases are named {case_id!r}")
        _REGISTRY[case_id] = Case(
            case_id,
            make,
            names,
            expect,
            tuple(also),
            tuple(forbid),
            defect,
            may_block,
            cpu_s,
            warning,
            post,
        )
        return make

    return register


def all_cases() -> list[Case]:
    """Every registered case, in a stable order (by family, then as written)."""
    from tests.hostile import (  # noqa: F401, PLC0415 - registering is importing
        cases_data,
        cases_model,
        cases_onnx,
        cases_project,
        cases_special,
    )

    return list(_REGISTRY.values())


# -- project documents ----------------------------------------------------------------------

TRAINING: dict[str, Any] = {
    "loss": "sparse_categorical_crossentropy",
    "optimizer": {"name": "adam", "learning_rate": 0.01},
    "metrics": ["accuracy"],
    "batch_size": 16,
    "epochs": 1,
    "seed": 0,
}


def chain(*layers: tuple[str, str, dict]) -> dict:
    """A graph of ``(id, type, params)`` nodes, each wired to the next."""
    nodes = [
        {"id": i, "type": t, "params": p, "position": [220 * k, 0]}
        for k, (i, t, p) in enumerate(layers)
    ]
    edges = [
        {"source": a[0], "target": b[0], "target_port": 0}
        for a, b in zip(layers, layers[1:], strict=False)
    ]
    return {"nodes": nodes, "edges": edges}


def mlp(features: int | list[int], classes: int = 2, flatten: bool = False) -> dict:
    """Input -> (Flatten) -> Dense 8 relu -> Dense ``classes`` softmax."""
    shape = [features] if isinstance(features, int) else list(features)
    layers = [("input", "Input", {"shape": shape})]
    if flatten:
        layers.append(("flat", "Flatten", {}))
    layers += [
        ("hidden", "Dense", {"units": 8, "activation": "relu"}),
        ("output", "Dense", {"units": classes, "activation": "softmax"}),
    ]
    return chain(*layers)


def project_doc(
    graph: dict, dataset: dict | None = None, training: dict | None = None, **extra: Any
) -> dict:
    doc: dict[str, Any] = {
        "format": "layercanvas-project",
        "version": 1,
        "name": "hostile",
        "graph": graph,
    }
    if dataset is not None:
        doc["dataset"] = dataset
    doc["training"] = dict(TRAINING if training is None else training)
    doc.update(extra)
    return doc


def write_project(
    folder: Path,
    graph: dict,
    dataset: dict | None = None,
    training: dict | None = None,
    file: str = "p.lcproj",
    **extra: Any,
) -> str:
    """Write a project file into ``folder``; returns its name (commands run in ``folder``)."""
    doc = project_doc(graph, dataset, training, **extra)
    (folder / file).write_text(json.dumps(doc, indent=1), encoding="utf-8")
    return file


def write(folder: Path, name: str, data: bytes | str) -> str:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        path.write_text(data, encoding="utf-8")
    else:
        path.write_bytes(data)
    return name


def random_bytes(n: int, seed: int) -> bytes:
    """Reproducible noise (not os.urandom: a failing case must fail the same way again)."""
    import numpy as np  # noqa: PLC0415

    return np.random.default_rng(seed).integers(0, 256, n, dtype=np.uint8).tobytes()


def fifo(folder: Path, name: str) -> str:
    """A named pipe that nobody ever writes to: opening it for reading blocks forever."""
    os.mkfifo(folder / name)
    return name
