"""The ``.lcmodel`` zip container: limits, checks before reading, bounded reads, safe writes.

Everything that can be checked from the archive's directory is checked before a byte of any
member is read (see :class:`ModelArchive`):

- member names are exactly the documented ones (no paths, nothing extra, no duplicates),
  no encryption, only "stored" or "deflate" compression;
- a JSON member declares at most :data:`MAX_JSON_BYTES`, an array member at most
  :data:`MAX_ARRAY_BYTES`, all members together at most :data:`MAX_TOTAL_BYTES`;
- every member's compressed bytes lie inside the file, and all of them together fit in it
  (overlapping members, a classic zip bomb, cannot);
- a stored member declares as many bytes as it stores; a deflated one at most
  :data:`MAX_EXPANSION` times its compressed size (plus :data:`EXPANSION_ALLOWANCE` bytes, so
  small arrays of zeros pass). LayerCanvas stores arrays uncompressed, and real weights barely
  compress, so what is refused is a small file that would unpack to a huge one.

So what a file can make the loader allocate is bounded by its own size on disk. A ``.npy``
member's header is read alone (:meth:`ModelArchive.npy_header`, a few KiB) so that its shape
and dtype can be compared with the model before its data is read, and data is inflated in
chunks that never pass the declared size (:mod:`engine.model_files.zip_member`).

Only regular files are opened: a folder, a device such as ``/dev/zero`` or a FIFO is refused
with its own message, without reading (or waiting on) it.
"""

from __future__ import annotations

import io
import json
import os
import re
import stat
import zipfile
from pathlib import Path

import numpy as np

from engine.model_files.npy_header import PREFIX_BYTES, NpyHeader, NpyHeaderError
from engine.model_files.npy_header import parse_npy_header as _parse_npy_header
from engine.model_files.zip_member import local_header_bytes, read_member
from engine.safe_files import atomic_path, regular_file_problem

__all__ = [
    "EXPANSION_ALLOWANCE",
    "MAX_ARRAY_BYTES",
    "MAX_EXPANSION",
    "MAX_JSON_BYTES",
    "MAX_MEMBERS",
    "MAX_TOTAL_BYTES",
    "ModelArchive",
    "ModelFileError",
    "json_bytes",
    "npy_bytes",
    "write_archive",
]

# Bounds checked from the archive's directory before any member is read.
MAX_MEMBERS = 50_000
MAX_JSON_BYTES = 16 * 2**20
MAX_ARRAY_BYTES = 4 * 2**30
MAX_TOTAL_BYTES = 16 * 2**30
MAX_EXPANSION = 100
EXPANSION_ALLOWANCE = 2**20

_MEMBER_NAME = re.compile(
    r"^(?:config\.json|metadata\.json|manifest\.json|weights/\d{4,6}\.npy|optimizer/\d{4,6}\.npy)$"
)


class ModelFileError(ValueError):
    """A model or weights file that cannot be read; the message names the file."""

    def __init__(self, path, problem: str):
        super().__init__(f"cannot load {shown_path(path)}: {problem}")
        self.path = shown_path(path)
        self.problem = problem


def shown_path(path) -> str:
    """``path`` as a message shows it (an open file object by its repr)."""
    return os.fspath(path) if isinstance(path, str | os.PathLike) else repr(path)


# -- writing ----------------------------------------------------------------------------------


def npy_bytes(array) -> bytes:
    """``array`` as the bytes of a ``.npy`` file (never pickled)."""
    buffer = io.BytesIO()
    np.save(buffer, np.asarray(array), allow_pickle=False)
    return buffer.getvalue()


def json_bytes(value) -> bytes:
    """``value`` as strict JSON (NaN and infinities are refused), UTF-8."""
    return json.dumps(value, indent=1, sort_keys=False, allow_nan=False).encode("utf-8")


def write_archive(path, members: list[tuple[str, bytes]], overwrite: bool) -> None:
    """Write a zip of ``members`` at ``path`` atomically, with the mode a plain ``open()``
    gives (0644 under umask 022); a failure leaves the old file as it was."""
    path = Path(path)
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} exists; pass overwrite=True to replace it")
    with atomic_path(path) as tmp, zipfile.ZipFile(tmp, "w") as archive:
        for name, data in members:
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            # Arrays barely compress (and stored ones are read without inflating); JSON does.
            info.compress_type = (
                zipfile.ZIP_DEFLATED if name.endswith(".json") else zipfile.ZIP_STORED
            )
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)


# -- reading ----------------------------------------------------------------------------------


class ModelArchive:
    """A model archive opened for reading, its directory checked up front (module doc)."""

    # The member names a file may hold (a subclass reads another format's archive).
    member_names = _MEMBER_NAME

    def __init__(self, path):
        self.path = path
        self.handle = _open_regular(path)
        self._owns_handle = self.handle is not path
        try:
            self.size = self.handle.seek(0, os.SEEK_END)
            try:
                self.zip = zipfile.ZipFile(self.handle, "r")
            except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError) as e:
                raise self.fail(
                    f"not a valid model archive (truncated or not a zip file: {e})"
                ) from None
            self._check_directory()
        except BaseException:
            self._close_handle()
            raise

    def fail(self, problem: str) -> ModelFileError:
        return ModelFileError(self.path, problem)

    def _check_directory(self) -> None:
        infos = self.zip.infolist()
        if len(infos) > MAX_MEMBERS:
            raise self.fail(f"the archive has {len(infos)} members (at most {MAX_MEMBERS})")
        self.infos: dict[str, zipfile.ZipInfo] = {}
        total = compressed_total = 0
        for info in infos:
            self._check_member(info)
            total += info.file_size
            compressed_total += info.compress_size
            self.infos[info.filename] = info
        if total > MAX_TOTAL_BYTES:
            raise self.fail(
                f"the archive would unpack to {total:,} bytes (limit {MAX_TOTAL_BYTES:,})"
            )
        if compressed_total > self.size:
            raise self.fail(
                f"its members claim {compressed_total:,} bytes in a file of {self.size:,} "
                "(overlapping members: a damaged or hostile file)"
            )

    def _check_member(self, info: zipfile.ZipInfo) -> None:
        name = info.filename
        if not self.member_names.match(name):
            raise self.fail(f"unexpected member {name!r} in the archive")
        if name in self.infos:
            raise self.fail(f"the member {name!r} appears twice")
        if info.flag_bits & 0x1:
            raise self.fail(f"the member {name!r} is encrypted")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise self.fail(f"the member {name!r} uses an unsupported compression")
        limit = MAX_JSON_BYTES if name.endswith(".json") else MAX_ARRAY_BYTES
        if info.file_size > limit:
            raise self.fail(
                f"the member {name!r} claims {info.file_size:,} bytes, more than the "
                f"limit of {limit:,}"
            )
        end = info.header_offset + local_header_bytes(name) + info.compress_size
        if end > self.size:
            raise self.fail(
                f"the member {name!r} claims {info.compress_size:,} stored bytes, past the "
                f"end of the file ({self.size:,} bytes): it is truncated or damaged"
            )
        if info.compress_type == zipfile.ZIP_STORED and info.file_size != info.compress_size:
            raise self.fail(f"the member {name!r} is damaged (its two sizes differ)")
        if info.file_size > info.compress_size * MAX_EXPANSION + EXPANSION_ALLOWANCE:
            raise self.fail(
                f"the member {name!r} would expand from {info.compress_size:,} to "
                f"{info.file_size:,} bytes, more than {MAX_EXPANSION} times: a damaged file "
                "or a decompression bomb (LayerCanvas stores arrays uncompressed)"
            )

    def close(self) -> None:
        self.zip.close()
        self._close_handle()

    def _close_handle(self) -> None:
        if self._owns_handle:
            self.handle.close()

    def __enter__(self) -> ModelArchive:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def has(self, name: str) -> bool:
        return name in self.infos

    def members_under(self, folder: str) -> list[str]:
        return sorted(n for n in self.infos if n.startswith(folder + "/"))

    def _info(self, name: str) -> zipfile.ZipInfo:
        info = self.infos.get(name)
        if info is None:
            raise self.fail(f"the member {name!r} is missing")
        return info

    def read(self, name: str) -> bytearray:
        """All of member ``name``, inflated in bounded chunks and checked (CRC, size)."""
        return read_member(self.handle, self._info(name), self.fail)

    def json(self, name: str) -> dict:
        data = self.read(name)
        try:
            value = json.loads(data.decode("utf-8"))
        except (ValueError, RecursionError) as exc:  # also a number of over 4300 digits
            raise self.fail(f"{name} is not valid JSON ({exc})") from None
        if not isinstance(value, dict):
            raise self.fail(f"{name} must hold a JSON object")
        return value

    def npy_header(self, name: str) -> NpyHeader:
        """What member ``name`` declares, from its first few KiB only; its data size must
        be exactly what the zip directory says the member holds."""
        info = self._info(name)
        # A small member is read whole, so that its checksum is verified too.
        whole = info.file_size <= PREFIX_BYTES
        prefix = read_member(self.handle, info, self.fail, prefix=None if whole else PREFIX_BYTES)
        try:
            header = _parse_npy_header(bytes(prefix))
        except NpyHeaderError as exc:
            raise self.fail(
                f"{name} is not a valid array: the file is damaged or not a model file ({exc})"
            ) from None
        holds = info.file_size - header.data_offset
        if header.data_bytes != holds:
            only = "only " if header.data_bytes > holds else ""
            raise self.fail(
                f"{name} declares an array of {header.describe()} ({_bytes(header.data_bytes)} "
                f"of data), but the member holds {only}{max(holds, 0):,} bytes: the file is "
                "damaged"
            )
        return header

    def array(self, name: str, header: NpyHeader | None = None) -> np.ndarray:
        """Member ``name`` as an array (``header`` from :meth:`npy_header`, or read now)."""
        header = header or self.npy_header(name)
        data = self.read(name)
        # The buffer is the array's memory: no second copy of a large member.
        flat = np.frombuffer(
            data, dtype=header.dtype, count=header.count, offset=header.data_offset
        )
        return flat.reshape(header.shape, order="F" if header.fortran_order else "C")


def _bytes(n: int) -> str:
    # A hostile shape can multiply to a 60-digit count: past a PiB, the count says nothing.
    return f"{n:,} bytes" if n < 2**50 else "more than a PiB"


def _open_regular(path):
    """An open binary handle on ``path``, which must be a regular file (or a file object)."""
    if not isinstance(path, str | os.PathLike):
        if hasattr(path, "read") and hasattr(path, "seek"):
            return path  # an open binary file, e.g. io.BytesIO: the caller closes it
        raise TypeError(f"a model file path was expected, got {type(path).__name__}")
    problem = regular_file_problem(path)
    if problem is not None:
        raise ModelFileError(path, problem)
    # O_NONBLOCK: had the path been swapped for a FIFO since the check, opening it must not
    # wait for a writer; the fstat below then refuses it.
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise ModelFileError(path, f"cannot read it ({exc.strerror or exc})") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise ModelFileError(path, "is not a regular file")
    return os.fdopen(fd, "rb")
