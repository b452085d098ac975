"""Project files (``*.lcproj``): the graph, the data choice and the training settings.

The format is a contract (DESIGN.md, "The graph document and project files")::

    {"format": "layercanvas-project", "version": 1, "name": "Digits CNN",
     "description": "...", "graph": {...}, "dataset": {"name": "digits", ...},
     "training": {"loss": ..., "optimizer": {"name": "adam", "learning_rate": 0.001},
                  "metrics": ["accuracy"], "batch_size": 32, "epochs": 20, "seed": 0},
     "weights": "model.lcmodel"}

Loading checks the structure and raises :class:`ProjectError` naming the file, the key path
and the problem (bad JSON gives the line and column; files that are not regular files, or
are oversized, are refused before being read; numbers too large for any setting and absurd
nesting are refused by key path: :mod:`engine.graph.project_json`). Whether the layer types,
parameter values, loss and optimizer names make sense is :meth:`Project.check`'s question: it
returns diagnostics (never raises), so a project with a mistake still opens and shows what to
fix. Keys this version does not know are kept on round trip and listed in
:attr:`Project.warnings`. Older format versions are upgraded by the functions registered with
:func:`migration` (:mod:`engine.graph.project_migrations`); newer ones are refused clearly.
The ``training`` object is checked in :mod:`engine.graph.project_training`. Saving is atomic
and gives the file the permissions a plain ``open()`` would (:mod:`engine.safe_files`).
"""

from __future__ import annotations

import copy
import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.graph.compiler import CheckResult, GraphChecker
from engine.graph.diagnostics import ERROR, WARNING, Diagnostic
from engine.graph.document import GraphDocument, GraphFormatError
from engine.graph.project_json import (
    ProjectError,
    dumps_readable,
    join_key,
    read_json_file,
)
from engine.graph.project_migrations import (
    CURRENT_VERSION,
    FORMAT,
    MIGRATIONS,
    migrate,
    migration,
)
from engine.graph.project_training import (
    CALLBACKS,
    TRAINING_KEYS,
    check_training,
    check_training_names,
)
from engine.safe_files import write_text_atomic

__all__ = [
    "CALLBACKS",
    "CURRENT_VERSION",
    "FORMAT",
    "MAX_PROJECT_BYTES",
    "MIGRATIONS",
    "Project",
    "ProjectCheck",
    "ProjectError",
    "dumps_readable",
    "load_project",
    "migrate",
    "migration",
    "read_json_file",
    "save_project",
    "write_text_atomic",
]

#: Project files hold a graph and settings, never data; anything bigger is not one.
MAX_PROJECT_BYTES = 4 * 1024 * 1024

_TOP_KEYS = ("format", "version", "name", "description", "graph", "dataset", "training", "weights")


@dataclass
class ProjectCheck:
    """The result of :meth:`Project.check`: the graph's check plus the settings' problems.

    Every diagnostic carries the key path it concerns in ``key`` form through
    :meth:`Project.key_of`.
    """

    graph: CheckResult
    diagnostics: list[Diagnostic]

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == ERROR]

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == WARNING]


@dataclass
class Project:
    """A graph with its dataset and training settings, as read from or written to a file.

    ``name`` is the graph's name (``graph.name``). ``description`` and ``weights`` are
    ``None`` when the file does not have them. ``extra`` keeps unknown top-level keys.
    """

    graph: GraphDocument
    dataset: dict[str, Any] = field(default_factory=dict)
    training: dict[str, Any] = field(default_factory=dict)
    description: str | None = None
    weights: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.graph.name

    @property
    def base_dir(self) -> Path:
        """Where relative paths (data files, weights) start: the project file's folder."""
        return self.path.parent if self.path is not None else Path.cwd()

    @property
    def weights_path(self) -> Path | None:
        if self.weights is None:
            return None
        return (self.base_dir / self.weights).resolve()

    # JSON -----------------------------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"format": FORMAT, "version": CURRENT_VERSION, "name": self.name}
        if self.description is not None:
            data["description"] = self.description
        data["graph"] = self.graph.to_json()
        data["dataset"] = copy.deepcopy(self.dataset)
        data["training"] = copy.deepcopy(self.training)
        if self.weights is not None:
            data["weights"] = self.weights
        data.update(copy.deepcopy(self.extra))
        return data

    def dumps(self) -> str:
        """The file's text: keys in contract order, two-space indents, and every object or
        list that fits on one line of at most 100 characters written on one line (a node
        per line, an edge per line), so files read well and diff well."""
        return dumps_readable(self.to_json()) + "\n"

    @classmethod
    def from_json(cls, data: Any, file: str | os.PathLike | None = None) -> Project:
        """Build a project from parsed JSON, checking its structure (see the module doc)."""
        file = str(file) if file is not None else None
        if not isinstance(data, dict):
            raise ProjectError(file, "", "not a LayerCanvas project (expected a JSON object)")
        if data.get("format") != FORMAT:
            raise ProjectError(
                file,
                "format",
                f'not a LayerCanvas project (expected "format": "{FORMAT}", got '
                f"{data.get('format')!r})",
            )
        data = migrate(data, file)
        name = data.get("name", "Untitled")
        if not isinstance(name, str):
            raise ProjectError(file, "name", f"expected text, got {name!r}")
        description = data.get("description")
        if description is not None and not isinstance(description, str):
            raise ProjectError(file, "description", "expected text")
        if "graph" not in data:
            raise ProjectError(file, "graph", "missing: a project needs a graph (nodes, edges)")
        try:
            graph = GraphDocument.from_json(data["graph"], name=name)
        except GraphFormatError as err:
            raise ProjectError(file, join_key("graph", err.key), err.problem) from None
        dataset = data.get("dataset", {})
        if not isinstance(dataset, dict):
            raise ProjectError(file, "dataset", 'expected an object such as {"name": "digits"}')
        training = data.get("training", {})
        check_training(training, file)
        weights = data.get("weights")
        if weights is not None and (not isinstance(weights, str) or not weights):
            raise ProjectError(file, "weights", "expected a relative path to a .lcmodel file")
        extra = {k: copy.deepcopy(v) for k, v in data.items() if k not in _TOP_KEYS}
        warnings = [f"unknown key '{k}' (kept as is)" for k in extra]
        warnings += [f"unknown key 'graph.{k}' (kept as is)" for k in graph.unknown_keys()]
        warnings += [
            f"unknown key 'training.{k}' (kept as is)" for k in training if k not in TRAINING_KEYS
        ]
        return cls(
            graph=graph,
            dataset=copy.deepcopy(dataset),
            training=copy.deepcopy(training),
            description=description,
            weights=weights,
            extra=extra,
            path=Path(file) if file is not None else None,
            warnings=warnings,
        )

    # Files ----------------------------------------------------------------------------------------

    @classmethod
    def load(cls, path: str | os.PathLike) -> Project:
        return load_project(path)

    def save(self, path: str | os.PathLike | None = None) -> Path:
        target = Path(path) if path is not None else self.path
        if target is None:
            raise ValueError("this project has no file yet: give a path to save it to")
        save_project(self, target)
        self.path = target
        return target

    # Checking -------------------------------------------------------------------------------------

    def check(self, checker: GraphChecker | None = None) -> ProjectCheck:
        """All diagnostics: the graph's and the training settings'. Never raises."""
        result = (checker or GraphChecker()).check(self.graph, self.training)
        where = self._indices()
        diagnostics = [self._with_key(d, where) for d in result.diagnostics]
        diagnostics += check_training_names(self.training, result)
        if not self.dataset:
            diagnostics.append(
                Diagnostic(
                    WARNING,
                    "dataset",
                    "no dataset is chosen, so the project cannot be trained yet",
                    'choose one, e.g. "dataset": {"name": "digits"}',
                    key="dataset",
                )
            )
        return ProjectCheck(result, diagnostics)

    def key_of(self, diagnostic: Diagnostic) -> str | None:
        """The key path in the file a diagnostic is about (``graph.nodes[3].params.units``)."""
        return self._with_key(diagnostic).key

    def _indices(self) -> tuple[dict[str, int], dict[str, int]]:
        """Each node id's and edge id's index in the file, built once per check (a lookup per
        diagnostic would make checking a graph with thousands of problems quadratic). For a
        duplicated node id, the last node: it is the one to rename."""
        nodes = {node.id: index for index, node in enumerate(self.graph.nodes)}
        edges: dict[str, int] = {}
        for index, edge in enumerate(self.graph.edges):
            edges.setdefault(edge.id, index)
        return nodes, edges

    def _with_key(
        self, d: Diagnostic, where: tuple[dict[str, int], dict[str, int]] | None = None
    ) -> Diagnostic:
        if d.key is not None:
            return d
        nodes, edges = where or self._indices()
        key = None
        about_edge = (
            d.edge_ids and not d.node_ids or d.code in ("dangling_edge", "port_out_of_range")
        )
        if about_edge and d.edge_ids and d.edge_ids[0] in edges:
            key = f"graph.edges[{edges[d.edge_ids[0]]}]"
        if key is None and d.node_ids and d.node_ids[0] in nodes:
            key = f"graph.nodes[{nodes[d.node_ids[0]]}]"
            if d.param:
                key += f".params.{d.param}"
            elif d.code == "unknown_type":
                key += ".type"
        if key is None:
            key = "graph"
        return dataclasses.replace(d, key=key)


# -- reading and writing files -------------------------------------------------------------------


def load_project(path: str | os.PathLike) -> Project:
    """Read a ``*.lcproj`` file (see the module docstring for what is checked)."""
    data = read_json_file(path, MAX_PROJECT_BYTES, "project file")
    return Project.from_json(data, file=path)


def save_project(project: Project, path: str | os.PathLike) -> None:
    """Write atomically (a temporary file in the same folder, then ``os.replace``), so a crash
    never leaves half a project behind; the file gets the umask's mode, as ``open()`` gives."""
    write_text_atomic(Path(path), project.dumps())
