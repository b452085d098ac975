"""One trial of an experiment, in a process of its own (started by the runner)::

    python -m engine.experiments.trial PROJECT EXPERIMENT_FOLDER TRIAL_ID [--source cli]

It applies the trial's values to the experiment's copy of the project (or to PROJECT when
the experiment kept none; relative data paths start at PROJECT's folder), trains it and
records the run in PROJECT's run store, tagged with the experiment and the trial. A trial
that continues another (successive halving) resumes that trial's run for the epochs it
lacks. It only reads the experiment record; the runner owns it.

It tells the runner how it goes in JSON lines on its standard output (anything else the
process prints goes to standard error)::

    {"kind": "run", "run_id": "..."}
    {"kind": "epoch", "epoch": 1, "logs": {"loss": 0.8, ...}}
    {"kind": "end", "status": "finished", "final": {...}, "run_id": "...", "error": null}

``SIGTERM`` stops it cleanly (the run is recorded as stopped). When its standard input
closes — the runner died, even by ``SIGKILL`` — it exits at once, leaving its run
unfinished in the history, so a continued experiment runs the trial again.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any

__all__ = ["main"]


class TrialStopped(Exception):
    """SIGTERM: the runner asked this trial to stop."""


class _Channel:
    """The JSON-lines channel to the runner: the real standard output."""

    def __init__(self):
        self._out = os.fdopen(os.dup(sys.stdout.fileno()), "w", encoding="utf-8")
        sys.stdout = sys.stderr  # a stray print must not garble the channel

    def send(self, message: dict[str, Any]) -> None:
        try:
            self._out.write(json.dumps(_plain(message), allow_nan=False) + "\n")
            self._out.flush()
        except (OSError, ValueError):
            os._exit(3)  # the runner is gone


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if hasattr(value, "item") and not isinstance(value, str):
        return _plain(value.item())
    return value


def _watch_runner() -> None:
    """Exit as soon as the runner's end of our standard input closes."""

    def watch() -> None:
        # os.read on the descriptor, not sys.stdin: a buffered reader blocked in a daemon
        # thread makes the interpreter's shutdown abort.
        try:
            while os.read(0, 1024):
                pass
        except OSError:
            pass
        os._exit(3)

    threading.Thread(target=watch, name="runner-watch", daemon=True).start()


def _on_term(signum, frame) -> None:
    raise TrialStopped


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m engine.experiments.trial")
    parser.add_argument("project", type=Path)
    parser.add_argument("experiment", type=Path, help="the experiment's folder")
    parser.add_argument("trial")
    parser.add_argument("--source", default="app")
    args = parser.parse_args(argv)
    channel = _Channel()
    _watch_runner()
    signal.signal(signal.SIGTERM, _on_term)
    recorder = None
    try:
        recorder, setup = _prepare(args, channel)
        _train(setup, recorder, channel)
    except (TrialStopped, KeyboardInterrupt):
        if recorder is not None:
            recorder.interrupted()
        run_id = recorder.record.id if recorder is not None else None
        channel.send({"kind": "end", "status": "stopped", "run_id": run_id, "final": {}})
        return 0
    except Exception as err:  # noqa: BLE001 - reported to the runner, which shows it
        from engine.user_errors import user_error_types  # noqa: PLC0415

        text = " ".join(str(err).split()) or type(err).__name__
        if not isinstance(err, user_error_types()):
            import traceback  # noqa: PLC0415

            traceback.print_exc()
            text = f"internal error ({type(err).__name__}: {text})"
        if recorder is not None:
            recorder.interrupted()
        run_id = recorder.record.id if recorder is not None else None
        channel.send({"kind": "end", "status": "failed", "error": text, "run_id": run_id})
        return 1
    record = recorder.record
    channel.send(
        {
            "kind": "end",
            "status": record.status,
            "final": dict(record.final),
            "run_id": record.id,
            "error": record.note if record.status == "diverged" else recorder.problem,
        }
    )
    return 0


def _prepare(args, channel: _Channel):
    """The recorder of this trial's run and the run's ``TrainingSetup``, ready to fit."""
    from engine.experiments.apply import apply_values  # noqa: PLC0415
    from engine.experiments.experiment import ExperimentStore  # noqa: PLC0415
    from engine.graph.project import Project, load_project  # noqa: PLC0415
    from engine.graph.session import prepare_training  # noqa: PLC0415
    from engine.runs import RunStore, resume_setup, runs_dir_for  # noqa: PLC0415
    from engine.runs.record import record_run  # noqa: PLC0415

    folder = args.experiment
    experiment = ExperimentStore(folder.parent.parent).load(folder.name)
    trial = experiment.trial(args.trial)
    base = experiment.project_json()
    if base is None:
        base = load_project(args.project).to_json()
    # The run's epochs are the project's setting too, so a new schedule spans the run (all
    # the rungs of successive halving: the continued runs share one schedule).
    planned = experiment.epochs if experiment.strategy == "halving" else None
    values = {"epochs": planned or experiment.trial_epochs(trial), **trial.values}
    applied = apply_values(base, values, base_dir=args.project.parent)
    project = Project.from_json(applied, file=args.project)
    store = RunStore(runs_dir_for(args.project))
    total = experiment.trial_epochs(trial)
    parent_run = None
    if trial.parent is not None:
        parent_id = experiment.trial(trial.parent).run_id
        parent_run = store.load(parent_id) if parent_id else None
    if parent_run is not None:
        setup = prepare_training(project, epochs=max(1, total - parent_run.epochs_done))
        resume_setup(setup, parent_run)
    else:
        setup = prepare_training(project, epochs=total)
    tag = {
        "id": experiment.id,
        "trial": trial.id,
        "name": experiment.name,
        "values": dict(trial.values),
    }
    recorder = record_run(
        store,
        setup,
        source=args.source,
        parent=parent_run.id if parent_run is not None else None,
        name=f"{experiment.name} {trial.id}",
        experiment=tag,
    )
    channel.send({"kind": "run", "run_id": recorder.record.id})
    return recorder, setup


def _train(setup, recorder, channel: _Channel) -> None:
    from engine.callbacks import Callback  # noqa: PLC0415

    class Progress(Callback):
        def on_epoch_end(self, epoch, logs=None) -> None:
            channel.send({"kind": "epoch", "epoch": epoch + 1, "logs": dict(logs or {})})

    setup.model.fit(**setup.fit_arguments([recorder, Progress()]))


if __name__ == "__main__":
    sys.exit(main())
