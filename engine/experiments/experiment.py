"""The experiment record and the folder that keeps it.

An experiment of project ``X.lcproj`` lives in ``X.runs/experiments/<id>/``::

    experiment.json   the record (:class:`Experiment`): settings, parameters, trials
    project.lcproj    the project as it was when the experiment was made: every trial,
                      also one continued later, starts from these settings

``experiment.json`` is versioned UTF-8 JSON::

    {"format": "layercanvas-experiment", "version": 1, "id": "20261204-170512-3fa",
     "name": "lr sweep", "created": "2026-12-04T17:05:12",
     "params": [{"name": "learning_rate", "spec": "1e-4:1e-1:log:6", "values": [...],
                 "target": "training", "label": "learning rate"}],
     "strategy": "grid", "trials_requested": null, "seed": 0,
     "metric": "val_accuracy", "mode": "max", "parallel": 1, "epochs": 30,
     "status": "pending", "source": "cli", "runner": null,
     "trials": [{"id": "t001", "values": {"learning_rate": 0.0001}, "status": "finished",
                 "run_id": "20261204-170514-220a1", "metric": 0.93, "rung": 0,
                 "epochs": null, "parent": null, "error": null, "earlier_runs": []}]}

A trial is ``pending``, ``running``, ``finished``, ``stopped``, ``skipped``, ``failed`` or
``pruned``; ``epochs`` is the epochs it trains (None: the experiment's, or its ``epochs``
value); ``parent`` is the trial whose run it continues (successive halving);
``earlier_runs`` are runs of it cut short by a killed process (they stay in the run
history, unfinished). ``runner`` names the process running the experiment
(``{"pid": 123}``) while one does.

Reading is bounded and checked: a damaged, foreign or newer file raises
:class:`SweepError` naming the file and the key. Writing is atomic.
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

from engine.experiments.errors import SweepError
from engine.safe_files import read_bounded, write_text_atomic

__all__ = [
    "EXPERIMENT_FILE",
    "EXPERIMENT_FORMAT",
    "EXPERIMENT_VERSION",
    "EXPERIMENTS_DIR",
    "Experiment",
    "ExperimentStore",
    "TRIAL_STATUSES",
    "Trial",
    "default_mode",
]

EXPERIMENT_FORMAT = "layercanvas-experiment"
EXPERIMENT_VERSION = 1
EXPERIMENT_FILE = "experiment.json"
PROJECT_FILE = "project.lcproj"
EXPERIMENTS_DIR = "experiments"
MAX_EXPERIMENT_BYTES = 16 * 1024 * 1024
TRIAL_STATUSES = ("pending", "running", "finished", "stopped", "skipped", "failed", "pruned")
EXPERIMENT_STATUSES = ("pending", "running", "stopped", "finished")


def default_mode(metric: str) -> str:
    """``min`` for losses and errors, ``max`` for everything else (accuracy, AUC, ...)."""
    lowered = metric.lower()
    return "min" if any(k in lowered for k in ("loss", "error", "mse", "mae")) else "max"


@dataclass
class Trial:
    """One configuration of an experiment (fields of ``trials[i]``; see the module doc)."""

    id: str
    values: dict[str, Any]
    status: str = "pending"
    run_id: str | None = None
    metric: float | None = None
    rung: int = 0
    epochs: int | None = None
    parent: str | None = None
    error: str | None = None
    earlier_runs: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        metric = self.metric
        return {
            "id": self.id,
            "values": copy.deepcopy(self.values),
            "status": self.status,
            "run_id": self.run_id,
            "metric": metric if metric is None or math.isfinite(metric) else None,
            "rung": self.rung,
            "epochs": self.epochs,
            "parent": self.parent,
            "error": self.error,
            "earlier_runs": list(self.earlier_runs),
        }


@dataclass
class Experiment:
    """A sweep: its parameters, strategy and trials (see the module docstring)."""

    id: str
    name: str
    created: str
    params: list[dict[str, Any]]
    strategy: str
    metric: str
    mode: str
    epochs: int
    trials: list[Trial] = field(default_factory=list)
    trials_requested: int | None = None
    seed: int = 0
    parallel: int = 1
    status: str = "pending"
    source: str = "app"
    runner: dict[str, Any] | None = None
    folder: Path | None = None  # where it was read from or written to (not in the JSON)

    # -- questions --------------------------------------------------------------------------

    def trial(self, trial_id: str) -> Trial:
        for t in self.trials:
            if t.id == trial_id:
                return t
        raise KeyError(f"experiment {self.id} has no trial {trial_id!r}")

    def remaining(self) -> list[Trial]:
        """The trials still to run (``pending``), in order."""
        return [t for t in self.trials if t.status == "pending"]

    def ranked(self, trials: list[Trial] | None = None) -> list[Trial]:
        """Finished trials with a metric, best first (later rungs before earlier ones:
        they trained longer); then the others, in order."""
        trials = self.trials if trials is None else trials
        scored = [
            t
            for t in trials
            if t.status == "finished" and t.metric is not None and math.isfinite(t.metric)
        ]
        sign = -1.0 if self.mode == "max" else 1.0
        scored.sort(key=lambda t: (-t.rung, sign * t.metric))
        return scored + [t for t in trials if t not in scored]

    def best_trial(self) -> Trial | None:
        """The finished trial with the best metric (of the last rung reached), or None."""
        ranked = self.ranked()
        best = ranked[0] if ranked else None
        return (
            best
            if best is not None and best.status == "finished" and best.metric is not None
            else None
        )

    def param_names(self) -> list[str]:
        return [p["name"] for p in self.params]

    def trial_epochs(self, trial: Trial) -> int:
        """Epochs the trial's run trains in total."""
        if trial.epochs is not None:
            return int(trial.epochs)
        return int(trial.values.get("epochs", self.epochs))

    def project_json(self) -> dict[str, Any] | None:
        """The project as the experiment was made, or None when it kept no copy."""
        if self.folder is None or not (self.folder / PROJECT_FILE).is_file():
            return None
        return _read_json(self.folder / PROJECT_FILE, "project copy")

    # -- JSON -------------------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        return {
            "format": EXPERIMENT_FORMAT,
            "version": EXPERIMENT_VERSION,
            "id": self.id,
            "name": self.name,
            "created": self.created,
            "params": copy.deepcopy(self.params),
            "strategy": self.strategy,
            "trials_requested": self.trials_requested,
            "seed": self.seed,
            "metric": self.metric,
            "mode": self.mode,
            "parallel": self.parallel,
            "epochs": self.epochs,
            "status": self.status,
            "source": self.source,
            "runner": copy.deepcopy(self.runner),
            "trials": [t.to_json() for t in self.trials],
        }

    @classmethod
    def from_json(cls, data: Any, where: str = "experiment record") -> Experiment:
        from engine.experiments.experiment_json import read_experiment  # noqa: PLC0415

        return read_experiment(cls, Trial, data, where)


class ExperimentStore:
    """The experiments of one project: ``<runs_dir>/experiments/`` (created on first write)."""

    def __init__(self, runs_dir: str | os.PathLike):
        self.runs_dir = Path(runs_dir)
        self.root = self.runs_dir / EXPERIMENTS_DIR

    def __repr__(self) -> str:
        return f"ExperimentStore({str(self.runs_dir)!r})"

    def create(
        self,
        params,
        *,
        strategy: str = "grid",
        trials: int | None = None,
        metric: str | None = None,
        mode: str | None = None,
        parallel: int = 1,
        epochs: int,
        seed: int = 0,
        name: str | None = None,
        project: dict[str, Any] | None = None,
        source: str = "app",
    ) -> Experiment:
        """Plan and write a new experiment. ``params`` are resolved :class:`SweepParam`\\ s;
        ``project`` (the project JSON) is kept beside the record so a later "Continue" trains
        the same settings, and decides the ``metric`` when none is given (the first
        metric's validation value, else ``val_loss``; see :mod:`engine.experiments.metrics`),
        which must be one its runs log."""
        from engine.experiments.metrics import check_metric, default_metric  # noqa: PLC0415
        from engine.experiments.plan import initial_trials  # noqa: PLC0415

        if project is not None:
            metric = metric or default_metric(project)
            check_metric(project, metric)
        metric = metric or "val_loss"
        mode = mode or default_mode(metric)
        if mode not in ("max", "min"):
            raise SweepError(f"mode must be max or min, got {mode!r}")
        if parallel < 1:
            raise SweepError(f"parallel must be at least 1, got {parallel}")
        planned = initial_trials(strategy, params, trials, seed, epochs)
        self.root.mkdir(parents=True, exist_ok=True)
        number = 1 + sum(1 for p in self.root.iterdir() if p.is_dir())
        while True:
            stamp = time.strftime("%Y%m%d-%H%M%S")
            exp_id = f"{stamp}-{secrets.token_hex(2)}"
            try:
                (self.root / exp_id).mkdir()
                break
            except FileExistsError:
                continue
        experiment = Experiment(
            id=exp_id,
            name=name or f"experiment {number}",
            created=time.strftime("%Y-%m-%dT%H:%M:%S"),
            params=[p.to_json() for p in params],
            strategy=strategy,
            metric=metric,
            mode=mode,
            epochs=int(epochs),
            trials_requested=trials,
            seed=int(seed),
            parallel=int(parallel),
            source=source,
            folder=self.root / exp_id,
        )
        for item in planned:
            add_trial(experiment, item)
        if project is not None:
            text = json.dumps(project, indent=1, allow_nan=False) + "\n"
            write_text_atomic(experiment.folder / PROJECT_FILE, text)
        self.save(experiment)
        return experiment

    def save(self, experiment: Experiment) -> None:
        folder = experiment.folder or self.root / experiment.id
        folder.mkdir(parents=True, exist_ok=True)
        experiment.folder = folder
        text = json.dumps(experiment.to_json(), indent=1, allow_nan=False) + "\n"
        write_text_atomic(folder / EXPERIMENT_FILE, text)

    def load(self, exp_id: str) -> Experiment:
        """The experiment ``exp_id``; :class:`SweepError` when it is missing or damaged."""
        if not isinstance(exp_id, str) or Path(exp_id).name != exp_id or exp_id in ("", ".", ".."):
            raise SweepError(f"{exp_id!r} is not an experiment id")
        folder = self.root / exp_id
        if not (folder / EXPERIMENT_FILE).is_file():
            known = ", ".join(e.id for e in self.list()) or "none"
            raise SweepError(f"no experiment {exp_id!r} in {self.root} (experiments: {known})")
        return self._read(folder)

    def scan(self) -> tuple[list[Experiment], list[str]]:
        """Every readable experiment, oldest first, and one message per unreadable one."""
        found, problems = [], []
        try:
            folders = sorted(p for p in self.root.iterdir() if p.is_dir())
        except (FileNotFoundError, NotADirectoryError):
            return [], []
        except OSError as err:
            return [], [f"{self.root}: cannot list the experiments ({err.strerror or err})"]
        for folder in folders:
            try:
                found.append(self._read(folder))
            except SweepError as err:
                problems.append(str(err))
        found.sort(key=lambda e: (e.created, e.id))
        return found, problems

    def list(self) -> list[Experiment]:
        """Every readable experiment, oldest first (:meth:`scan` also says which are not)."""
        return self.scan()[0]

    def _read(self, folder: Path) -> Experiment:
        path = folder / EXPERIMENT_FILE
        experiment = Experiment.from_json(_read_json(path, "experiment record"), str(path))
        if experiment.id != folder.name:
            raise SweepError(f"{path}: id: {experiment.id!r} does not match its folder")
        experiment.folder = folder
        return experiment


def add_trial(experiment: Experiment, item: dict[str, Any]) -> Trial:
    """Append a planned trial (``{"values", "rung", "epochs", "parent"?}``) with the next id."""
    trial = Trial(
        id=f"t{len(experiment.trials) + 1:03d}",
        values=dict(item["values"]),
        rung=int(item.get("rung", 0)),
        epochs=item.get("epochs"),
        parent=item.get("parent"),
    )
    experiment.trials.append(trial)
    return trial


def _read_json(path: Path, what: str) -> Any:
    def error(problem: str) -> SweepError:
        return SweepError(f"{path}: {problem}")

    if not path.exists():
        raise error("missing")
    raw = read_bounded(path, MAX_EXPERIMENT_BYTES, error, what)
    try:
        return json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise error("not UTF-8 text") from None
    except json.JSONDecodeError as err:
        raise error(f"damaged JSON at line {err.lineno}, column {err.colno}") from None
