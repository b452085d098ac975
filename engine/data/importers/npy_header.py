"""Checking what a ``.npy`` array declares before numpy allocates it.

numpy's loader trusts the header: a 100-byte ``.npy`` (or an ``.npz`` member) that declares
the shape ``(10**12,)`` makes it allocate that much before finding the data missing. Here the
header is parsed on its own (numpy's own parser, which bounds the header's length), the number
of bytes it declares is computed with Python ints, and it must fit the limit and equal the
bytes the file (or the archive member, by its zip header) really holds. Arrays of Python
objects are refused from the header too, without unpickling anything.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import IO

import numpy as np

from engine.data.errors import DataError
from engine.data.files import format_size

__all__ = ["check_npy_header"]


def check_npy_header(
    stream: IO[bytes], data_bytes_after: int, name: str, path: Path, max_bytes: int
) -> tuple[int, ...]:
    """Validate the header at the start of ``stream``; return the declared shape.

    ``data_bytes_after`` is the whole array file's size in bytes (the file's, or the zip
    member's uncompressed size); the header's own length is taken off it here.
    """
    fmt = np.lib.format
    try:
        version = fmt.read_magic(stream)
        if version == (1, 0):
            shape, _, dtype = fmt.read_array_header_1_0(stream)
        else:
            shape, _, dtype = fmt.read_array_header_2_0(stream)
    except (ValueError, OSError, EOFError, TypeError, SyntaxError) as exc:
        raise DataError(f"{name}: not a readable numpy array ({exc})", path=path) from None
    if dtype.hasobject:
        raise DataError(
            f"{name}: it holds Python objects (pickled data), which are never loaded; save "
            "plain numeric arrays",
            path=path,
        )
    if not all(isinstance(d, int) and d >= 0 for d in shape):
        raise DataError(f"{name}: the header declares an invalid shape {shape!r}", path=path)
    declared = math.prod(shape) * dtype.itemsize
    shown = f"shape {tuple(shape)} of {dtype}"
    if declared > max_bytes:
        raise DataError(
            f"{name}: declares an array of {shown} ({format_size(declared)}), more than the "
            f"limit of {format_size(max_bytes)}",
            path=path,
        )
    found = data_bytes_after - stream.tell()
    if found != declared:
        raise DataError(
            f"{name}: declares an array of {shown} ({declared} bytes of data) but holds "
            f"{max(found, 0)} bytes; the file is damaged or not what it claims",
            path=path,
        )
    return tuple(shape)
