"""Turning an exception raised by a training (or other worker) job into one message a user
can act on; unexpected ones leave their traceback in a log file that the message names."""

from __future__ import annotations

import datetime
import os
import tempfile
import traceback
from pathlib import Path

from engine.user_errors import user_error_types

__all__ = ["describe_error", "write_crash_log"]


def _one_line(err: BaseException) -> str:
    return " ".join(str(err).split()) or type(err).__name__


def describe_error(err: BaseException, doing: str = "Training") -> str:
    """One message a user can act on, for an exception raised while ``doing`` something.

    Mistakes in the project, the data or the files are the user's to fix and are told as
    such; anything else is an internal error whose traceback goes to a log file.
    """
    from engine.data import DataError  # noqa: PLC0415
    from engine.graph.session import ProjectInvalid  # noqa: PLC0415

    if isinstance(err, ProjectInvalid):
        errors = [d for d in err.diagnostics if d.severity == "error"]
        lines = [f"{doing} cannot start: the project has {len(errors)} problem(s)."]
        for d in errors[:5]:
            where = f"{d.key}: " if d.key else ""
            fix = f" ({d.fix})" if getattr(d, "fix", None) else ""
            lines.append(f"• {where}{d.message}{fix}")
        if len(errors) > 5:
            lines.append(f"• ... and {len(errors) - 5} more (see the Problems panel)")
        return "\n".join(lines)
    if isinstance(err, DataError):
        return f"{doing} cannot start: the data could not be used. {_one_line(err)}"
    if isinstance(err, user_error_types()):
        return f"{doing} cannot start: {_one_line(err)}"
    if isinstance(err, MemoryError):
        return (
            f"{doing} ran out of memory. Try a smaller batch size, fewer or smaller layers, "
            "or a smaller dataset."
        )
    if isinstance(err, ValueError | TypeError):
        # fit's own checks (label shapes, dtypes) raise ValueError with a clear message.
        return f"{doing} stopped: {_one_line(err)}"
    log = write_crash_log(doing)
    return (
        f"{doing} failed unexpectedly ({type(err).__name__}: {_one_line(err)}). "
        f"The details were written to {log}; please report them."
    )


def write_crash_log(doing: str) -> str:
    """Write the current exception's traceback to a log file; return its path."""
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    text = f"LayerCanvas: {doing}\n\n{traceback.format_exc()}"
    folders = []
    if os.environ.get("LAYERCANVAS_LOG_DIR"):
        folders.append(Path(os.environ["LAYERCANVAS_LOG_DIR"]))
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    folders += [Path(cache) / "layercanvas" / "logs", Path(tempfile.gettempdir()) / "layercanvas"]
    for folder in folders:
        try:
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"crash-{stamp}-{os.getpid()}.log"
            path.write_text(text, encoding="utf-8")
            return str(path)
        except OSError:
            continue
    return "(no log file could be written)"
