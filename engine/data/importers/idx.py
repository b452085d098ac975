"""Import MNIST-style IDX files (an images file and a labels file), parsed by hand.

An IDX file is a 4-byte magic number — two zero bytes, a type code, the number of dimensions
— then each dimension as a big-endian uint32, then the values, big-endian, row-major. Type
codes: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64. Files may be
gzip-compressed (``.gz``, as MNIST is distributed). The header is read first and its
dimensions multiplied as Python ints, so the size it declares is checked (against the limit
and then against the data found) before anything else is read or decompressed.
Images ``(N, H, W)`` become ``(N, 1, H, W)`` float32 (uint8 scaled to [0, 1]), ``(N, H, W, C)``
is moved channels-first; labels must be ``(N,)`` integers.
"""

from __future__ import annotations

import gzip
import math
import struct
import zlib
from pathlib import Path

import numpy as np

from engine.data.dataset import Dataset
from engine.data.errors import DataError
from engine.data.files import DEFAULT_MAX_BYTES, check_file, format_size

__all__ = ["read_idx", "read_idx_dataset", "IDX_TYPES"]

IDX_TYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


def _open(path: Path):
    return gzip.open(path, "rb") if path.suffix.lower() == ".gz" else open(path, "rb")


def _read_header(f, path: Path) -> tuple[np.dtype, tuple[int, ...]]:
    """The value type and dimensions from the header, as Python ints."""
    magic = f.read(4)
    if len(magic) < 4:
        raise DataError(f"{path.name}: too short to be an IDX file", path=path)
    zero1, zero2, code, ndim = magic
    if zero1 or zero2 or code not in IDX_TYPES:
        raise DataError(
            f"{path.name}: not an IDX file (magic number {magic.hex()}; expected 0000 then "
            "a type code 08/09/0b/0c/0d/0e and the number of dimensions)",
            path=path,
        )
    if ndim == 0:
        raise DataError(f"{path.name}: IDX header declares 0 dimensions", path=path)
    raw = f.read(4 * ndim)
    if len(raw) < 4 * ndim:
        raise DataError(f"{path.name}: the file ends inside its header", path=path)
    return IDX_TYPES[code], struct.unpack(f">{ndim}I", raw)


def read_idx(path: str | Path, max_bytes: int = DEFAULT_MAX_BYTES) -> np.ndarray:
    """The array stored in one IDX file (native byte order).

    The header's dimensions are multiplied as Python ints, so a header declaring more values
    than memory could hold is refused from its ~16 bytes, before any data is read (or, for
    ``.gz``, decompressed); the data read is bounded by what the header declares.
    """
    path = check_file(path, max_bytes)
    try:
        with _open(path) as f:
            dtype, dims = _read_header(f, path)
            header = 4 + 4 * len(dims)
            shown = " x ".join(map(str, dims))
            expected = math.prod(dims) * dtype.itemsize
            if expected > max_bytes:
                raise DataError(
                    f"{path.name}: header declares {shown} values of {dtype.name} "
                    f"({format_size(expected)}), more than the limit of {format_size(max_bytes)}",
                    path=path,
                )
            data = f.read(expected + 1)  # one byte more tells us the file is too long
    except (OSError, EOFError, zlib.error) as exc:
        kind = "gzip" if path.suffix.lower() == ".gz" else "IDX"
        raise DataError(f"{path.name}: not a readable {kind} file ({exc})", path=path) from None
    if len(data) != expected:
        found = f"at least {len(data)}" if len(data) > expected else str(len(data))
        raise DataError(
            f"{path.name}: header says {shown} values of {dtype.name} ({expected} bytes after "
            f"the {header}-byte header) but the file holds {found} bytes of data",
            path=path,
        )
    arr = np.frombuffer(data, dtype=dtype).reshape(dims)
    return arr.astype(dtype.newbyteorder("="))


def read_idx_dataset(
    images: str | Path, labels: str | Path, max_bytes: int = DEFAULT_MAX_BYTES
) -> Dataset:
    """Images and labels from two IDX files (e.g. ``train-images-idx3-ubyte.gz``)."""
    images, labels = Path(images), Path(labels)
    x = read_idx(images, max_bytes)
    y = read_idx(labels, max_bytes)
    if x.ndim not in (3, 4):
        raise DataError(
            f"{images.name}: images must be (N, H, W) or (N, H, W, C), got shape {x.shape}",
            path=images,
        )
    if y.ndim != 1 or y.dtype.kind not in "iu":
        raise DataError(
            f"{labels.name}: labels must be one integer per image, got {y.dtype} {y.shape}",
            path=labels,
        )
    if len(x) != len(y):
        raise DataError(
            f"{images.name} holds {len(x)} images but {labels.name} holds {len(y)} labels",
            path=labels,
        )
    if len(y) and y.min() < 0:
        raise DataError(f"{labels.name}: labels must be >= 0", path=labels)
    x = x[:, None] if x.ndim == 3 else np.moveaxis(x, -1, 1)
    scale = 255.0 if x.dtype == np.uint8 else 1.0
    x = (x.astype(np.float32) / np.float32(scale)).astype(np.float32)
    y = y.astype(np.int64)
    return Dataset(
        x=np.ascontiguousarray(x),
        y=y,
        task="classification",
        name=images.name,
        class_names=[str(c) for c in range(int(y.max()) + 1)] if len(y) else None,
        description=f"{len(x)} images {tuple(x.shape[1:])} from {images.name} / {labels.name}",
        metadata={"format": "idx", "source": str(images), "labels": str(labels)},
    )
