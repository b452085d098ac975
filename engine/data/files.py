"""Checks made before any file is opened: it exists, it is a regular file, it is not huge.

Every importer calls :func:`check_file` on each file before opening it (each image of an image
folder, each ``.npy``, both IDX files, every CSV), so a missing file, a folder, a device such
as ``/dev/zero``, a FIFO (which would block ``open`` until a writer comes) or a socket, and a
file far larger than anything sensible, each gives one clear :class:`DataError` instead of a
hang, an endless read, a traceback or an out-of-memory crash halfway through reading. The
readers themselves then read with a bound as well, since a file can grow after ``stat()``.
"""

from __future__ import annotations

import os
from pathlib import Path

from engine.data.errors import DataError
from engine.safe_files import regular_file_problem

__all__ = ["DEFAULT_MAX_BYTES", "check_file", "check_folder", "resolve_path", "format_size"]

#: Files larger than this are refused unless a caller raises the limit explicitly.
DEFAULT_MAX_BYTES = 2 * 1024**3


def format_size(n_bytes: int) -> str:
    """A size as a person reads it ("1.5 GiB")."""
    size = float(n_bytes)
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"):
        if size < 1024 or unit == "EiB":
            if unit == "bytes":
                return f"{int(size)} {unit}"
            return f"{size:.1f} {unit}" if size < 1e6 else f"{size:.3g} {unit}"
        size /= 1024
    raise AssertionError("unreachable")


def resolve_path(path: str | Path, base_dir: str | Path | None) -> Path:
    """``path`` itself when absolute, else taken relative to ``base_dir`` (the project's folder)."""
    p = Path(path).expanduser()
    if not p.is_absolute() and base_dir is not None:
        p = Path(base_dir) / p
    return p


def check_file(path: str | Path, max_bytes: int = DEFAULT_MAX_BYTES) -> Path:
    """Return ``path`` as a Path after checking it is a regular file of at most ``max_bytes``."""
    p = Path(path)
    problem = regular_file_problem(p)
    if problem is not None:
        raise DataError(f"{p}: {problem}", path=p)
    try:
        size = os.stat(p).st_size
    except OSError as err:  # removed since the check above
        raise DataError(f"{p}: cannot read it ({err.strerror or err})", path=p) from None
    if size > max_bytes:
        raise DataError(
            f"{p}: file is {format_size(size)}, larger than the limit of {format_size(max_bytes)}",
            path=p,
        )
    return p


def check_folder(path: str | Path) -> Path:
    """Return ``path`` as a Path after checking it is an existing folder."""
    p = Path(path)
    if not p.exists():
        raise DataError(f"{p}: folder not found", path=p)
    if not p.is_dir():
        raise DataError(f"{p}: not a folder", path=p)
    return p
