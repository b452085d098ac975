"""Run records and the folder that holds them (see :mod:`engine.runs` for the layout).

A record is one UTF-8 JSON file, ``run.json``::

    {"format": "layercanvas-run", "version": 1, "id": "20261204-153012-417a1",
     "name": "run 3", "created": "2026-12-04T15:30:12", "status": "finished",
     "source": "app", "parent": null,
     "project": {<the project JSON as trained: graph, dataset, split, training>},
     "seed": 0, "batch_size": 32, "initial_epoch": 0, "epochs_planned": 20,
     "history": {"epoch": [1, 2, ...], "loss": [...], "val_loss": [...], ...},
     "final": {"loss": ..., "val_loss": ..., ...}, "wall_seconds": 12.5,
     "monitor": "val_loss", "best": {"epoch": 7, "value": 0.31},
     "weights": {"last": "last.lcmodel", "best": "best.lcmodel"},
     "note": null, "notes": "", "starred": false,
     "experiment": {"id": "20261204-170512-3fa2", "trial": "t003", "name": "lr sweep",
                    "values": {"learning_rate": 0.001}}}

``experiment`` is ``null`` (or absent, in files written before experiments) for a run
that is not a trial of an experiment (:mod:`engine.experiments`); the folder
``X.runs/experiments/`` holds the experiments themselves and is not a run.

``status`` is ``running`` while a run goes (a record left ``running`` by a process that
died shows as unfinished), then ``finished``, ``stopped`` or ``diverged``. ``history``
epochs count from 1 and are absolute: a run resumed after 5 epochs starts at 6. JSON has no
NaN, so a NaN or infinite value is written as ``null`` and read back as NaN.

Reading is bounded (:func:`engine.safe_files.read_bounded`) and checked: a damaged, foreign
or newer record raises :class:`RunRecordError` naming the file and what is wrong, and
:meth:`RunStore.list` reports it and goes on with the others. Writing is atomic.
"""

from __future__ import annotations

import copy
import json
import math
import os
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.safe_files import read_bounded, write_text_atomic

__all__ = [
    "RECORD_FILE",
    "RUN_FORMAT",
    "RUN_VERSION",
    "STATUSES",
    "RunRecord",
    "RunRecordError",
    "RunStore",
    "runs_dir_for",
]

RUN_FORMAT = "layercanvas-run"
RUN_VERSION = 1
RECORD_FILE = "run.json"
LAST_WEIGHTS = "last.lcmodel"
BEST_WEIGHTS = "best.lcmodel"
#: A record holds a project (at most 4 MiB) and its curves: more than this is not ours.
MAX_RECORD_BYTES = 16 * 1024 * 1024
STATUSES = ("running", "finished", "stopped", "diverged")
#: The sub-folder of a run store that holds experiments (engine.experiments), not a run.
EXPERIMENTS_DIR = "experiments"


class RunRecordError(ValueError):
    """A run record that cannot be used; the message names the file and the problem."""


def runs_dir_for(project_path: str | os.PathLike) -> Path:
    """The run folder of a project file: ``X.runs`` beside ``X.lcproj``."""
    path = Path(project_path)
    return path.with_name(path.stem + ".runs")


@dataclass
class RunRecord:
    """One recorded training run (the fields of ``run.json``; see the module docstring)."""

    id: str
    name: str
    created: str
    project: dict[str, Any]
    seed: int = 0
    batch_size: int = 0
    initial_epoch: int = 0
    epochs_planned: int = 0
    status: str = "running"
    source: str = "app"
    parent: str | None = None
    history: dict[str, list[float]] = field(default_factory=dict)
    final: dict[str, float] = field(default_factory=dict)
    wall_seconds: float = 0.0
    monitor: str = "val_loss"
    best: dict[str, float] | None = None
    weights: dict[str, str | None] = field(default_factory=lambda: {"last": None, "best": None})
    note: str | None = None
    notes: str = ""
    starred: bool = False
    # {"id": experiment id, "trial": trial id, "name": ..., "values": {param: value}}
    experiment: dict[str, Any] | None = None
    folder: Path | None = None  # where it was read from or written to (not in the JSON)

    # -- what the Runs panel shows -----------------------------------------------------------

    @property
    def epochs_done(self) -> int:
        """Epochs the last weights have been trained for, counting a parent run's."""
        epochs = self.history.get("epoch") or []
        return int(epochs[-1]) if epochs else self.initial_epoch

    @property
    def training(self) -> dict[str, Any]:
        value = self.project.get("training")
        return value if isinstance(value, dict) else {}

    @property
    def optimizer_name(self) -> str:
        opt = self.training.get("optimizer", "adam")
        name = opt.get("name", "adam") if isinstance(opt, dict) else opt
        return str(name)

    @property
    def learning_rate(self) -> float | str | None:
        """The rate set, ``"schedule"`` when a schedule sets it, ``None`` when unset."""
        opt = self.training.get("optimizer")
        rate = opt.get("learning_rate") if isinstance(opt, dict) else None
        if isinstance(rate, dict):
            return "schedule"
        return float(rate) if isinstance(rate, int | float) and not isinstance(rate, bool) else None

    def headline(self) -> tuple[str, float] | None:
        """The value the table shows as "val metric": the validation value of the first
        metric, else ``val_loss``, else the training ``loss`` (final epoch)."""
        metrics = self.training.get("metrics") or []
        names = [m if isinstance(m, str) else (m or {}).get("name") for m in metrics]
        keys = [f"val_{n}" for n in names if isinstance(n, str)] + ["val_loss", "loss"]
        for key in keys:
            value = self.final.get(key)
            if isinstance(value, float):
                return key, value
        return None

    def weights_path(self, which: str) -> Path | None:
        """``last`` or ``best`` weights file, if the run wrote one and it is there."""
        name = self.weights.get(which)
        if not name or self.folder is None:
            return None
        path = self.folder / name
        return path if path.is_file() else None

    # -- JSON --------------------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        return {
            "format": RUN_FORMAT,
            "version": RUN_VERSION,
            "id": self.id,
            "name": self.name,
            "created": self.created,
            "status": self.status,
            "source": self.source,
            "parent": self.parent,
            "project": copy.deepcopy(self.project),
            "seed": self.seed,
            "batch_size": self.batch_size,
            "initial_epoch": self.initial_epoch,
            "epochs_planned": self.epochs_planned,
            "history": {k: [_finite_or_none(v) for v in vs] for k, vs in self.history.items()},
            "final": {k: _finite_or_none(v) for k, v in self.final.items()},
            "wall_seconds": round(float(self.wall_seconds), 3),
            "monitor": self.monitor,
            "best": None if self.best is None else dict(self.best),
            "weights": dict(self.weights),
            "note": self.note,
            "notes": self.notes,
            "starred": self.starred,
            "experiment": copy.deepcopy(self.experiment),
        }

    @classmethod
    def from_json(cls, data: Any, where: str = "run record") -> RunRecord:
        """Check and read a parsed record; :class:`RunRecordError` names the bad key."""

        def bad(key: str, problem: str) -> RunRecordError:
            return RunRecordError(f"{where}: {key}: {problem}")

        if not isinstance(data, dict) or data.get("format") != RUN_FORMAT:
            raise RunRecordError(f"{where}: not a LayerCanvas run record")
        version = data.get("version")
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise bad("version", f"must be a whole number from 1, got {version!r}")
        if version > RUN_VERSION:
            raise bad(
                "version",
                f"{version} was written by a newer LayerCanvas (this one reads up to "
                f"{RUN_VERSION}); update LayerCanvas to open it",
            )

        def get(key: str, kinds, default=None, required=False):
            if key not in data:
                if required:
                    raise bad(key, "is missing")
                return copy.deepcopy(default)
            value = data[key]
            if value is None and None in kinds:
                return None
            real = tuple(k for k in kinds if k is not None)
            if isinstance(value, bool) and bool not in real:
                raise bad(key, f"must be {_kinds(real)}, got {value!r}")
            if not isinstance(value, real):
                raise bad(key, f"must be {_kinds(real)}, got {type(value).__name__}")
            return value

        status = get("status", (str,), "running")
        if status not in STATUSES:
            raise bad("status", f"must be one of {', '.join(STATUSES)}, got {status!r}")
        history = _history(get("history", (dict,), {}), bad)
        final = {}
        for key, value in get("final", (dict,), {}).items():
            final[str(key)] = _number(value, bad, f"final.{key}")
        weights = get("weights", (dict,), {"last": None, "best": None})
        for key in ("last", "best"):
            name = weights.get(key)
            # Only a bare file name inside the run's own folder: never a path elsewhere.
            if name is not None and (not isinstance(name, str) or Path(name).name != name):
                raise bad(f"weights.{key}", f"must be a file name in the run folder, got {name!r}")
        best = get("best", (dict, None))
        if best is not None:
            best = {
                "epoch": int(_number(best.get("epoch"), bad, "best.epoch")),
                "value": _number(best.get("value"), bad, "best.value"),
            }
        return cls(
            id=get("id", (str,), required=True),
            name=get("name", (str,), ""),
            created=get("created", (str,), ""),
            project=get("project", (dict,), required=True),
            seed=get("seed", (int,), 0),
            batch_size=get("batch_size", (int,), 0),
            initial_epoch=get("initial_epoch", (int,), 0),
            epochs_planned=get("epochs_planned", (int,), 0),
            status=status,
            source=get("source", (str,), "app"),
            parent=get("parent", (str, None)),
            history=history,
            final=final,
            wall_seconds=float(get("wall_seconds", (int, float), 0.0)),
            monitor=get("monitor", (str,), "val_loss"),
            best=best,
            weights={"last": weights.get("last"), "best": weights.get("best")},
            note=get("note", (str, None)),
            notes=get("notes", (str,), ""),
            starred=get("starred", (bool,), False),
            experiment=_experiment(get("experiment", (dict, None)), bad),
        )


class RunStore:
    """The runs of one project, in the folder ``root`` (created on the first write)."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)

    def __repr__(self) -> str:
        return f"RunStore({str(self.root)!r})"

    def create(
        self,
        project_json: dict[str, Any],
        *,
        seed: int,
        batch_size: int,
        epochs_planned: int,
        initial_epoch: int = 0,
        parent: str | None = None,
        source: str = "app",
        name: str | None = None,
        experiment: dict[str, Any] | None = None,
    ) -> RunRecord:
        """A new record (status ``running``) in a fresh folder of its own, written now;
        ``experiment`` tags a trial of an experiment (see the module docstring)."""
        self.root.mkdir(parents=True, exist_ok=True)
        number = 1 + sum(1 for p in self.root.iterdir() if _is_run_folder(p))
        while True:
            # Date, time and milliseconds: ids sort in the order runs started.
            now = time.time()
            stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now))
            run_id = f"{stamp}-{int(now * 1000) % 1000:03d}{secrets.token_hex(1)}"
            try:
                (self.root / run_id).mkdir()
                break
            except FileExistsError:
                continue
        record = RunRecord(
            id=run_id,
            name=name or f"run {number}",
            created=time.strftime("%Y-%m-%dT%H:%M:%S"),
            project=copy.deepcopy(project_json),
            seed=int(seed),
            batch_size=int(batch_size),
            initial_epoch=int(initial_epoch),
            epochs_planned=int(epochs_planned),
            parent=parent,
            source=source,
            experiment=copy.deepcopy(experiment),
            folder=self.root / run_id,
        )
        self.save(record)
        return record

    def save(self, record: RunRecord) -> None:
        """Write ``record`` atomically into its folder."""
        path, text = self.record_text(record)
        write_text_atomic(path, text)

    def record_text(self, record: RunRecord) -> tuple[Path, str]:
        """Where ``record`` is written and its text, its folder made: :meth:`save` without
        the write, for a writer on another thread."""
        folder = record.folder or self.root / record.id
        folder.mkdir(parents=True, exist_ok=True)
        record.folder = folder
        return folder / RECORD_FILE, json.dumps(record.to_json(), indent=1, allow_nan=False) + "\n"

    def load(self, run_id: str) -> RunRecord:
        """The record of ``run_id``; :class:`RunRecordError` when it is missing or damaged."""
        if Path(run_id).name != run_id or run_id in ("", ".", ".."):
            raise RunRecordError(f"{run_id!r} is not a run id")
        return self._read(self.root / run_id)

    def list(self) -> tuple[list[RunRecord], list[str]]:
        """Every readable record, oldest first, and one message per folder that could not
        be read (damaged, foreign, newer version). A missing store is empty."""
        records, problems = [], []
        try:
            folders = sorted(p for p in self.root.iterdir() if _is_run_folder(p))
        except (FileNotFoundError, NotADirectoryError):
            return [], []
        except OSError as err:
            return [], [f"{self.root}: cannot list the runs ({err.strerror or err})"]
        for folder in folders:
            try:
                records.append(self._read(folder))
            except RunRecordError as err:
                problems.append(str(err))
        records.sort(key=lambda r: (r.created, r.id))
        return records, problems

    def update(self, run_id: str, **changes: Any) -> RunRecord:
        """Change ``name``, ``notes`` or ``starred`` of a record and write it."""
        allowed = {"name": str, "notes": str, "starred": bool}
        record = self.load(run_id)
        for key, value in changes.items():
            if key not in allowed or not isinstance(value, allowed[key]):
                raise ValueError(f"cannot set {key}={value!r} on a run record")
            setattr(record, key, value)
        self.save(record)
        return record

    def _read(self, folder: Path) -> RunRecord:
        path = folder / RECORD_FILE

        def error(problem: str) -> RunRecordError:
            return RunRecordError(f"{path}: {problem}")

        if not path.exists():
            raise error("missing (the run folder has no record)")
        raw = read_bounded(path, MAX_RECORD_BYTES, error, "run record")
        try:
            data = json.loads(raw.decode("utf-8"))
        except UnicodeDecodeError:
            raise error("not UTF-8 text") from None
        except json.JSONDecodeError as err:
            raise error(f"damaged JSON at line {err.lineno}, column {err.colno}") from None
        record = RunRecord.from_json(data, str(path))
        if record.id != folder.name:
            raise error(f"id: {record.id!r} does not match its folder {folder.name!r}")
        record.folder = folder
        return record


def _is_run_folder(path: Path) -> bool:
    return path.is_dir() and path.name != EXPERIMENTS_DIR


def _experiment(value: dict | None, bad) -> dict[str, Any] | None:
    """The ``experiment`` tag: ``id`` and ``trial`` text, ``values`` an object."""
    if value is None:
        return None
    for key in ("id", "trial"):
        if not isinstance(value.get(key), str):
            raise bad(f"experiment.{key}", f"must be text, got {value.get(key)!r}")
    if not isinstance(value.get("values", {}), dict):
        raise bad("experiment.values", "must be an object")
    return copy.deepcopy(value)


def _finite_or_none(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _number(value: Any, bad, key: str) -> float:
    if value is None:
        return math.nan
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise bad(key, f"must be a number, got {value!r}")
    return float(value)


def _history(data: dict, bad) -> dict[str, list[float]]:
    history = {}
    for key, values in data.items():
        if not isinstance(values, list):
            raise bad(f"history.{key}", "must be a list of numbers")
        history[str(key)] = [_number(v, bad, f"history.{key}") for v in values]
    return history


def _kinds(kinds: tuple) -> str:
    names = {str: "text", int: "a whole number", float: "a number", bool: "true or false"}
    names.update({dict: "an object", list: "a list"})
    return " or ".join(names.get(k, k.__name__) for k in kinds)
