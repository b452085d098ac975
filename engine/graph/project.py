"""Project files (``*.lcproj``): the graph, the data choice and the training settings.

The format is a contract (DESIGN.md, "The graph document and project files")::

    {"format": "layercanvas-project", "version": 1, "name": "Digits CNN",
     "description": "...", "graph": {...}, "dataset": {"name": "digits", ...},
     "training": {"loss": ..., "optimizer": {"name": "adam", "learning_rate": 0.001},
                  "metrics": ["accuracy"], "batch_size": 32, "epochs": 20, "seed": 0},
     "weights": "model.lcmodel"}

Loading checks the structure and raises :class:`ProjectError` naming the file, the key path
and the problem (bad JSON gives the line and column; oversized files are refused before
being read). Whether the layer types, parameter values, loss and optimizer names make sense
is :meth:`Project.check`'s question: it returns diagnostics (never raises), so a project
with a mistake still opens and shows what to fix. Keys this version does not know are kept
on round trip and listed in :attr:`Project.warnings`. Older format versions are upgraded by
the functions registered with :func:`migration`; newer ones are refused clearly. Saving is
atomic.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import json
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.graph.compiler import CheckResult, GraphChecker
from engine.graph.diagnostics import ERROR, WARNING, Diagnostic
from engine.graph.document import GraphDocument, GraphFormatError

__all__ = [
    "CURRENT_VERSION",
    "FORMAT",
    "MAX_PROJECT_BYTES",
    "MIGRATIONS",
    "Project",
    "ProjectCheck",
    "ProjectError",
    "load_project",
    "migrate",
    "migration",
    "save_project",
]

FORMAT = "layercanvas-project"
CURRENT_VERSION = 1
#: Project files hold a graph and settings, never data; anything bigger is not one.
MAX_PROJECT_BYTES = 4 * 1024 * 1024

_TOP_KEYS = ("format", "version", "name", "description", "graph", "dataset", "training", "weights")
_TRAINING_KEYS = (
    "loss",
    "optimizer",
    "schedule",
    "metrics",
    "batch_size",
    "epochs",
    "validation_split",
    "callbacks",
    "seed",
    "shuffle",
)

#: Callback names a project may use (``training.callbacks``) -> engine.callbacks class name.
CALLBACKS = {
    "early_stopping": "EarlyStopping",
    "reduce_lr_on_plateau": "ReduceLROnPlateau",
}


class ProjectError(ValueError):
    """A project file cannot be read: ``file``, ``key`` (a path such as
    ``graph.nodes[2].params``, or empty) and ``problem`` say where and what."""

    def __init__(self, file: str | os.PathLike | None, key: str, problem: str):
        self.file = str(file) if file is not None else None
        self.key = key
        self.problem = problem
        where = ": ".join(part for part in (self.file, key) if part)
        super().__init__(f"{where}: {problem}" if where else problem)


# -- migrations ---------------------------------------------------------------------------------

#: version N -> function upgrading a version-N project dict to version N + 1.
MIGRATIONS: dict[int, Callable[[dict], dict]] = {}


def migration(from_version: int) -> Callable[[Callable[[dict], dict]], Callable[[dict], dict]]:
    """Register ``fn(data) -> data`` as the upgrade from ``from_version`` to the next."""

    def register(fn: Callable[[dict], dict]) -> Callable[[dict], dict]:
        if from_version in MIGRATIONS:
            raise ValueError(f"a migration from version {from_version} already exists")
        MIGRATIONS[from_version] = fn
        return fn

    return register


def migrate(
    data: dict,
    file: str | None = None,
    *,
    migrations: dict[int, Callable[[dict], dict]] | None = None,
    current: int = CURRENT_VERSION,
) -> dict:
    """Bring a project dict of any older ``version`` up to ``current``, one step at a time."""
    migrations = MIGRATIONS if migrations is None else migrations
    version = data.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ProjectError(file, "version", f"expected a positive integer, got {version!r}")
    if version > current:
        raise ProjectError(
            file,
            "version",
            f"this project was saved by a newer LayerCanvas (format version {version}; this "
            f"one reads up to {current}): update LayerCanvas to open it",
        )
    while version < current:
        step = migrations.get(version)
        if step is None:
            raise ProjectError(
                file, "version", f"no way to upgrade format version {version} to {version + 1}"
            )
        data = step(copy.deepcopy(data))
        version += 1
        data["version"] = version
    return data


# -- the project ---------------------------------------------------------------------------------


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
            raise ProjectError(file, _join("graph", err.key), err.problem) from None
        dataset = data.get("dataset", {})
        if not isinstance(dataset, dict):
            raise ProjectError(file, "dataset", 'expected an object such as {"name": "digits"}')
        training = data.get("training", {})
        _check_training(training, file)
        weights = data.get("weights")
        if weights is not None and (not isinstance(weights, str) or not weights):
            raise ProjectError(file, "weights", "expected a relative path to a .lcmodel file")
        extra = {k: copy.deepcopy(v) for k, v in data.items() if k not in _TOP_KEYS}
        warnings = [f"unknown key '{k}' (kept as is)" for k in extra]
        warnings += [f"unknown key 'graph.{k}' (kept as is)" for k in graph.unknown_keys()]
        warnings += [
            f"unknown key 'training.{k}' (kept as is)" for k in training if k not in _TRAINING_KEYS
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
        result = (checker or GraphChecker()).check(self.graph)
        diagnostics = [self._with_key(d) for d in result.diagnostics]
        diagnostics += _check_training_names(self.training, result)
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

    def _with_key(self, d: Diagnostic) -> Diagnostic:
        if d.key is not None:
            return d
        key = None
        if d.edge_ids and not d.node_ids or d.code in ("dangling_edge", "port_out_of_range"):
            ids = [e.id for e in self.graph.edges]
            if d.edge_ids and d.edge_ids[0] in ids:
                key = f"graph.edges[{ids.index(d.edge_ids[0])}]"
        if key is None and d.node_ids:
            ids = [n.id for n in self.graph.nodes]
            if d.node_ids[0] in ids:
                # The last node with that id: for duplicates it is the one to rename.
                index = len(ids) - 1 - ids[::-1].index(d.node_ids[0])
                key = f"graph.nodes[{index}]"
                if d.param:
                    key += f".params.{d.param}"
                elif d.code == "unknown_type":
                    key += ".type"
        if key is None:
            key = "graph"
        return dataclasses.replace(d, key=key)


def _join(prefix: str, key: str) -> str:
    if not key:
        return prefix
    return f"{prefix}{key}" if key.startswith("[") else f"{prefix}.{key}"


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value == value


def _check_training(training: Any, file: str | None) -> None:
    """Types and ranges of the training settings (their names are checked by ``check``)."""

    def fail(key: str, problem: str) -> ProjectError:
        return ProjectError(file, _join("training", key), problem)

    if not isinstance(training, dict):
        raise fail("", "expected an object with loss, optimizer, epochs, ...")
    loss = training.get("loss")
    loss_ok = (
        loss is None
        or isinstance(loss, str)
        or (
            isinstance(loss, dict)
            and all(isinstance(k, str) and isinstance(v, str) for k, v in loss.items())
        )
    )
    if not loss_ok:
        raise fail("loss", "expected a loss name, or an object mapping output ids to names")
    optimizer = training.get("optimizer")
    optimizer_ok = (
        optimizer is None
        or isinstance(optimizer, str)
        or (isinstance(optimizer, dict) and isinstance(optimizer.get("name"), str))
    )
    if not optimizer_ok:
        raise fail("optimizer", 'expected {"name": "adam", "learning_rate": 0.001} or a name')
    schedule = training.get("schedule")
    if schedule is not None and (
        not isinstance(schedule, dict) or not isinstance(schedule.get("name"), str)
    ):
        raise fail("schedule", 'expected an object with a "name", or null')
    metrics = training.get("metrics")
    if metrics is not None:
        lists = metrics.values() if isinstance(metrics, dict) else [metrics]
        for items in lists:
            if not isinstance(items, list) or not all(isinstance(m, str) for m in items):
                raise fail("metrics", 'expected a list of metric names such as ["accuracy"]')
    for key in ("batch_size", "epochs"):
        value = training.get(key)
        if value is not None and (not _is_int(value) or value < 1):
            raise fail(key, f"expected a positive integer, got {value!r}")
    seed = training.get("seed")
    if seed is not None and (not _is_int(seed) or seed < 0):
        raise fail("seed", f"expected a non-negative integer or null, got {seed!r}")
    split = training.get("validation_split")
    if split is not None and (not _is_number(split) or not 0 <= split < 1):
        raise fail("validation_split", f"expected a fraction from 0 up to 1, got {split!r}")
    shuffle = training.get("shuffle")
    if shuffle is not None and not isinstance(shuffle, bool):
        raise fail("shuffle", f"expected true or false, got {shuffle!r}")
    callbacks = training.get("callbacks")
    if callbacks is not None:
        if not isinstance(callbacks, dict):
            raise fail("callbacks", 'expected an object such as {"early_stopping": {...}}')
        for name, args in callbacks.items():
            if not isinstance(args, dict):
                raise fail(f"callbacks.{name}", "expected an object of the callback's arguments")


def _check_training_names(training: dict, graph: CheckResult) -> list[Diagnostic]:
    """Loss, optimizer, metric, schedule and callback names, and the outputs losses name."""
    found: list[Diagnostic] = []

    def error(key: str, message: str, fix: str | None = None, nodes=()) -> None:
        found.append(Diagnostic(ERROR, "training", message, fix, tuple(nodes), key=key))

    loss = training.get("loss")
    outputs = graph.outputs
    if loss is None:
        error(
            "training.loss",
            "no loss is set",
            'set "loss", e.g. "mse" or "sparse_categorical_crossentropy"',
        )
    elif isinstance(loss, dict):
        for out_id, name in loss.items():
            if out_id not in outputs:
                error(
                    f"training.loss.{out_id}",
                    f"the loss names '{out_id}', which is not an output of the graph",
                    f"use one of: {', '.join(outputs) or 'no outputs yet'}",
                )
            _check_name("losses", name, f"training.loss.{out_id}", error)
        for out_id in outputs:
            if graph.ok and out_id not in loss:
                found.append(
                    Diagnostic(
                        WARNING,
                        "training",
                        f"output '{out_id}' has no loss, so it is not trained",
                        "give it a loss in training.loss, or delete the branch",
                        (out_id,),
                        key="training.loss",
                    )
                )
    else:
        _check_name("losses", loss, "training.loss", error)
    if graph.ok and len(outputs) > 1 and not isinstance(loss, dict):
        found.append(
            Diagnostic(
                WARNING,
                "training",
                f"the graph has {len(outputs)} outputs ({', '.join(outputs)}); each is trained "
                "against the same targets with the same loss",
                "delete a forgotten branch, or map output ids to losses in training.loss",
                tuple(outputs),
                key="training.loss",
            )
        )
    optimizer = training.get("optimizer")
    if optimizer is not None:
        name = optimizer if isinstance(optimizer, str) else optimizer.get("name")
        _check_name("optimizers", name, "training.optimizer", error, config=optimizer)
    metrics = training.get("metrics") or []
    for items in metrics.values() if isinstance(metrics, dict) else [metrics]:
        for i, metric in enumerate(items):
            _check_name("metrics", metric, f"training.metrics[{i}]", error)
    schedule = training.get("schedule")
    if schedule is not None:
        _check_name("schedules", schedule["name"], "training.schedule", error, config=schedule)
    for name in training.get("callbacks") or {}:
        if name not in CALLBACKS:
            error(
                f"training.callbacks.{name}",
                f"unknown callback '{name}'",
                f"use one of: {', '.join(CALLBACKS)}",
            )
    return found


def _check_name(module: str, name: str, key: str, error, config=None) -> None:
    """Ask ``engine.<module>.get`` whether it knows ``name`` (with its arguments)."""
    import importlib  # noqa: PLC0415

    try:
        registry = importlib.import_module(f"engine.{module}")
    except ImportError:
        return  # that part of the engine is not installed; training will say so
    get = getattr(registry, "get", None)
    if get is None:
        return
    try:
        get(config if isinstance(config, dict) else name)
    except (ValueError, KeyError, TypeError) as err:
        text = str(err.args[0]) if err.args else str(err)
        error(key, text)


def dumps_readable(value: Any, indent: int = 0, prefix_len: int = 0, width: int = 100) -> str:
    """JSON with short containers kept on one line (see :meth:`Project.dumps`)."""
    flat = json.dumps(value, ensure_ascii=False)
    if not isinstance(value, dict | list) or not value:
        return flat
    if indent > 0 and indent + prefix_len + len(flat) + 1 <= width:
        return flat
    pad = " " * (indent + 2)
    if isinstance(value, dict):
        items = []
        for key, item in value.items():
            head = json.dumps(str(key), ensure_ascii=False) + ": "
            items.append(pad + head + dumps_readable(item, indent + 2, len(head), width))
        return "{\n" + ",\n".join(items) + "\n" + " " * indent + "}"
    items = [pad + dumps_readable(item, indent + 2, 0, width) for item in value]
    return "[\n" + ",\n".join(items) + "\n" + " " * indent + "]"


# -- reading and writing files -------------------------------------------------------------------


def read_json_file(path: str | os.PathLike, max_bytes: int, what: str = "file") -> Any:
    """Parse a bounded UTF-8 JSON file; every failure is a :class:`ProjectError`."""
    path = Path(path)
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise ProjectError(path, "", f"no such {what}") from None
    except OSError as err:
        raise ProjectError(path, "", f"cannot read it ({err.strerror or err})") from None
    if path.is_dir():
        raise ProjectError(path, "", f"is a folder, not a {what}")
    if size > max_bytes:
        raise ProjectError(
            path,
            "",
            f"is {size / 1e6:.1f} MB; a {what} is at most {max_bytes / 1e6:.0f} MB, "
            "so this is not one (or it is damaged)",
        )
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise ProjectError(path, "", f"cannot read it ({err.strerror or err})") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise ProjectError(
            path, "", f"is not UTF-8 text (bad byte at offset {err.start}); is it a {what}?"
        ) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise ProjectError(
            path, "", f"invalid JSON at line {err.lineno}, column {err.colno}: {err.msg}"
        ) from None
    except RecursionError:
        raise ProjectError(path, "", "JSON nested too deeply") from None


def load_project(path: str | os.PathLike) -> Project:
    """Read a ``*.lcproj`` file (see the module docstring for what is checked)."""
    data = read_json_file(path, MAX_PROJECT_BYTES, "project file")
    return Project.from_json(data, file=path)


def save_project(project: Project, path: str | os.PathLike) -> None:
    """Write atomically: a temporary file in the same folder, then ``os.replace``, so a crash
    never leaves half a project behind."""
    write_text_atomic(Path(path), project.dumps())


def write_text_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
