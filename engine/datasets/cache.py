"""The dataset cache: where downloaded files live, whether a set is there, installing files.

Files sit in ``<cache>/<dataset>/<file name>``, where ``<cache>`` is ``LAYERCANVAS_CACHE_DIR``
when set, else ``~/.cache/layercanvas/datasets``. A file only ever enters the cache by an
atomic rename after its size and SHA-256 matched the catalog (see
:mod:`engine.datasets.catalog`), so whatever is in the cache under its final name is whole and
right; a download in progress is a ``<file>.part`` beside it (kept to resume).

:func:`install_files` is the offline path (``layercanvas datasets add NAME FILE...``): it
takes the original archives from disk, checks them, and copies them in the same atomic way.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Callable, Iterable
from pathlib import Path

from engine.data.errors import DataError
from engine.datasets.catalog import RemoteDataset, RemoteFile, remote_dataset
from engine.safe_files import atomic_path, regular_file_problem

__all__ = [
    "CACHE_ENV",
    "DatasetNotDownloaded",
    "DatasetFileError",
    "cache_dir",
    "dataset_dir",
    "cached_path",
    "is_cached",
    "missing_files",
    "require_cached",
    "sha256_of",
    "install_files",
    "remove_cached",
]

CACHE_ENV = "LAYERCANVAS_CACHE_DIR"

_CHUNK = 1 << 20


class DatasetNotDownloaded(DataError):
    """A downloadable dataset is used before it is in the cache; the message says how to get
    it. ``name`` is the dataset, ``missing`` the file names not yet in the cache."""

    def __init__(self, name: str, missing: list[str]) -> None:
        super().__init__(
            f"dataset '{name}' is not downloaded yet: download it with 'layercanvas datasets "
            f"download {name}' or the Download button of the Data panel (offline: "
            f"'layercanvas datasets add {name} FILE...' with {', '.join(missing)})"
        )
        self.name = name
        self.missing = list(missing)


class DatasetFileError(DataError):
    """A dataset file that cannot be used: a failed checksum, a truncated archive, no network.
    The message names the file, where it came from and what to do."""


def cache_dir() -> Path:
    """The dataset cache folder (``LAYERCANVAS_CACHE_DIR`` or ``~/.cache/layercanvas/datasets``)."""
    configured = os.environ.get(CACHE_ENV)
    if configured:
        return Path(configured).expanduser()
    return Path.home() / ".cache" / "layercanvas" / "datasets"


def dataset_dir(name: str) -> Path:
    """The folder holding dataset ``name``'s files."""
    return cache_dir() / remote_dataset(name).name


def cached_path(name: str, file_name: str) -> Path:
    return dataset_dir(name) / file_name


def missing_files(name: str) -> list[str]:
    """The files of ``name`` not (completely) in the cache."""
    ds = remote_dataset(name)
    folder = dataset_dir(name)
    missing = []
    for f in ds.files:
        path = folder / f.name
        # The size is a cheap guard against a cache file someone truncated by hand.
        if not path.is_file() or path.stat().st_size != f.size:
            missing.append(f.name)
    return missing


def is_cached(name: str) -> bool:
    """Whether every file of dataset ``name`` is in the cache."""
    return not missing_files(name)


def require_cached(name: str) -> dict[str, Path]:
    """Paths of ``name``'s cached files by file name, or :class:`DatasetNotDownloaded`."""
    missing = missing_files(name)
    if missing:
        raise DatasetNotDownloaded(name, missing)
    folder = dataset_dir(name)
    return {f.name: folder / f.name for f in remote_dataset(name).files}


def sha256_of(
    path: Path,
    progress: Callable[[int], None] | None = None,
) -> str:
    """The SHA-256 (hex) of the file at ``path``, read in chunks."""
    digest = hashlib.sha256()
    done = 0
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
            done += len(chunk)
            if progress is not None:
                progress(done)
    return digest.hexdigest()


def check_file(path: Path, remote: RemoteFile, dataset: str, *, origin: str) -> None:
    """Raise :class:`DatasetFileError` unless ``path`` has ``remote``'s size and SHA-256.
    ``origin`` says where the file came from (a URL or "from disk") for the message."""
    size = path.stat().st_size
    add = f"'layercanvas datasets add {dataset} FILE'"
    if size < remote.size:
        raise DatasetFileError(
            f"{remote.name} ({origin}) is truncated: {size} of {remote.size} bytes; download "
            f"it again (a download resumes where it stopped), or install a complete copy "
            f"with {add}"
        )
    if size > remote.size:
        raise DatasetFileError(
            f"{remote.name} ({origin}) has {size} bytes, expected {remote.size}: it is not "
            f"the original file; download it again, or install the original with {add}"
        )
    got = sha256_of(path)
    if got != remote.sha256:
        raise DatasetFileError(
            f"{remote.name} ({origin}) failed its checksum: SHA-256 {got}, expected "
            f"{remote.sha256}; the file is corrupt or not the original. Download it again, "
            f"or install the original with {add}"
        )


def _match(ds: RemoteDataset, path: Path) -> RemoteFile:
    """The catalog file ``path`` is: by name, else by size (a renamed copy)."""
    for f in ds.files:
        if f.name == path.name:
            return f
    size = path.stat().st_size
    by_size = [f for f in ds.files if f.size == size]
    if len(by_size) == 1:
        return by_size[0]
    raise DatasetFileError(
        f"{path}: not a file of dataset '{ds.name}'; it needs "
        + ", ".join(f"{f.name} ({f.size} bytes)" for f in ds.files)
    )


def install_files(name: str, paths: Iterable[str | os.PathLike]) -> list[Path]:
    """Check files from disk against the catalog and copy them into the cache.

    Each file is copied to a temporary file in the cache folder, and that copy (what will be
    used) is checked, then renamed into place; a file that fails leaves nothing behind.
    Returns the cache paths of the installed files.
    """
    ds = remote_dataset(name)
    sources = [Path(raw).expanduser() for raw in paths]
    if not sources:
        raise DatasetFileError(f"no file given to install into dataset '{name}'")
    chosen: list[tuple[Path, RemoteFile]] = []
    for path in sources:  # every name checked before anything is copied
        problem = regular_file_problem(path)
        if problem is not None:
            raise DatasetFileError(f"{path}: {problem}")
        chosen.append((path, _match(ds, path)))
    folder = dataset_dir(name)
    installed = []
    for path, remote in chosen:
        target = folder / remote.name
        with atomic_path(target) as tmp:
            shutil.copyfile(path, tmp)
            check_file(tmp, remote, name, origin=f"from {path}")
        installed.append(target)
    return installed


def remove_cached(name: str) -> None:
    """Delete dataset ``name``'s files (and partial downloads) from the cache."""
    folder = dataset_dir(name)
    for f in remote_dataset(name).files:
        for path in (folder / f.name, folder / f"{f.name}.part"):
            path.unlink(missing_ok=True)
