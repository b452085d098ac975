"""What a ``.npy`` member declares, read from its first bytes only.

numpy's own reader allocates whatever the header declares before it finds out whether the
data is there. Here only the header is parsed (numpy's safe parser, with a bounded header
length), the shape is checked to be plain non-negative integers, and the byte count is
computed with Python integers, so a shape that multiplies past int64 cannot overflow. The
caller compares that with the zip directory's size and with the model before reading data.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass

import numpy as np

__all__ = ["MAX_HEADER_BYTES", "PREFIX_BYTES", "NpyHeader", "NpyHeaderError", "parse_npy_header"]

MAX_HEADER_BYTES = 10_000  # numpy's own default bound on a header's length
# Magic (6), version (2), header length (up to 4), then the header itself.
PREFIX_BYTES = 12 + MAX_HEADER_BYTES


class NpyHeaderError(ValueError):
    """The bytes do not start with a usable ``.npy`` header; the message says why."""


@dataclass(frozen=True)
class NpyHeader:
    """A parsed header: the array's shape and dtype, and where its data starts."""

    shape: tuple[int, ...]
    dtype: np.dtype
    fortran_order: bool
    data_offset: int

    @property
    def count(self) -> int:
        """The number of values (a Python int: never overflows)."""
        return math.prod(self.shape)

    @property
    def data_bytes(self) -> int:
        return self.count * self.dtype.itemsize

    def describe(self) -> str:
        return f"shape {self.shape} of {self.dtype}"


def parse_npy_header(prefix: bytes) -> NpyHeader:
    """The header at the start of ``prefix`` (the member's first :data:`PREFIX_BYTES`)."""
    stream = io.BytesIO(prefix)
    fmt = np.lib.format
    try:
        version = fmt.read_magic(stream)
        if version == (1, 0):
            header = fmt.read_array_header_1_0(stream, max_header_size=MAX_HEADER_BYTES)
        elif version == (2, 0):
            header = fmt.read_array_header_2_0(stream, max_header_size=MAX_HEADER_BYTES)
        else:
            raise NpyHeaderError(f"unsupported .npy format version {version}")
    except NpyHeaderError:
        raise
    except (ValueError, OSError, EOFError, TypeError, SyntaxError) as exc:
        raise NpyHeaderError(str(exc)) from None
    shape, fortran_order, dtype = header
    if dtype.hasobject:
        raise NpyHeaderError("it holds Python objects (pickled data), which are never loaded")
    if dtype.fields is not None or dtype.subdtype is not None or dtype.kind not in "biuf":
        raise NpyHeaderError(f"it holds {dtype} values, not plain numbers")
    if not isinstance(shape, tuple) or not all(
        isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape
    ):
        raise NpyHeaderError(f"its header declares an invalid shape {shape!r}")
    if not isinstance(fortran_order, bool):
        raise NpyHeaderError(f"its header declares fortran_order={fortran_order!r}")
    return NpyHeader(tuple(shape), dtype, fortran_order, stream.tell())
