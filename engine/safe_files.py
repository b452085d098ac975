"""Reading and writing the user's files safely: bounded reads of regular files only, and
atomic writes that end with the permissions a plain ``open()`` would have given.

Every loader reads through :func:`read_bounded` (or checks with :func:`regular_file_problem`
before handing a path to a library), so ``/dev/zero``, a FIFO with no writer or a folder is
refused with its own message instead of growing without bound or hanging, and a file that
grows after ``stat()`` still cannot be read past its limit.

Every writer goes through :func:`atomic_path`: the data goes to a temporary file in the
target's folder, is flushed to disk, gets the mode ``0o666 & ~umask`` (``mkstemp`` alone would
leave 0600) and is moved over the target with ``os.replace``, so a crash never leaves half a
file and never replaces a good file with a partial one.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

__all__ = [
    "atomic_path",
    "default_file_mode",
    "read_bounded",
    "regular_file_problem",
    "write_bytes_atomic",
    "write_text_atomic",
]


def _current_umask() -> int:
    """The process's umask, read without changing it where the system allows."""
    with contextlib.suppress(OSError, ValueError), open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    # Elsewhere the only portable way is to set it and put it back at once.
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def default_file_mode() -> int:
    """The mode ``open(path, "w")`` gives a new file: 0o666 less the umask (0o644 under 022)."""
    return 0o666 & ~_current_umask()


def regular_file_problem(path: str | os.PathLike) -> str | None:
    """Why ``path`` cannot be read as a data file (missing, a folder, a device, a FIFO, a
    socket), or None when it is a regular file. Follows symbolic links, as ``open`` does."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return "file not found"
    except NotADirectoryError:
        return "file not found (a parent is not a folder)"
    except PermissionError:
        return "permission denied"
    except OSError as err:
        return f"cannot read it ({err.strerror or err})"
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "is a folder, not a file"
    if stat.S_ISFIFO(mode):
        return "is a pipe (FIFO), not a regular file; save the data to a file first"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "is a device, not a regular file"
    if stat.S_ISSOCK(mode):
        return "is a socket, not a regular file"
    return "is not a regular file"


def read_bounded(
    path: str | os.PathLike,
    max_bytes: int,
    make_error: Callable[[str], Exception],
    what: str = "file",
) -> bytes:
    """The bytes of the regular file ``path``, refusing anything over ``max_bytes``.

    ``make_error(problem)`` builds the exception to raise; ``problem`` says what is wrong
    without repeating the path (the caller's error type adds it). The size is checked from
    ``stat()`` first (no read at all for a file that is too large), then the read itself stops
    one byte past the limit, in case the file grows meanwhile.
    """
    problem = regular_file_problem(path)
    if problem is not None:
        raise make_error(problem)
    try:
        size = os.stat(path).st_size
        if size > max_bytes:
            raise make_error(_too_large(size, max_bytes, what))
        with open(path, "rb") as handle:
            # read(n) reserves n bytes before reading: ask for the size stat() gave (plus one
            # to notice growth), then go on in 1 MiB steps only while the file keeps growing.
            chunks, total, want = [], 0, min(size, max_bytes) + 1
            while total <= max_bytes:
                ask = min(want, max_bytes + 1 - total)
                chunks.append(handle.read(ask))
                total += len(chunks[-1])
                if len(chunks[-1]) < ask:  # the end of the file
                    break
                want = 1 << 20
            data = b"".join(chunks)
    except OSError as err:
        raise make_error(f"cannot read it ({err.strerror or err})") from None
    if len(data) > max_bytes:
        raise make_error(_too_large(len(data), max_bytes, what, at_least=True))
    return data


def _too_large(size: int, max_bytes: int, what: str, at_least: bool = False) -> str:
    prefix = "is more than" if at_least else "is"
    return (
        f"{prefix} {_size_text(size)}; a {what} is at most {_size_text(max_bytes)}, "
        "so this is not one (or it is damaged)"
    )


def _size_text(n_bytes: int) -> str:
    size = float(n_bytes)
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{int(size)} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` to write to; on a clean exit, flush it to disk,
    give it the umask's mode and move it over ``path``. On an exception, remove it and leave
    ``path`` as it was."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.chmod(tmp, default_file_mode())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_bytes_atomic(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_path`)."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    """Write UTF-8 ``text`` with ``\\n`` line ends to ``path`` atomically."""
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8", newline="\n") as handle:
        handle.write(text)
