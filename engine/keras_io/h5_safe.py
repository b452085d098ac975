"""Reading arrays from an HDF5 weights file without trusting it.

h5py reads numbers; it never unpickles. What a hostile HDF5 file can still do is point
elsewhere: an *external link* or a dataset with *external storage* reads another file on
the user's disk, and a *virtual dataset* maps other files in. All three are refused here, as
are non-numeric datasets (strings, object references, compound records), arrays larger than
:data:`MAX_ARRAY_BYTES`, more than :data:`MAX_DATASETS` arrays, and groups nested deeper than
:data:`MAX_DEPTH` (Keras nests a few levels: ``layers/lstm/cell/vars/0``).

:class:`H5Weights` opens the file (a path already checked as a regular file, or the bytes of
an archive member), walks it once to check everything above, and then hands out arrays by
path.
"""

from __future__ import annotations

import io
from collections.abc import Callable

import numpy as np

__all__ = ["MAX_ARRAY_BYTES", "MAX_DATASETS", "MAX_DEPTH", "H5Weights"]

MAX_DEPTH = 32
MAX_DATASETS = 100_000
MAX_ARRAY_BYTES = 4 * 2**30

MakeError = Callable[[str], Exception]


class H5Weights:
    """A checked HDF5 file: ``array(path)`` and ``group_names(path)`` read it."""

    def __init__(self, source: bytes | str, make_error: MakeError):
        import h5py  # noqa: PLC0415 - only Keras interop needs it

        self._h5py = h5py
        self.fail = make_error
        try:
            handle = io.BytesIO(source) if isinstance(source, bytes) else source
            self.file = h5py.File(handle, "r")
        except (OSError, ValueError) as exc:
            raise make_error(f"the weights are not a readable HDF5 file ({exc})") from None
        try:
            self._count = 0
            self._check_group(self.file, "", 0)
        except BaseException:
            self.file.close()
            raise

    def close(self) -> None:
        self.file.close()

    def __enter__(self) -> H5Weights:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _check_group(self, group, path: str, depth: int) -> None:
        if depth > MAX_DEPTH:
            raise self.fail(f"the weights file nests groups deeper than {MAX_DEPTH} levels")
        h5py = self._h5py
        for name in group:
            where = f"{path}/{name}" if path else name
            link = group.get(name, getlink=True)
            if isinstance(link, h5py.ExternalLink):
                raise self.fail(f"the weights file links to another file at {where!r}")
            if isinstance(link, h5py.SoftLink):
                raise self.fail(f"the weights file holds a link at {where!r}")
            item = group[name]
            if isinstance(item, h5py.Group):
                self._check_group(item, where, depth + 1)
            elif isinstance(item, h5py.Dataset):
                self._check_dataset(item, where)
            else:
                raise self.fail(f"the weights file holds an unexpected object at {where!r}")

    def _check_dataset(self, dataset, where: str) -> None:
        self._count += 1
        if self._count > MAX_DATASETS:
            raise self.fail(f"the weights file holds more than {MAX_DATASETS:,} arrays")
        if dataset.is_virtual or dataset.external:
            raise self.fail(f"the array {where!r} reads its data from other files")
        kind = dataset.dtype.kind
        if kind not in "fiub":
            raise self.fail(f"the array {where!r} is not numeric ({dataset.dtype})")
        size = int(np.prod(dataset.shape, dtype=np.float64)) * dataset.dtype.itemsize
        if size > MAX_ARRAY_BYTES:
            raise self.fail(
                f"the array {where!r} claims {size:,} bytes (limit {MAX_ARRAY_BYTES:,})"
            )

    def has(self, path: str) -> bool:
        return path in self.file

    def group_names(self, path: str) -> list[str]:
        """The members of the group at ``path`` (empty when there is none)."""
        if path and path not in self.file:
            return []
        group = self.file[path] if path else self.file
        return list(group) if isinstance(group, self._h5py.Group) else []

    def attr_strings(self, path: str, name: str) -> list[str]:
        """A string-list attribute (Keras 2's ``layer_names``, ``weight_names``)."""
        node = self.file[path] if path else self.file
        if name not in node.attrs:
            return []
        value = node.attrs[name]
        items = value.tolist() if isinstance(value, np.ndarray) else [value]
        out = []
        for item in items:
            if isinstance(item, bytes):
                item = item.decode("utf-8", "replace")
            if not isinstance(item, str):
                raise self.fail(f"the attribute {name!r} of {path or '/'!r} is not text")
            out.append(item)
        return out

    def attr_text(self, name: str) -> str | None:
        """A text attribute of the file itself (Keras 2's ``model_config``)."""
        if name not in self.file.attrs:
            return None
        value = self.file.attrs[name]
        if isinstance(value, bytes):
            return value.decode("utf-8", "replace")
        if isinstance(value, str):
            return value
        raise self.fail(f"the file's attribute {name!r} is not text")

    def array(self, path: str) -> np.ndarray:
        dataset = self.file[path]
        if not isinstance(dataset, self._h5py.Dataset):
            raise self.fail(f"{path!r} is not an array")
        return np.asarray(dataset[()])
