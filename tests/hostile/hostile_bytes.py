"""Byte-level builders for hostile files: zips whose headers say what we choose, deflate
streams of zeros that expand to gigabytes from a few megabytes, ``.npy`` headers declaring any
shape, PNG and IDX headers declaring huge images, gzip bombs.

Everything here is written with ``struct`` and ``zlib`` by hand, never with the libraries the
loaders use, so a hostile file is exactly what its test says it is (a header may lie; the
library that writes a valid file would refuse to). Sizes stay small on disk: a bomb is
``n`` copies of one compressed MiB of zeros, and its CRC-32 is computed arithmetically.
"""

from __future__ import annotations

import ast
import struct
import zlib
from dataclasses import dataclass

MIB = 1 << 20
GIB = 1 << 30

# -- CRC-32 of long runs of zeros, without hashing them -------------------------------------
# zlib.crc32(data, v) is an affine map of v over GF(2) for fixed data, so the CRC of k MiB of
# zeros is the 1-MiB map raised to the k-th power (squaring: log2(k) compositions).

_Affine = tuple[list[int], int]  # (32 matrix columns, constant)


def _affine_of(data: bytes) -> _Affine:
    zero = zlib.crc32(data, 0)
    return [zlib.crc32(data, 1 << i) ^ zero for i in range(32)], zero


def _apply(columns: list[int], v: int) -> int:
    out = 0
    for i in range(32):
        if v >> i & 1:
            out ^= columns[i]
    return out


def _compose(outer: _Affine, inner: _Affine) -> _Affine:
    """outer(inner(v))."""
    m2, c2 = outer
    m1, c1 = inner
    return [_apply(m2, col) for col in m1], _apply(m2, c1) ^ c2


def _power(f: _Affine, k: int) -> _Affine:
    result: _Affine = ([1 << i for i in range(32)], 0)
    while k:
        if k & 1:
            result = _compose(f, result)
        f = _compose(f, f)
        k >>= 1
    return result


def crc32_zeros_after(prefix: bytes, zero_mib: int, tail_zeros: int = 0) -> int:
    """CRC-32 of ``prefix + bytes(zero_mib * MiB + tail_zeros)``."""
    crc = zlib.crc32(prefix)
    columns, const = _power(_affine_of(bytes(MIB)), zero_mib)
    crc = _apply(columns, crc) ^ const
    return zlib.crc32(bytes(tail_zeros), crc)


def deflate_zeros(prefix: bytes, zero_mib: int) -> bytes:
    """A raw deflate stream of ``prefix`` then ``zero_mib`` MiB of zeros, about 1 KiB per MiB.

    Each part is compressed by a fresh compressor and ended with a full flush (byte-aligned,
    no back-references across it), so one compressed MiB can simply be repeated."""

    def part(data: bytes, mode: int) -> bytes:
        c = zlib.compressobj(9, zlib.DEFLATED, -15)
        return c.compress(data) + c.flush(mode)

    head = part(prefix, zlib.Z_FULL_FLUSH)
    block = part(bytes(MIB), zlib.Z_FULL_FLUSH)
    return head + block * zero_mib + part(b"", zlib.Z_FINISH)


def gzip_zeros(prefix: bytes, zero_mib: int) -> bytes:
    """A .gz file that decompresses to ``prefix`` then ``zero_mib`` MiB of zeros."""
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    crc = crc32_zeros_after(prefix, zero_mib)
    size = (len(prefix) + zero_mib * MIB) & 0xFFFFFFFF
    return header + deflate_zeros(prefix, zero_mib) + struct.pack("<II", crc, size)


# -- zip archives with headers we choose ------------------------------------------------------


@dataclass
class Member:
    """One zip member as stored: ``data`` is already compressed when ``method`` is 8."""

    name: str
    data: bytes
    method: int = 0  # 0 stored, 8 deflated
    size: int | None = None  # declared uncompressed size (default: len(data) if stored)
    crc: int | None = None  # declared CRC-32 (default: of data if stored)
    flags: int = 0

    @classmethod
    def stored(cls, name: str, data: bytes) -> Member:
        return cls(name, data)

    @classmethod
    def deflated(cls, name: str, data: bytes) -> Member:
        c = zlib.compressobj(6, zlib.DEFLATED, -15)
        return cls(name, c.compress(data) + c.flush(), 8, len(data), zlib.crc32(data))


def raw_zip(members: list[Member]) -> bytes:
    """A zip archive (no zip64) whose local and central headers declare each member's
    ``size`` and ``crc`` exactly as given, true or not."""
    out = bytearray()
    central = bytearray()
    for m in members:
        name = m.name.encode("utf-8")
        size = len(m.data) if m.size is None else m.size
        crc = zlib.crc32(m.data) if m.crc is None else m.crc
        offset = len(out)
        fields = (20, m.flags, m.method, 0, 0x21, crc, len(m.data), size, len(name))
        out += struct.pack("<4sHHHHHIIIHH", b"PK\x03\x04", *fields, 0) + name + m.data
        central += struct.pack(
            "<4sHHHHHHIIIHHHHHII",
            b"PK\x01\x02",
            20,
            *fields,
            0,
            0,
            0,
            0,
            0o644 << 16,
            offset,
        )
        central += name
    start = len(out)
    out += central
    out += struct.pack(
        "<4sHHHHIIH", b"PK\x05\x06", 0, 0, len(members), len(members), len(central), start, 0
    )
    return bytes(out)


def read_zip_members(data: bytes) -> dict[str, bytes]:
    """The uncompressed members of a (valid, small) zip, in order."""
    import io
    import zipfile

    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return {name: z.read(name) for name in z.namelist()}


# -- .npy headers -------------------------------------------------------------------------------


def npy_header(descr: str, shape: tuple[int, ...], fortran: bool = False) -> bytes:
    """A version-1.0 ``.npy`` header declaring ``descr`` and ``shape`` (no data)."""
    text = f"{{'descr': {descr!r}, 'fortran_order': {fortran}, 'shape': {shape!r}, }}"
    ast.literal_eval(text)  # a typo here would make a test pass for the wrong reason
    total = 10 + len(text) + 1
    text += " " * ((64 - total % 64) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text.encode("latin1")


def npy_bytes(descr: str, shape: tuple[int, ...], data: bytes) -> bytes:
    return npy_header(descr, shape) + data


# -- images -------------------------------------------------------------------------------------


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png(width: int, height: int, rows: bytes | None = None) -> bytes:
    """An 8-bit greyscale PNG declaring ``width`` x ``height``; ``rows`` (filter byte + pixels
    per row) defaults to the real pixel rows when small, else to one row only (a bomb header)."""
    if rows is None:
        count = height if width * height <= 1 << 16 else 1
        rows = (b"\x00" + bytes(width)) * count
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", zlib.compress(rows))
        + _png_chunk(b"IEND", b"")
    )


# -- IDX ----------------------------------------------------------------------------------------


def idx(code: int, dims: list[int], data: bytes) -> bytes:
    """An IDX file: magic (0, 0, type code, ndim), big-endian uint32 dims, then ``data``."""
    return bytes([0, 0, code, len(dims)]) + struct.pack(f">{len(dims)}I", *dims) + data
