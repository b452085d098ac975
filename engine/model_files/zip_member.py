"""Reading one member of a zip archive without trusting it: never more than it declares.

``zipfile`` inflates as much as it is asked for and, past the declared size, silently cuts
the data off. Here the member's local header is read and checked against the archive's
directory, then the stored bytes are inflated in chunks into a buffer of exactly the declared
size: memory is the declared size plus one chunk, a member whose data runs past its declared
size is refused as soon as the first extra byte appears, and a short or corrupted one (CRC)
is refused too. Reading only the first bytes (a ``.npy`` header) inflates only those.

The caller checks the declared sizes (against its limits and the file's length) first.
"""

from __future__ import annotations

import struct
import zipfile
import zlib
from collections.abc import Callable
from typing import BinaryIO

__all__ = ["CHUNK_BYTES", "read_member"]

CHUNK_BYTES = 1 << 20

# The local file header: signature, version, flags, method, time, date, CRC-32, compressed
# size, uncompressed size, name length, extra field length (30 bytes).
_LOCAL_HEADER = struct.Struct("<4s5H3L2H")
_LOCAL_SIGNATURE = b"PK\x03\x04"

MakeError = Callable[[str], Exception]


def local_header_bytes(name: str) -> int:
    """The least number of bytes a member named ``name`` takes before its data."""
    return _LOCAL_HEADER.size + len(name.encode("utf-8"))


def read_member(
    handle: BinaryIO, info: zipfile.ZipInfo, make_error: MakeError, prefix: int | None = None
) -> bytearray:
    """The uncompressed bytes of ``info``'s member, read from the open archive ``handle``.

    With ``prefix``, only the first ``min(prefix, info.file_size)`` bytes, inflating no more
    than needed (the rest of the member is not checked). ``make_error(problem)`` builds the
    exception to raise; ``problem`` names the member.
    """
    name = info.filename
    want = info.file_size if prefix is None else min(prefix, info.file_size)
    try:
        handle.seek(_data_start(handle, info, make_error))
        if info.compress_type == zipfile.ZIP_STORED:
            out = _read_stored(handle, want, make_error, name)
        else:
            out = _inflate(handle, info, want, prefix is None, make_error)
    except (OSError, zlib.error) as exc:
        raise make_error(f"the member {name!r} is damaged ({exc})") from None
    if prefix is None and zlib.crc32(out) != info.CRC:
        raise make_error(f"the member {name!r} is damaged (its checksum does not match)")
    return out


def _data_start(handle: BinaryIO, info: zipfile.ZipInfo, make_error: MakeError) -> int:
    handle.seek(info.header_offset)
    raw = handle.read(_LOCAL_HEADER.size)
    name = info.filename
    if len(raw) != _LOCAL_HEADER.size or raw[:4] != _LOCAL_SIGNATURE:
        raise make_error(f"the member {name!r} is damaged (its local header is missing)")
    fields = _LOCAL_HEADER.unpack(raw)
    flags, method, name_len, extra_len = fields[2], fields[3], fields[9], fields[10]
    encoding = "utf-8" if flags & 0x800 else "cp437"
    local_name = handle.read(name_len)
    if local_name != info.orig_filename.encode(encoding, "replace") or method != (
        info.compress_type
    ):
        # Two different views of one member: the directory's is the one that was checked.
        raise make_error(f"the member {name!r} is damaged (its local header disagrees)")
    return info.header_offset + _LOCAL_HEADER.size + name_len + extra_len


def _read_stored(handle: BinaryIO, want: int, make_error: MakeError, name: str) -> bytearray:
    out = bytearray(want)
    view = memoryview(out)
    filled = 0
    while filled < want:
        n = handle.readinto(view[filled : min(want, filled + CHUNK_BYTES)])
        if not n:
            raise make_error(f"the member {name!r} is damaged (its data is cut short)")
        filled += n
    return out


def _inflate(
    handle: BinaryIO, info: zipfile.ZipInfo, want: int, whole: bool, make_error: MakeError
) -> bytearray:
    name = info.filename
    out = bytearray(want)
    view = memoryview(out)
    filled = 0
    compressed_left = info.compress_size
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    pending = b""
    while not inflater.eof and (whole or filled < want):
        if not pending and compressed_left > 0:
            pending = handle.read(min(CHUNK_BYTES, compressed_left))
            if not pending:
                break
            compressed_left -= len(pending)
        # One byte more than still fits: enough to see that the data is longer than declared,
        # never enough to grow past it (max_length=0 would mean "unbounded", hence the +1).
        # With no input left, the call still drains output zlib held back for lack of room.
        piece = inflater.decompress(pending, want - filled + 1)
        pending = inflater.unconsumed_tail
        if not piece and not pending and compressed_left <= 0:
            break
        if filled + len(piece) > want:
            if whole:
                raise make_error(
                    f"the member {name!r} holds more data than the {info.file_size:,} bytes "
                    "its header declares (a damaged or hostile file)"
                )
            piece = piece[: want - filled]
        view[filled : filled + len(piece)] = piece
        filled += len(piece)
    if filled < want or (whole and not inflater.eof):
        raise make_error(f"the member {name!r} is damaged (its data is cut short)")
    return out
