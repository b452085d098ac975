"""The ``train`` subcommand of ``layercanvas`` (DESIGN.md, "Command line").

::

    layercanvas train PROJECT [--epochs N] [--device cpu|gpu|auto] [--out DIR] [--seed S]
                              [--batch-size B]

It shows a progress bar (loss, metrics, samples/s, ETA), saves ``DIR/checkpoint.lcmodel``
after every epoch and, at the end, ``DIR/model.lcmodel`` with the history in
``DIR/history.json`` (one list per logged value, plus ``epoch``; strict JSON, a NaN or
infinite value is ``null``) and ``DIR/history.csv`` (one row per epoch, epochs counted
from 1).

Every run is also recorded in the project's run store (``X.runs/`` beside ``X.lcproj``,
see :mod:`engine.runs`): its settings, curves, last and best weights, so headless runs show
up in the window's Runs panel. A store that cannot be written is a warning, not a failure.

Ctrl-C stops cleanly: the last completed epoch's checkpoint becomes ``model.lcmodel``, the
history so far is written, and the exit status is 130.

A run that diverges (a NaN or infinite loss, or an update that would make weights NaN or
infinite) stops at that batch with the weights from before it (``fit`` puts them back),
and exits 1 with one line that names the epoch and batch. It never touches
``DIR/model.lcmodel``, so a good model trained there earlier survives; the run's last
finite weights are in ``DIR/checkpoint.lcmodel`` and its history in ``DIR/history.json``.
No file with NaN or infinite weights is ever written.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import math
import shutil
import sys
import warnings
from pathlib import Path

from app.cli_common import (
    EXIT_INTERRUPTED,
    EXIT_INVALID,
    EXIT_OK,
    PROG,
    count,
    fail,
    format_diagnostic,
    non_negative_int,
    one_line,
    positive_int,
)
from engine.safe_files import atomic_path, write_text_atomic
from engine.user_errors import user_error_types

__all__ = ["add_train_command", "run_train"]


def add_train_command(subparsers) -> None:
    p = subparsers.add_parser(
        "train",
        help="train a project headless and save the model and its history",
        description="Train a project without the window. Writes DIR/model.lcmodel, "
        "DIR/history.json and DIR/history.csv; Ctrl-C stops cleanly (exit status 130). "
        "A run that diverges keeps DIR/model.lcmodel as it was and exits 1.",
    )
    p.add_argument("project", help="a .lcproj file")
    p.add_argument("--epochs", type=positive_int, help="override the project's epochs")
    p.add_argument(
        "--device",
        choices=("cpu", "gpu", "auto"),
        default="cpu",
        help="where to compute (auto: the GPU if one is usable, else the CPU)",
    )
    p.add_argument(
        "--out", type=Path, help="output folder (default: runs/<project name> beside it)"
    )
    p.add_argument("--seed", type=non_negative_int, help="override the project's seed")
    p.add_argument("--batch-size", type=positive_int, help="override the project's batch size")
    p.add_argument(
        "--no-record",
        action="store_true",
        help="do not record this run in the project's run store (PROJECT.runs/ beside it)",
    )
    p.set_defaults(run=run_train)


def run_train(args: argparse.Namespace) -> int:
    from engine import backend  # noqa: PLC0415
    from engine.graph.project import load_project  # noqa: PLC0415
    from engine.graph.session import prepare_training  # noqa: PLC0415

    project = load_project(args.project)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        device = backend.set_device(args.device)
    for w in caught:
        print(f"note: {w.message}", file=sys.stderr)
    out = args.out or project.base_dir / "runs" / Path(args.project).stem
    try:
        setup = prepare_training(
            project, epochs=args.epochs, batch_size=args.batch_size, seed=args.seed
        )
    except user_error_types() as err:
        message = one_line(err)
        prefix = "" if message.startswith(str(args.project)) else f"{args.project}: "
        fail(f"{PROG}: error: {prefix}{message}")
        return EXIT_INVALID
    for w in project.warnings:
        print(f"warning: {w}", file=sys.stderr)
    for d in setup.warnings:
        print(format_diagnostic(d), file=sys.stderr)
    data = setup.data
    n_val = 0 if data.validation is None else len(data.validation)
    print(
        f'Training "{project.name}" on the {device.upper()}: {setup.train_samples} samples '
        f"({n_val} for validation), {setup.epochs} epochs of batch {setup.batch_size}; "
        f"writing to {out}",
        flush=True,
    )
    out.mkdir(parents=True, exist_ok=True)
    recorder = None if args.no_record else _recorder(setup, Path(args.project))
    return _fit(setup, out, recorder)


def _recorder(setup, project_file: Path):
    """The recorder of this run in the project's run store, or None (with a warning) when
    the store cannot be written."""
    from engine.runs import RunStore, runs_dir_for  # noqa: PLC0415
    from engine.runs.record import record_run  # noqa: PLC0415

    store = RunStore(runs_dir_for(project_file))
    try:
        return record_run(store, setup, source="cli")
    except OSError as err:
        print(
            f"{PROG}: warning: this run is not recorded: cannot write {store.root} "
            f"({err.strerror or err})",
            file=sys.stderr,
        )
        return None


def _recorded(recorder) -> None:
    """Say where the run was recorded (or why recording stopped)."""
    if recorder is None:
        return
    if recorder.problem:
        print(f"{PROG}: warning: {recorder.problem}", file=sys.stderr)
    else:
        print(f"Recorded as '{recorder.record.name}' in {recorder.record.folder}")


@contextlib.contextmanager
def _warnings_as_lines():
    """Warnings raised while training (a checkpoint refused, a monitored value missing)
    print as one ``warning:`` line each, not as Python's two-line source listing."""

    def show(message, category, filename, lineno, file=None, line=None) -> None:
        print(f"{PROG}: warning: {one_line(message)}", file=sys.stderr, flush=True)

    with warnings.catch_warnings():
        warnings.simplefilter("default")
        warnings.showwarning = show
        yield


def _fit(setup, out: Path, recorder=None) -> int:
    from engine.callbacks import History, ModelCheckpoint  # noqa: PLC0415

    model = setup.model
    history = History()
    checkpoint = out / "checkpoint.lcmodel"
    with contextlib.suppress(FileNotFoundError):
        checkpoint.unlink()  # a checkpoint of an earlier run must not pass for this one's
    saver = ModelCheckpoint(checkpoint)
    callbacks = [_progress_bar(setup), saver, history, *([recorder] if recorder else [])]
    steps_before = getattr(model.optimizer, "iterations", None)
    try:
        with _warnings_as_lines():
            model.fit(**setup.fit_arguments(callbacks))
    except KeyboardInterrupt:
        if recorder is not None:
            recorder.interrupted()
        return _interrupted(out, history, checkpoint)
    _write_history(out, history)
    _recorded(recorder)
    if getattr(model, "stop_reason", None):
        untrained = steps_before is not None and model.optimizer.iterations == steps_before
        return _diverged(model, out, saver, untrained)
    target = out / "model.lcmodel"
    bad = _nonfinite(model)
    if bad:  # fit puts finite weights back when a step diverges; never save NaN regardless
        fail(
            f"{PROG}: error: the trained weights of {bad} are NaN or infinite; {target} was "
            "not written"
        )
        return EXIT_INVALID
    model.save(target)
    final = {k: v[-1] for k, v in history.history.items() if v}
    if setup.data.test is not None:
        test = model.evaluate(setup.data.test.x, setup.data.test.y, verbose=0, return_dict=True)
        final.update({f"test_{k}": v for k, v in test.items()})
    figures = ", ".join(f"{k} {_number(v)}" for k, v in final.items() if k != "learning_rate")
    print(f"Done after {count(len(history.epoch), 'epoch')}: {figures}")
    print(f"Saved {target}, {out / 'history.json'}, {out / 'history.csv'}")
    return EXIT_OK


def _diverged(model, out: Path, saver, untrained: bool) -> int:
    """A diverged run: say which batch, what was kept where, and leave model.lcmodel be."""
    checkpoint = Path(saver.filepath)
    target = out / "model.lcmodel"
    if not checkpoint.is_file():
        kept = "no finite weights were left to save"
    elif saver.last_refused:
        kept = f"{checkpoint} holds the last model of this run whose weights were finite"
    else:
        start = " (the starting weights: no batch of this run was kept)" if untrained else ""
        kept = f"the weights from before that batch{start} are in {checkpoint}"
    if target.is_file():
        left = f"{target} (from an earlier run) was left as it was"
    else:
        left = f"no {target.name} was written"
    fail(
        f"{PROG}: training diverged: {one_line(model.stop_reason)} Kept: {kept}; {left}; "
        f"the history is in {out / 'history.json'}"
    )
    return EXIT_INVALID


def _nonfinite(model) -> str | None:
    from engine.models.finite import describe_nonfinite, nonfinite_weights  # noqa: PLC0415

    found = nonfinite_weights(model)
    return describe_nonfinite(found) if found else None


def _number(value) -> str:
    if not isinstance(value, int | float) or isinstance(value, bool):
        return str(value)
    if value != 0 and math.isfinite(value) and not 1e-3 <= abs(value) < 1e6:
        return f"{value:.4e}"
    return f"{value:.4f}"


def _progress_bar(setup):
    """The engine's terminal progress bar, told the batch size so it can show samples/s."""
    from engine.callbacks import ProgbarLogger  # noqa: PLC0415

    class Progress(ProgbarLogger):
        def set_params(self, params) -> None:
            super().set_params(
                {
                    **(params or {}),
                    "verbose": 1,  # fit runs with verbose=0 so it adds no bar of its own
                    "batch_size": setup.batch_size,
                    "samples": setup.train_samples,
                }
            )

    return Progress(stream=sys.stdout)


def _interrupted(out: Path, history, checkpoint: Path) -> int:
    """Ctrl-C: keep the last completed epoch's checkpoint as the model, write the history."""
    print(file=sys.stdout, flush=True)
    _write_history(out, history)
    done = len(history.epoch)
    if checkpoint.is_file():
        with atomic_path(out / "model.lcmodel") as tmp:
            shutil.copyfile(checkpoint, tmp)
        fail(
            f"{PROG}: interrupted after {count(done, 'epoch')}; kept the model of epoch "
            f"{done} in {out / 'model.lcmodel'} and the history so far"
        )
    else:
        fail(f"{PROG}: interrupted before the first epoch ended; no model was saved")
    return EXIT_INTERRUPTED


def _json_value(value):
    """JSON has no NaN or infinity: such a value (a diverged loss) is written as null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _write_history(out: Path, history) -> None:
    """``history.json``: ``{"epoch": [1, 2, ...], "loss": [...], ...}``, every list as long as
    ``epoch`` (strict JSON: NaN, infinity and an epoch without validation, as with
    ``validation_freq`` > 1, are ``null``); ``history.csv``: the same as one row per epoch
    (``nan``, ``inf`` as Python writes them, an empty cell where there is no value). Both
    written atomically."""
    columns = {"epoch": [e + 1 for e in history.epoch], **_aligned(history)}
    strict = {name: [_json_value(v) for v in values] for name, values in columns.items()}
    write_text_atomic(out / "history.json", json.dumps(strict, indent=2, allow_nan=False) + "\n")
    names = list(columns)
    lines = []
    writer = csv.writer(_Lines(lines), lineterminator="\n")
    writer.writerow(names)
    for i in range(len(columns["epoch"])):
        writer.writerow([_cell(columns[n], i) for n in names])
    write_text_atomic(out / "history.csv", "".join(lines))


def _aligned(history) -> dict[str, list]:
    """Each logged key's value per epoch, None where an epoch did not log it."""
    per_epoch = getattr(history, "epoch_logs", None)
    if per_epoch is None or len(per_epoch) != len(history.epoch):
        return dict(history.history)
    return {key: [logs.get(key) for logs in per_epoch] for key in history.history}


class _Lines:
    """A file-like sink for csv.writer that collects lines."""

    def __init__(self, lines: list[str]):
        self.lines = lines

    def write(self, text: str) -> None:
        self.lines.append(text)


def _cell(values: list, i: int) -> str:
    if i >= len(values) or values[i] is None:
        return ""
    value = values[i]
    return repr(value) if isinstance(value, float) else str(value)
