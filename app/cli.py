"""The ``layercanvas`` command line (DESIGN.md, "Command line").

::

    layercanvas [PROJECT]            open the app (optionally a project)
    layercanvas check PROJECT        diagnostics + a summary table; exit 1 if invalid
    layercanvas train PROJECT [--epochs N] [--device cpu|gpu|auto] [--out DIR] [--seed S]
                                     [--batch-size B]
    layercanvas sweep PROJECT --param NAME=VALUES ...   experiments (app/cli_sweep.py)
    layercanvas export MODEL_OR_PROJECT --onnx F | --keras F | --keras-code F
    layercanvas export --pytorch OUTDIR PROJECT         a PyTorch DDP package
    layercanvas import FILE.onnx|.keras|.h5|best.npz --out PROJECT
    layercanvas finetune PROJECT --freeze-up-to N --replace-head N (app/cli_finetune.py)
    layercanvas datasets list|download|add              the dataset cache (app/cli_datasets.py)

``train`` (``app/cli_train.py``) shows a progress bar, saves a checkpoint after every
epoch and, at the end, ``DIR/model.lcmodel`` with the history in ``DIR/history.json`` and
``DIR/history.csv``; Ctrl-C stops cleanly (exit status 130), and a run that diverges exits
1 without touching ``DIR/model.lcmodel``.

A user error (a bad file, a bad graph, a bad option) prints one line to stderr and exits
with 2 (usage) or 1 (invalid input) — never a traceback. An unexpected failure prints one
line asking to report it, with the path of a log file holding the traceback.

The subcommands (``train``, ``sweep``, ``export``, ``import``, ``finetune``, ``datasets``) are
added as one
``add_*_command(subparsers)`` function each in :data:`SUBCOMMANDS`; what they share (program
name, exit statuses, one-line messages) is in ``app/cli_common.py``.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
import tempfile
import traceback
from collections.abc import Callable
from pathlib import Path

from app.check_report import summary_table
from app.cli_common import EXIT_INTERRUPTED, EXIT_INVALID, EXIT_OK, EXIT_USAGE, PROG, shown
from app.cli_common import count as _count
from app.cli_common import fail as _fail
from app.cli_common import format_diagnostic as _format_diagnostic
from app.cli_common import one_line as _one_line
from engine.user_errors import user_error_types

__all__ = ["SUBCOMMANDS", "build_parser", "main", "open_app"]


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


#: Each adds one subcommand; its parser's ``run(args) -> exit status`` does the work.
SUBCOMMANDS: list[Callable] = [add_check_command]

from app.cli_datasets import add_datasets_command  # noqa: E402
from app.cli_onnx import add_export_command, add_import_command  # noqa: E402
from app.cli_train import add_train_command  # noqa: E402

SUBCOMMANDS += [add_train_command, add_export_command, add_import_command, add_datasets_command]

from app.cli_sweep import add_sweep_command  # noqa: E402

SUBCOMMANDS.append(add_sweep_command)

from app.cli_finetune import add_finetune_command  # noqa: E402

SUBCOMMANDS.append(add_finetune_command)


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
                raise UsageError(f"{PROG}: unknown command {shown(argv[0])} (see '{PROG} --help')")
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
    from engine.datasets import DatasetNotDownloaded  # noqa: PLC0415
    from engine.graph.diagnostics import Diagnostic  # noqa: PLC0415
    from engine.graph.session import data_diagnostics  # noqa: PLC0415

    try:
        dataset = load_dataset(project.dataset, project.base_dir)
    except DatasetNotDownloaded as err:  # still check the graph against the set's shapes
        from engine.data.downloadable import stand_in  # noqa: PLC0415

        print(f"note: {_one_line(err)}")
        dataset = stand_in(err.name, project.dataset)
    except DataError as err:
        return [Diagnostic("error", "dataset", _one_line(err), key="dataset")]
    return data_diagnostics(result, project, dataset)


if __name__ == "__main__":
    sys.exit(main())
