"""Import MNIST-style IDX files (an images file and a labels file), parsed by hand.

An IDX file is a 4-byte magic number — two zero bytes, a type code, the number of dimensions
— then each dimension as a big-endian uint32, then the values, big-endian, row-major. Type
codes: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64. Files may be
gzip-compressed (``.gz``, as MNIST is distributed); the decompressed size is bounded too.
Images ``(N, H, W)`` become ``(N, 1, H, W)`` float32 (uint8 scaled to [0, 1]), ``(N, H, W, C)``
is moved channels-first; labels must be ``(N,)`` integers.
"""

from __future__ import annotations

import gzip
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


def _read_bytes(path: Path, max_bytes: int) -> bytes:
    if path.suffix.lower() != ".gz":
        return path.read_bytes()
    try:
        with gzip.open(path, "rb") as f:
            data = f.read(max_bytes + 1)  # one byte more tells us it is over the limit
    except (OSError, EOFError, zlib.error) as exc:
        raise DataError(f"{path.name}: not a readable gzip file ({exc})", path=path) from None
    if len(data) > max_bytes:
        raise DataError(
            f"{path.name}: decompresses to more than the limit of {format_size(max_bytes)}",
            path=path,
        )
    return data


def read_idx(path: str | Path, max_bytes: int = DEFAULT_MAX_BYTES) -> np.ndarray:
    """The array stored in one IDX file (native byte order)."""
    path = check_file(path, max_bytes)
    data = _read_bytes(path, max_bytes)
    if len(data) < 4:
        raise DataError(f"{path.name}: too short to be an IDX file", path=path)
    zero1, zero2, code, ndim = data[0], data[1], data[2], data[3]
    if zero1 or zero2 or code not in IDX_TYPES:
        raise DataError(
            f"{path.name}: not an IDX file (magic number {data[:4].hex()}; expected 0000 then "
            "a type code 08/09/0b/0c/0d/0e and the number of dimensions)",
            path=path,
        )
    if ndim == 0:
        raise DataError(f"{path.name}: IDX header declares 0 dimensions", path=path)
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DataError(f"{path.name}: the file ends inside its header", path=path)
    dims = struct.unpack(f">{ndim}I", data[4:header])
    dtype = IDX_TYPES[code]
    expected = int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
    found = len(data) - header
    if found != expected:
        raise DataError(
            f"{path.name}: header says {' x '.join(map(str, dims))} values of {dtype.name} "
            f"({expected} bytes) but the file holds {found} bytes of data",
            path=path,
        )
    arr = np.frombuffer(data, dtype=dtype, offset=header).reshape(dims)
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
