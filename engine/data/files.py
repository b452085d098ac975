"""Checks made before any file is opened: it exists, it is the right kind, it is not huge.

Importers call :func:`check_file` first so that a missing file or a file far larger than
anything sensible gives one clear :class:`DataError` instead of a traceback or an
out-of-memory crash halfway through reading.
"""

from __future__ import annotations

from pathlib import Path

from engine.data.errors import DataError

__all__ = ["DEFAULT_MAX_BYTES", "check_file", "check_folder", "resolve_path", "format_size"]

#: Files larger than this are refused unless a caller raises the limit explicitly.
DEFAULT_MAX_BYTES = 2 * 1024**3


def format_size(n_bytes: int) -> str:
    """A size as a person reads it ("1.5 GiB")."""
    size = float(n_bytes)
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{int(size)} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")


def resolve_path(path: str | Path, base_dir: str | Path | None) -> Path:
    """``path`` itself when absolute, else taken relative to ``base_dir`` (the project's folder)."""
    p = Path(path).expanduser()
    if not p.is_absolute() and base_dir is not None:
        p = Path(base_dir) / p
    return p


def check_file(path: str | Path, max_bytes: int = DEFAULT_MAX_BYTES) -> Path:
    """Return ``path`` as a Path after checking it is an existing file of at most ``max_bytes``."""
    p = Path(path)
    if not p.exists():
        raise DataError(f"{p}: file not found", path=p)
    if not p.is_file():
        raise DataError(f"{p}: not a file", path=p)
    size = p.stat().st_size
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
