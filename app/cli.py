"""The ``layercanvas`` command line (DESIGN.md, "Command line").

::

    layercanvas [PROJECT]            open the app (optionally a project)
    layercanvas check PROJECT        diagnostics + a summary table; exit 1 if invalid
    layercanvas train PROJECT [--epochs N] [--device cpu|gpu|auto] [--out DIR] [--seed S]
                                     [--batch-size B]

``train`` shows a progress bar (loss, metrics, samples/s, ETA), saves a checkpoint after
every epoch and, at the end, ``DIR/model.lcmodel`` with the history in ``DIR/history.json``
(one list per logged value, plus ``epoch``) and ``DIR/history.csv`` (one row per epoch,
epochs counted from 1). Ctrl-C stops cleanly: the last completed epoch's checkpoint becomes
``model.lcmodel``, the history so far is written, and the exit status is 130.

A user error (a bad file, a bad graph, a bad option) prints one line to stderr and exits
with 2 (usage) or 1 (invalid input) — never a traceback. An unexpected failure prints one
line asking to report it, with the path of a log file holding the traceback.

More subcommands (``export``, ``import``) are added as one ``add_*_command(subparsers)``
function each in :data:`SUBCOMMANDS`.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import datetime
import json
import os
import shutil
import sys
import tempfile
import traceback
import warnings
from collections.abc import Callable
from pathlib import Path

from app.check_report import summary_table
from engine.user_errors import user_error_types

__all__ = ["SUBCOMMANDS", "build_parser", "main", "open_app"]

PROG = "layercanvas"
EXIT_OK, EXIT_INVALID, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


class UsageError(Exception):
    """A bad command line; reported in one line with exit status 2."""


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage error as one line (not usage + error) and exits 2."""

    def error(self, message: str):  # noqa: D401 - argparse's hook
        raise UsageError(f"{self.prog}: {message} (see '{self.prog} --help')")


# -- subcommands ---------------------------------------------------------------------------------


def add_check_command(subparsers) -> None:
    p = subparsers.add_parser(
        "check",
        help="report every problem in a project and summarise its layers",
        description="Check a project: print its diagnostics and a table of layers with "
        "output shapes, parameters and FLOPs. Exit status 1 if it has errors.",
    )
    p.add_argument("project", help="a .lcproj file")
    p.add_argument(
        "--no-data",
        action="store_true",
        help="do not load the dataset to check that it fits the graph",
    )
    p.set_defaults(run=run_check)


def add_train_command(subparsers) -> None:
    p = subparsers.add_parser(
        "train",
        help="train a project headless and save the model and its history",
        description="Train a project without the window. Writes DIR/model.lcmodel, "
        "DIR/history.json and DIR/history.csv; Ctrl-C stops cleanly (exit status 130).",
    )
    p.add_argument("project", help="a .lcproj file")
    p.add_argument("--epochs", type=_positive_int, help="override the project's epochs")
    p.add_argument(
        "--device",
        choices=("cpu", "gpu", "auto"),
        default="cpu",
        help="where to compute (auto: the GPU if one is usable, else the CPU)",
    )
    p.add_argument(
        "--out", type=Path, help="output folder (default: runs/<project name> beside it)"
    )
    p.add_argument("--seed", type=_non_negative_int, help="override the project's seed")
    p.add_argument("--batch-size", type=_positive_int, help="override the project's batch size")
    p.set_defaults(run=run_train)


#: Each adds one subcommand; its parser's ``run(args) -> exit status`` does the work.
SUBCOMMANDS: list[Callable] = [add_check_command, add_train_command]

from app.cli_onnx import add_export_command, add_import_command  # noqa: E402

SUBCOMMANDS += [add_export_command, add_import_command]


def _positive_int(text: str) -> int:
    value = _int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _non_negative_int(text: str) -> int:
    value = _int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {text!r}")
    return value


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=PROG,
        description="LayerCanvas: build neural networks visually, train them, export to "
        "ONNX. Without a command, opens the app (optionally on PROJECT).",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for add in SUBCOMMANDS:
        add(subparsers)
    return parser


def _version() -> str:
    import engine  # noqa: PLC0415

    return engine.__version__


# -- entry point -----------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status (the console script exits with it)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        parser = build_parser()
        commands = set(parser._subparsers._group_actions[0].choices)  # noqa: SLF001
        if not argv or (argv[0] not in commands and not argv[0].startswith("-")):
            if len(argv) > 1:
                raise UsageError(f"{PROG}: unknown command {argv[0]!r} (see '{PROG} --help')")
            return open_app(argv[0] if argv else None)
        args = parser.parse_args(argv)
        if getattr(args, "run", None) is None:
            raise UsageError(f"{PROG}: choose a command (see '{PROG} --help')")
        return int(args.run(args))
    except UsageError as err:
        _fail(str(err))
        return EXIT_USAGE
    except SystemExit as err:  # --help and --version exit 0 through argparse
        return int(err.code or 0) if isinstance(err.code, int) else EXIT_OK
    except KeyboardInterrupt:
        _fail(f"{PROG}: interrupted")
        return EXIT_INTERRUPTED
    except user_error_types() as err:
        _fail(f"{PROG}: error: {_one_line(err)}")
        return EXIT_INVALID
    except Exception:
        log = _write_crash_log()
        kind, value = sys.exc_info()[:2]
        _fail(
            f"{PROG}: internal error ({kind.__name__}: {_one_line(value)}); please report it "
            f"with the log {log}"
        )
        return EXIT_INVALID


def _one_line(err: BaseException | None) -> str:
    return " ".join(str(err).split()) or type(err).__name__


def _fail(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _log_dir() -> Path:
    if os.environ.get("LAYERCANVAS_LOG_DIR"):
        return Path(os.environ["LAYERCANVAS_LOG_DIR"])
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "layercanvas" / "logs"


def _write_crash_log() -> Path | str:
    """Write the current exception's traceback to a log file; return its path."""
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    text = f"layercanvas {' '.join(sys.argv[1:])}\n\n{traceback.format_exc()}"
    for folder in (_log_dir(), Path(tempfile.gettempdir()) / "layercanvas-logs"):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"crash-{stamp}-{os.getpid()}.log"
            path.write_text(text, encoding="utf-8")
            return path
        except OSError:
            continue
    return "(no log could be written)"


def open_app(project: str | None) -> int:
    """Open the window (``app.main_window.run_gui``). While the window is not installed,
    say so and, given a project, train it headless instead."""
    try:
        from app.main_window import run_gui  # noqa: PLC0415
    except ImportError as err:
        reason = f"the LayerCanvas window is not available ({_one_line(err)})"
        if project is None:
            _fail(f"{PROG}: {reason}; use '{PROG} train PROJECT' (see '{PROG} --help')")
            return EXIT_INVALID
        _fail(f"{PROG}: {reason}; training {project} headless instead")
        return main(["train", project])
    if not _display_available():
        # Qt would abort the whole process with a cryptic message; say what to do instead.
        _fail(
            f"{PROG}: no display to open the window on (DISPLAY is not set): run it on a "
            f"desktop, or under a virtual one with 'xvfb-run -a {PROG}', or train headless "
            f"with '{PROG} train PROJECT'"
        )
        return EXIT_INVALID
    return int(run_gui(project) or 0)


def _display_available() -> bool:
    """Whether Qt has somewhere to show a window (always on Windows and macOS)."""
    if not sys.platform.startswith("linux"):
        return True
    env = os.environ
    return bool(env.get("DISPLAY") or env.get("WAYLAND_DISPLAY") or env.get("QT_QPA_PLATFORM"))


# -- check --------------------------------------------------------------------------------------


def run_check(args: argparse.Namespace) -> int:
    from engine.graph.project import load_project  # noqa: PLC0415

    project = load_project(args.project)
    checked = project.check()
    diagnostics = list(checked.diagnostics)
    if checked.ok and project.dataset and not args.no_data:
        diagnostics += _data_fit(project, checked.graph)
    out = sys.stdout
    print(f'Project "{project.name}" ({args.project})', file=out)
    print(summary_table(project, checked.graph), file=out)
    if project.dataset:
        print(f"Dataset: {json.dumps(project.dataset)}", file=out)
    for warning in project.warnings:
        print(f"warning: {warning}", file=out)
    for d in diagnostics:
        print(_format_diagnostic(d), file=out)
    errors = [d for d in diagnostics if d.severity == "error"]
    warnings_count = len(diagnostics) - len(errors) + len(project.warnings)
    print(
        f"{_count(len(errors), 'error')}, {_count(warnings_count, 'warning')}"
        if diagnostics or project.warnings
        else "OK: no problems found",
        file=out,
    )
    if errors:
        first = _format_diagnostic(errors[0]).removeprefix("error: ")
        more = f" (and {len(errors) - 1} more, listed above)" if len(errors) > 1 else ""
        _fail(f"{PROG}: {args.project}: {first}{more}")
        return EXIT_INVALID
    return EXIT_OK


def _data_fit(project, result) -> list:
    """Load the dataset and check it fits the graph; a data problem becomes a diagnostic."""
    from engine.data import DataError, load_dataset  # noqa: PLC0415
    from engine.graph.diagnostics import Diagnostic  # noqa: PLC0415
    from engine.graph.session import data_diagnostics  # noqa: PLC0415

    try:
        dataset = load_dataset(project.dataset, project.base_dir)
    except DataError as err:
        return [Diagnostic("error", "dataset", _one_line(err), key="dataset")]
    return data_diagnostics(result, project, dataset)


def _format_diagnostic(d) -> str:
    where = f"{d.key}: " if d.key else ""
    nodes = f"[{', '.join(d.node_ids)}] " if d.node_ids and not d.key else ""
    return f"{d.severity}: {where}{nodes}{d.text()}"


def _count(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


# -- train --------------------------------------------------------------------------------------


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
        message = _one_line(err)
        prefix = "" if message.startswith(str(args.project)) else f"{args.project}: "
        _fail(f"{PROG}: error: {prefix}{message}")
        return EXIT_INVALID
    for w in project.warnings:
        print(f"warning: {w}", file=sys.stderr)
    for d in setup.warnings:
        print(_format_diagnostic(d), file=sys.stderr)
    data = setup.data
    n_val = 0 if data.validation is None else len(data.validation)
    print(
        f'Training "{project.name}" on the {device.upper()}: {setup.train_samples} samples '
        f"({n_val} for validation), {setup.epochs} epochs of batch {setup.batch_size}; "
        f"writing to {out}",
        flush=True,
    )
    out.mkdir(parents=True, exist_ok=True)
    return _fit(setup, out)


def _fit(setup, out: Path) -> int:
    from engine.callbacks import History, ModelCheckpoint  # noqa: PLC0415

    model = setup.model
    history = History()
    checkpoint = out / "checkpoint.lcmodel"
    with contextlib.suppress(FileNotFoundError):
        checkpoint.unlink()  # a checkpoint of an earlier run must not pass for this one's
    callbacks = [_progress_bar(setup), ModelCheckpoint(checkpoint), history]
    try:
        model.fit(**setup.fit_arguments(callbacks))
    except KeyboardInterrupt:
        return _interrupted(out, history, checkpoint)
    _write_history(out, history)
    model.save(out / "model.lcmodel")
    final = {k: v[-1] for k, v in history.history.items() if v}
    if setup.data.test is not None:
        test = model.evaluate(setup.data.test.x, setup.data.test.y, verbose=0, return_dict=True)
        final.update({f"test_{k}": v for k, v in test.items()})
    figures = ", ".join(f"{k} {v:.4f}" for k, v in final.items() if k != "learning_rate")
    print(f"Done after {len(history.epoch)} epochs: {figures}")
    print(f"Saved {out / 'model.lcmodel'}, {out / 'history.json'}, {out / 'history.csv'}")
    if getattr(model, "stop_reason", None):
        _fail(f"{PROG}: training stopped early: {_one_line(model.stop_reason)}")
        return EXIT_INVALID
    return EXIT_OK


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
        tmp = out / ".model.lcmodel.tmp"
        shutil.copyfile(checkpoint, tmp)
        os.replace(tmp, out / "model.lcmodel")
        _fail(
            f"{PROG}: interrupted after {_count(done, 'epoch')}; kept the model of epoch "
            f"{done} in {out / 'model.lcmodel'} and the history so far"
        )
    else:
        _fail(f"{PROG}: interrupted before the first epoch ended; no model was saved")
    return EXIT_INTERRUPTED


def _write_history(out: Path, history) -> None:
    """``history.json``: ``{"epoch": [1, 2, ...], "loss": [...], ...}``; ``history.csv``:
    the same as one row per epoch. Both written atomically."""
    from engine.graph.project import write_text_atomic  # noqa: PLC0415

    columns = {"epoch": [e + 1 for e in history.epoch], **history.history}
    write_text_atomic(out / "history.json", json.dumps(columns, indent=2) + "\n")
    names = list(columns)
    lines = []
    writer = csv.writer(_Lines(lines), lineterminator="\n")
    writer.writerow(names)
    for i in range(len(columns["epoch"])):
        writer.writerow([_cell(columns[n], i) for n in names])
    write_text_atomic(out / "history.csv", "".join(lines))


class _Lines:
    """A file-like sink for csv.writer that collects lines."""

    def __init__(self, lines: list[str]):
        self.lines = lines

    def write(self, text: str) -> None:
        self.lines.append(text)


def _cell(values: list, i: int) -> str:
    if i >= len(values):
        return ""
    value = values[i]
    return repr(value) if isinstance(value, float) else str(value)


if __name__ == "__main__":
    sys.exit(main())
