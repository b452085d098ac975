"""Import arrays saved by numpy: an ``.npz`` archive or a pair of ``.npy`` files.

An ``.npz`` holds ``x`` and ``y`` (or ``x_train`` and ``y_train``; upper-case ``X`` works
too). A ``.npy`` file holds one array, so inputs and labels come as two files
(``read_numpy("x.npy", labels="y.npy")``). Nothing is unpickled (``allow_pickle=False``: an
archive holding Python objects is refused), archive member names are checked, and the
uncompressed size is bounded before anything is read, so a small zip cannot expand into
gigabytes; each array's header must declare exactly the bytes it holds
(:mod:`engine.data.importers.npy_header`), so a tiny file cannot make numpy allocate a huge
array either. Inputs become float32 (``x_dtype="int64"`` keeps token ids as integers); integer
labels mean classification, float targets regression.
"""

from __future__ import annotations

import os
import re
import zipfile
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from engine.data.dataset import Dataset
from engine.data.errors import DataError
from engine.data.files import DEFAULT_MAX_BYTES, check_file, format_size
from engine.data.importers.npy_header import check_npy_header

__all__ = ["read_numpy", "load_array", "LAYOUTS"]

#: ``channels_last``: x is (N, ..., C), moved to channels-first; ``add_channel``: x is
#: (N, H, W) grey images, given a channel axis -> (N, 1, H, W).
LAYOUTS = (None, "channels_last", "add_channel")
_PAIRS = (("x", "y"), ("x_train", "y_train"))
_MEMBER = re.compile(r"^[A-Za-z0-9_.-]+\.npy$")


def _check_archive(path: Path, max_bytes: int) -> dict[str, tuple[int, ...]]:
    """Refuse archives with odd member names or too much uncompressed data; return each
    array's declared shape by name (read from its header, before any data)."""
    try:
        with zipfile.ZipFile(path) as z:
            infos = z.infolist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise DataError(f"{path.name}: not a valid .npz archive ({exc})", path=path) from None
    for info in infos:
        if not _MEMBER.match(info.filename) or ".." in info.filename:
            raise DataError(
                f"{path.name}: unexpected archive member '{info.filename}'; an .npz holds only "
                "flat NAME.npy arrays",
                path=path,
            )
    total = sum(i.file_size for i in infos)
    if total > max_bytes:
        raise DataError(
            f"{path.name}: its arrays take {format_size(total)} uncompressed, more than the "
            f"limit of {format_size(max_bytes)}",
            path=path,
        )
    # Each member's own header must agree with its size before numpy allocates anything.
    shapes: dict[str, tuple[int, ...]] = {}
    try:
        with zipfile.ZipFile(path) as z:
            for info in infos:
                with z.open(info) as member:
                    name = f"{path.name}: {info.filename}"
                    shape = check_npy_header(member, info.file_size, name, path, max_bytes)
                    shapes[info.filename[: -len(".npy")]] = tuple(shape)
    except (zipfile.BadZipFile, OSError, EOFError, zlib.error) as exc:
        raise DataError(f"{path.name}: not a valid .npz archive ({exc})", path=path) from None
    return shapes


def _load(path: Path, max_bytes: int) -> Any:
    if path.suffix.lower() != ".npz" and not zipfile.is_zipfile(path):
        with open(path, "rb") as f:  # a .npy: its header must agree with its size first
            check_npy_header(f, os.fstat(f.fileno()).st_size, path.name, path, max_bytes)
    try:
        return np.load(path, allow_pickle=False)
    except ValueError as exc:
        if "allow_pickle" in str(exc) or "pickle" in str(exc).lower():
            raise DataError(
                f"{path.name}: it holds Python objects (pickled data), which are never loaded; "
                "save plain numeric arrays",
                path=path,
            ) from None
        raise DataError(f"{path.name}: not a readable numpy file ({exc})", path=path) from None
    except (OSError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
        raise DataError(f"{path.name}: not a readable numpy file ({exc})", path=path) from None


def load_array(path: str | Path, max_bytes: int = DEFAULT_MAX_BYTES) -> np.ndarray:
    """One array from a ``.npy`` file, safely."""
    path = check_file(path, max_bytes)
    arr = _load(path, max_bytes)
    if not isinstance(arr, np.ndarray):
        arr.close()
        raise DataError(f"{path.name}: expected a single-array .npy file, found an archive")
    return arr


def _from_archive(
    path: Path, max_bytes: int, x_key: str | None, y_key: str | None, notes: list[str]
):
    shapes = _check_archive(path, max_bytes)
    archive = _load(path, max_bytes)
    if isinstance(archive, np.ndarray):
        raise DataError(f"{path.name}: a single array, not an archive of x and y", path=path)
    with archive:
        keys = list(archive.files)
        lower = {k.lower(): k for k in keys}
        if x_key is None or y_key is None:
            pair = next((p for p in _PAIRS if p[0] in lower and p[1] in lower), None)
            if pair is None:
                raise DataError(
                    f"{path.name}: expected arrays named x and y (or x_train and y_train); it "
                    f"holds {', '.join(keys) or 'nothing'}",
                    path=path,
                )
            x_key = x_key or lower[pair[0]]
            y_key = y_key or lower[pair[1]]
        for key in (x_key, y_key):
            if key not in keys:
                raise DataError(
                    f"{path.name}: no array named '{key}'; it holds {', '.join(keys)}", path=path
                )
        # Decided from the headers alone: a compressed x of gigabytes beside three labels
        # is refused before it is inflated.
        _check_pairing(f"{path.name} ({x_key}, {y_key})", shapes[x_key], shapes[y_key], path)
        unused = [k for k in keys if k not in (x_key, y_key)]
        if unused:
            notes.append(f"{path.name}: arrays not used: {', '.join(unused)}")
        try:
            return archive[x_key], archive[y_key], x_key, y_key
        except (ValueError, OSError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
            raise DataError(f"{path.name}: cannot read its arrays ({exc})", path=path) from None


def _targets(y: np.ndarray, task: str | None, name: str, notes: list[str]):
    """(y, task, class names) from a label/target array."""
    if y.dtype.kind not in "biuf":
        raise DataError(f"{name}: y must hold numbers, got dtype {y.dtype}")
    if y.ndim == 2 and y.shape[1] == 1 and (y.dtype.kind in "biu" or task == "classification"):
        y = y[:, 0]
    if task is None:
        if y.dtype.kind in "biu":
            task = "classification"
        elif (
            y.ndim == 2
            and y.shape[1] > 1
            and np.isin(y, (0, 1)).all()
            and (y.sum(axis=1) == 1).all()
        ):
            notes.append(f"{name}: y is one-hot; converted to class indices")
            y, task = y.argmax(axis=1), "classification"
        else:
            task = "regression"
    if task == "classification":
        if y.ndim != 1:
            raise DataError(f"{name}: class labels must have shape (N,), got {y.shape}")
        if y.dtype.kind == "f" and (not np.isfinite(y).all() or (y != np.round(y)).any()):
            raise DataError(f"{name}: class labels must be whole numbers")
        y = y.astype(np.int64)
        if y.min() < 0:
            raise DataError(f"{name}: class labels must be >= 0; found {int(y.min())}")
        return y, task, [str(c) for c in range(int(y.max()) + 1)]
    if task != "regression":
        raise DataError(f"task must be 'classification', 'regression' or None, got {task!r}")
    y = y.astype(np.float32)
    return (y.reshape(-1, 1) if y.ndim == 1 else y), task, None


def _check_pairing(where: str, x_shape: tuple, y_shape: tuple, path: Path) -> None:
    """x must be (N, features...) and y must hold N values."""
    if len(x_shape) < 2:
        raise DataError(f"{where}: x has shape {x_shape}; expected (N, features...)", path=path)
    if len(y_shape) < 1 or x_shape[0] != y_shape[0]:
        raise DataError(
            f"{where}: x has {x_shape[0]} samples but y has "
            f"{y_shape[0] if y_shape else 'a single value'}; they must match",
            path=path,
        )


def read_numpy(
    path: str | Path,
    labels: str | Path | None = None,
    *,
    x_key: str | None = None,
    y_key: str | None = None,
    layout: str | None = None,
    x_dtype: str = "float32",
    task: str | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> Dataset:
    """Load ``x`` and ``y`` from an ``.npz`` (or ``x`` from ``path`` and ``y`` from ``labels``).

    Args:
        layout: ``None`` (already channels-first), ``"channels_last"`` or ``"add_channel"``.
        x_dtype: ``"float32"`` or ``"int64"`` (token ids).
        task: ``"classification"``, ``"regression"`` or ``None`` (integer labels: classes).
    """
    if layout not in LAYOUTS:
        raise DataError(f"layout must be one of {LAYOUTS}, got {layout!r}")
    if x_dtype not in ("float32", "int64"):
        raise DataError(f"x_dtype must be 'float32' or 'int64', got {x_dtype!r}")
    path = check_file(path, max_bytes)
    notes: list[str] = []
    if labels is not None:
        x, y = load_array(path, max_bytes), load_array(labels, max_bytes)
        where = f"{path.name} and {Path(labels).name}"
        source: dict[str, Any] = {"source": str(path), "labels": str(labels)}
    elif path.suffix.lower() == ".npy":
        raise DataError(
            f"{path.name}: a .npy file holds one array; give the labels file too "
            "(labels=...) or save x and y together with numpy.savez",
            path=path,
        )
    else:
        x, y, kx, ky = _from_archive(path, max_bytes, x_key, y_key, notes)
        where = f"{path.name} ({kx}, {ky})"
        source = {"source": str(path), "x_key": kx, "y_key": ky}
    if x.dtype.kind not in "biuf":
        raise DataError(f"{where}: x must hold numbers, got dtype {x.dtype}", path=path)
    _check_pairing(where, x.shape, y.shape, path)
    if x_dtype == "int64" and x.dtype.kind == "f":
        raise DataError(f"{where}: x_dtype='int64' asked for, but x holds floats", path=path)
    if layout == "channels_last":
        x = np.moveaxis(x, -1, 1)
    elif layout == "add_channel":
        x = x[:, None]
    y, task, class_names = _targets(y, task, path.name, notes)
    return Dataset(
        x=np.ascontiguousarray(x, dtype=np.float32 if x_dtype == "float32" else np.int64),
        y=y,
        task=task,
        name=path.name,
        class_names=class_names,
        description=f"{len(x)} samples from {where}, input shape {tuple(x.shape[1:])}",
        notes=notes,
        metadata={"format": "npz", **source, "layout": layout},
    )
