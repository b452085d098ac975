"""Reading the official CIFAR *binary* archives (``cifar-10-binary.tar.gz``,
``cifar-100-binary.tar.gz``) without extracting them and without any pickle.

Each record is the label byte(s) then 3072 pixel bytes, red plane, green plane, blue plane,
row by row — already channels-first, so a batch file is ``(N, 1 or 2 + 3*32*32)`` uint8 and
the images are a reshape of its columns. Only the members a set needs are read, by their
exact names; each must be a regular file of the size its record count implies, so a
truncated or tampered archive gives one clear error naming the archive and the member.
"""

from __future__ import annotations

import tarfile
import zlib
from pathlib import Path

import numpy as np

from engine.data.errors import DataError

__all__ = ["read_cifar"]

PIXELS = 3 * 32 * 32


def _open(path: Path) -> tarfile.TarFile:
    try:
        return tarfile.open(path, "r:gz")
    except (tarfile.TarError, OSError, EOFError, zlib.error) as err:
        raise DataError(
            f"{path}: not a readable .tar.gz archive ({err}); download it again or install "
            "the original archive"
        ) from None


def _read_members(path: Path, wanted: dict[str, int], use) -> None:
    """Call ``use(name, data)`` for each member in ``wanted`` (name -> its exact size, or
    minus the most bytes it may have), in one pass: a gzip stream cannot seek back cheaply."""
    found = set()
    with _open(path) as archive:
        try:
            for info in archive:
                if info.name not in wanted or info.name in found:
                    continue
                if not info.isfile():
                    raise DataError(f"{path}: member {info.name} is not a regular file")
                size = wanted[info.name]
                if (size >= 0 and info.size != size) or (size < 0 and info.size > -size):
                    expected = size if size >= 0 else f"at most {-size}"
                    raise DataError(
                        f"{path}: member {info.name} has {info.size} bytes, expected {expected}"
                    )
                handle = archive.extractfile(info)
                data = handle.read(info.size) if handle is not None else b""
                if len(data) != info.size:
                    raise DataError(f"{path}: member {info.name} is truncated")
                found.add(info.name)
                use(info.name, data)
        except (tarfile.TarError, OSError, EOFError, zlib.error) as err:
            raise DataError(
                f"{path}: the archive is truncated or corrupt ({err}); download it again or "
                "install the original archive"
            ) from None
    missing = sorted(set(wanted) - found)
    if missing:
        raise DataError(
            f"{path}: the archive has no member {', '.join(missing)}; is it the right file?"
        )


def read_cifar(
    path: str | Path,
    batches: list[tuple[str, int]],
    label_bytes: int,
    text_members: list[str] = (),
    max_text_bytes: int = 1 << 16,
) -> tuple[np.ndarray, np.ndarray, dict[str, list[str]]]:
    """Images ``(N, 3, 32, 32)`` uint8 and labels ``(N, label_bytes)`` uint8 of the batch
    files ``batches`` (member name, record count), in the order given, and the non-empty
    lines of the small text members ``text_members`` (class names) — all in one pass."""
    path = Path(path)
    record = label_bytes + PIXELS
    starts, n = {}, 0
    for name, count in batches:
        starts[name] = (n, count)
        n += count
    # Filled member by member: the archive's bytes are never held twice over.
    x = np.empty((n, 3, 32, 32), np.uint8)
    y = np.empty((n, label_bytes), np.uint8)
    texts: dict[str, list[str]] = {}

    def use(name: str, data: bytes) -> None:
        if name in texts or name not in starts:
            texts[name] = [
                line.strip()
                for line in data.decode("utf-8", "replace").splitlines()
                if line.strip()
            ]
            return
        first, count = starts[name]
        rows = np.frombuffer(data, np.uint8).reshape(count, record)
        y[first : first + count] = rows[:, :label_bytes]
        x[first : first + count] = rows[:, label_bytes:].reshape(count, 3, 32, 32)

    wanted: dict[str, int | None] = {name: count * record for name, count in batches}
    wanted.update(dict.fromkeys(text_members, -max_text_bytes))
    _read_members(path, wanted, use)
    return x, y, texts
