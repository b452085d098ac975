"""The ``sweep`` subcommand of ``layercanvas``: run an experiment headless.

::

    layercanvas sweep PROJECT --param lr=1e-4:1e-1:log:6 --param hidden.units=32,64,128
                      [--strategy grid|random|halving] [--trials N] [--metric val_accuracy]
                      [--mode max|min] [--parallel K] [--epochs E] [--name NAME] [--seed S]
    layercanvas sweep PROJECT --continue EXP_ID [--parallel K]
    layercanvas sweep PROJECT --list

Every parameter and value is checked before the first trial starts (a bad one is one line
and exit status 1). Each trial is a run in the project's run store, tagged with the
experiment, exactly as the app's Experiments view records it; the experiment is kept in
``PROJECT.runs/experiments/<id>/``. A line per trial shows progress, and a table sorted by
the metric ends the sweep. Ctrl-C stops the running trials (recorded as stopped) and exits
130; ``--continue EXP_ID`` runs what is left, also after the process was killed.
"""

from __future__ import annotations

import argparse
import math
import sys
import threading
from pathlib import Path

from app.cli_common import EXIT_INTERRUPTED, EXIT_INVALID, EXIT_OK, EXIT_USAGE, PROG, fail

__all__ = ["add_sweep_command", "run_sweep"]


def add_sweep_command(subparsers) -> None:
    p = subparsers.add_parser(
        "sweep",
        help="run an experiment: train a project for each combination of parameter values",
        description="Sweep training settings (lr, batch_size, epochs, optimizer, schedule, "
        "optimizer.<argument>) and node parameters (<node id>.<param>) headless. Each trial "
        "is recorded as a run of the project. Values: a list 32,64,128 (or names adam,sgd), "
        "a range start:stop:count, or a log range start:stop:log:count.",
    )
    p.add_argument("project", help="a .lcproj file")
    p.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUES",
        help="a parameter to sweep, e.g. lr=1e-4:1e-1:log:6 or hidden.units=32,64 (repeatable)",
    )
    p.add_argument(
        "--strategy",
        choices=("grid", "random", "halving"),
        default="grid",
        help="grid: every combination; random: --trials N of them; halving: successive "
        "halving (the better half goes on for twice the epochs at each rung)",
    )
    p.add_argument("--trials", type=_positive, help="how many trials (random, halving)")
    p.add_argument("--metric", help="the value that ranks trials (default: val_<first metric>)")
    p.add_argument("--mode", choices=("max", "min"), help="higher or lower is better")
    p.add_argument("--parallel", type=_positive, help="trials at once (default 1)")
    p.add_argument("--epochs", type=_positive, help="epochs per trial (default: the project's)")
    p.add_argument("--name", help="a name for the experiment")
    p.add_argument("--seed", type=_positive_or_zero, default=0, help="seed of random draws")
    p.add_argument("--continue", dest="resume", metavar="EXP_ID", help="run what is left")
    p.add_argument("--list", action="store_true", help="list the project's experiments")
    p.set_defaults(run=run_sweep)


def _positive(text: str) -> int:
    from app.cli_common import positive_int  # noqa: PLC0415

    return positive_int(text)


def _positive_or_zero(text: str) -> int:
    from app.cli_common import non_negative_int  # noqa: PLC0415

    return non_negative_int(text)


def run_sweep(args: argparse.Namespace) -> int:
    from engine.experiments import ExperimentStore  # noqa: PLC0415
    from engine.graph.project import load_project  # noqa: PLC0415
    from engine.runs import runs_dir_for  # noqa: PLC0415

    chosen = [bool(args.param), bool(args.resume), bool(args.list)]
    if sum(chosen) != 1:
        fail(
            f"{PROG} sweep: give --param NAME=VALUES (a new experiment), --continue EXP_ID "
            f"or --list, one of them (see '{PROG} sweep --help')"
        )
        return EXIT_USAGE
    project = load_project(args.project)
    store = ExperimentStore(runs_dir_for(args.project))
    if args.list:
        return _list(store)
    if args.resume:
        experiment = store.load(args.resume)
        if args.parallel is None:
            args.parallel = experiment.parallel
    else:
        experiment = _create(args, project, store)
    return _run(args, experiment)


def _create(args, project, store):
    from engine.experiments import resolve_params  # noqa: PLC0415
    from engine.experiments.metrics import check_metric, default_metric  # noqa: PLC0415
    from engine.graph.session import DEFAULTS, ProjectInvalid  # noqa: PLC0415

    check = project.check()
    if not check.ok:
        raise ProjectInvalid(check.diagnostics)
    if not project.dataset:
        from engine.experiments import SweepError  # noqa: PLC0415

        raise SweepError(f"{args.project}: no dataset is chosen, so nothing can be trained")
    params = resolve_params(project, args.param)
    data = project.to_json()
    metric = args.metric or default_metric(data)
    check_metric(data, metric)
    epochs = args.epochs or int(project.training.get("epochs") or DEFAULTS["epochs"])
    return store.create(
        params,
        strategy=args.strategy,
        trials=args.trials,
        metric=metric,
        mode=args.mode,
        parallel=args.parallel or 1,
        epochs=epochs,
        seed=args.seed,
        name=args.name,
        project=data,
        source="cli",
    )


def _run(args, experiment) -> int:
    from engine.experiments.runner import ExperimentRunner  # noqa: PLC0415

    parallel = args.parallel or 1
    left = len(experiment.remaining()) + sum(t.status == "running" for t in experiment.trials)
    names = ", ".join(p.get("label") or p["name"] for p in experiment.params)
    print(
        f'Experiment "{experiment.name}" ({experiment.id}): {len(experiment.trials)} trials '
        f"({experiment.strategy}) of {names}, {left} to run, {parallel} at a time; ranked by "
        f"{experiment.metric} ({experiment.mode})",
        flush=True,
    )
    progress = _Progress(experiment)
    runner = ExperimentRunner(
        Path(args.project), experiment, parallel=parallel, on_event=progress, source="cli"
    )
    outcome: dict = {}
    done = threading.Event()

    def work() -> None:
        try:
            outcome["status"] = runner.run()
        except BaseException as err:  # noqa: BLE001 - raised again in the main thread
            outcome["error"] = err
        finally:
            done.set()

    thread = threading.Thread(target=work, name="sweep-runner")
    thread.start()
    interrupted = False
    # Waiting on an Event, not on join(): a Ctrl-C that interrupts Thread.join can leave
    # the thread looking finished while it still runs.
    while not done.is_set():
        try:
            done.wait(0.2)
        except KeyboardInterrupt:
            if not interrupted:
                print("\nstopping the running trials ...", file=sys.stderr, flush=True)
            interrupted = True
            runner.stop()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    print(_table(experiment))
    best = experiment.best_trial()
    if best is not None:
        values = ", ".join(f"{k}={_value(v)}" for k, v in best.values.items())
        print(f"Best: {best.id} ({values}): {experiment.metric} = {_value(best.metric)}")
    if interrupted or outcome.get("status") == "stopped":
        fail(
            f"{PROG}: sweep stopped; run '{PROG} sweep {args.project} --continue "
            f"{experiment.id}' to run the rest"
        )
        return EXIT_INTERRUPTED
    ended = [t for t in experiment.trials if t.status not in ("pending", "running")]
    failed = [t for t in ended if t.status == "failed"]
    if ended and len(failed) == len(ended):
        fail(f"{PROG}: error: every trial failed; the first: {failed[0].error}")
        return EXIT_INVALID
    return EXIT_OK


class _Progress:
    """One line per trial start and end (called from the runner's thread)."""

    def __init__(self, experiment):
        self.experiment = experiment

    def __call__(self, event: dict) -> None:
        kind = event["kind"]
        if kind not in ("trial_started", "trial_finished"):
            return
        experiment = self.experiment
        trial = experiment.trial(event["trial"])
        number = f"[{experiment.trials.index(trial) + 1}/{len(experiment.trials)}]"
        values = " ".join(f"{k}={_value(v)}" for k, v in trial.values.items())
        if kind == "trial_started":
            epochs = experiment.trial_epochs(trial)
            rung = f" rung {trial.rung}," if experiment.strategy == "halving" else ""
            print(f"{number} {trial.id}{rung} {values}: training {epochs} epochs", flush=True)
            return
        status = event["status"]
        if status == "finished":
            result = f"{experiment.metric} = {_value(event['metric'])}"
        else:
            result = status + (f": {event['error']}" if event.get("error") else "")
        print(f"{number} {trial.id} {result}", flush=True)


def _value(value) -> str:
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        return (
            f"{value:.4g}"
            if value != 0 and abs(value) < 1e-3
            else f"{value:.4f}".rstrip("0").rstrip(".")
        )
    return str(value)


def _table(experiment) -> str:
    """The trials, best first, as a plain-text table."""
    names = [p["name"] for p in experiment.params]
    labels = [p.get("label") or p["name"] for p in experiment.params]
    header = ["#", "trial", *labels, experiment.metric, "status", "run"]
    if experiment.strategy == "halving":
        header.insert(2, "rung")
    rows = []
    for rank, trial in enumerate(experiment.ranked(), start=1):
        row = [str(rank), trial.id]
        if experiment.strategy == "halving":
            row.append(str(trial.rung))
        row += [_value(trial.values.get(n, "")) for n in names]
        row += [
            "" if trial.metric is None else _value(trial.metric),
            trial.status,
            trial.run_id or "",
        ]
        rows.append(row)
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
        for r in [header, *rows]
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _list(store) -> int:
    experiments, problems = store.scan()
    for problem in problems:
        fail(f"{PROG}: warning: {problem}")
    if not experiments:
        print(f"No experiments in {store.root}")
        return EXIT_OK
    header = ["id", "name", "strategy", "trials", "status", "best"]
    rows = []
    for e in experiments:
        done = sum(t.status == "finished" for t in e.trials)
        best = e.best_trial()
        shown = f"{e.metric} = {_value(best.metric)} ({best.id})" if best else ""
        rows.append([e.id, e.name, e.strategy, f"{done}/{len(e.trials)}", e.status, shown])
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    return EXIT_OK
