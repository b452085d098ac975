"""Reading ``.npz`` archives that hold ragged integer sequences, without unpickling.

IMDB and Reuters (as Keras distributes them) store each review as a list of word ids, in an
``object`` array that numpy can only write as a pickle stream. Letting numpy load such a
member would run that stream through Python's unpickler, which can call anything a file
names, so nothing here ever does: this module *interprets* the few pickle opcodes numpy
writes for such an array, as data. It builds ints, strings, tuples and lists itself, and the
only "globals" it accepts are the names numpy's array reconstruction uses
(``numpy.ndarray``, ``numpy.dtype``, ``numpy[._]core.multiarray._reconstruct``), compared
as strings and never imported or called. Any other opcode or name is refused with a message
naming the archive member.

:func:`read_npz` returns numeric members as ordinary arrays (read with
``allow_pickle=False``) and object members as :class:`Ragged` — the sequences' ints
concatenated, with their start offsets — which is compact (8 bytes a word id instead of a
Python int each) and what the loaders need.
"""

from __future__ import annotations

import io
import math
import zipfile
from array import array
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.data.errors import DataError

__all__ = ["Ragged", "read_npz", "read_pickled_object_array"]

#: Largest member read once decompressed (IMDB's largest is ~15 MB; ints unpack to 8 bytes).
MAX_MEMBER_BYTES = 1 << 28

_RECONSTRUCT = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
}
_NDARRAY = ("numpy", "ndarray")
_DTYPE = ("numpy", "dtype")
_NUMERIC_CODES = {"i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8"}


@dataclass
class Ragged:
    """Integer sequences of different lengths: sequence ``i`` is
    ``values[offsets[i]:offsets[i + 1]]``."""

    values: np.ndarray
    offsets: np.ndarray

    def __len__(self) -> int:
        return len(self.offsets) - 1

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    def take(self, indices: np.ndarray) -> Ragged:
        """The sequences at ``indices``, in that order."""
        lengths = self.lengths[indices]
        offsets = np.zeros(len(indices) + 1, np.int64)
        np.cumsum(lengths, out=offsets[1:])
        starts = self.offsets[:-1][indices]
        # One gather for all sequences: each position's source index.
        pos = np.arange(offsets[-1], dtype=np.int64) - np.repeat(offsets[:-1], lengths)
        return Ragged(self.values[np.repeat(starts, lengths) + pos], offsets)

    def to_lists(self) -> np.ndarray:
        """An object array of Python lists, as ``keras.datasets`` returns."""
        out = np.empty(len(self), dtype=object)
        values = self.values.tolist()
        bounds = self.offsets.tolist()
        for i in range(len(self)):
            out[i] = values[bounds[i] : bounds[i + 1]]
        return out


class _Global:
    __slots__ = ("module", "name")

    def __init__(self, module: str, name: str) -> None:
        self.module, self.name = module, name

    @property
    def key(self) -> tuple[str, str]:
        return (self.module, self.name)


class _DType:
    """A ``numpy.dtype(code, False, True)`` under construction; BUILD sets its byte order."""

    def __init__(self, code: str) -> None:
        self.code = code
        self.order = "|"

    def resolve(self) -> np.dtype:
        if self.code == "O8":
            return np.dtype(object)
        return np.dtype(self.order.replace("|", "=") + self.code)


class _Array:
    """An ``ndarray`` from ``_reconstruct``; BUILD fills in shape, dtype and data."""

    def __init__(self) -> None:
        self.value: np.ndarray | Ragged | None = None


class _IntRun:
    """Consecutive ints read by the fast path; only ever consumed by APPENDS."""

    __slots__ = ("ints",)

    def __init__(self, ints: array) -> None:
        self.ints = ints


class _List:
    """A pickled list: ints are kept packed; other items (inner lists, arrays) as objects."""

    def __init__(self) -> None:
        self.ints = array("q")
        self.items: list = []

    def extend(self, new: list, bad) -> None:
        for item in new:
            if isinstance(item, _IntRun):
                if self.items:
                    raise bad("a list mixes numbers and sequences")
                self.ints.extend(item.ints)
            elif isinstance(item, int) and not isinstance(item, bool):
                if self.items:
                    raise bad("a list mixes numbers and sequences")
                self.ints.append(item)
            elif isinstance(item, _List | _Array):
                if len(self.ints):
                    raise bad("a list mixes numbers and sequences")
                self.items.append(item)
            else:
                raise bad(f"unexpected list item of type {type(item).__name__}")


class _Reader:
    """The pickle opcodes numpy writes for an object array of lists of ints, as data."""

    def __init__(self, data: bytes, where: str) -> None:
        self.data = data
        self.pos = 0
        self.where = where
        self.stack: list = []
        self.marks: list[int] = []
        self.memo: dict[int, object] = {}

    def bad(self, what: str) -> DataError:
        return DataError(
            f"{self.where}: {what} (at byte {self.pos}); only numpy arrays of integer "
            "sequences are read, nothing else is accepted"
        )

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise self.bad("the data ends early")
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def uint(self, n: int) -> int:
        return int.from_bytes(self.take(n), "little")

    def line(self) -> str:
        end = self.data.find(b"\n", self.pos, self.pos + 256)
        if end < 0:
            raise self.bad("a name is not terminated")
        text = self.data[self.pos : end].decode("ascii", "strict")
        self.pos = end + 1
        return text

    def pop_mark(self) -> list:
        if not self.marks:
            raise self.bad("no MARK for a grouping opcode")
        start = self.marks.pop()
        items = self.stack[start:]
        del self.stack[start:]
        return items

    def pop(self):
        if len(self.stack) <= (self.marks[-1] if self.marks else 0):
            raise self.bad("the stack is empty")
        return self.stack.pop()

    def run(self):  # noqa: C901, PLR0912 - one branch per opcode reads best as a table
        while True:
            op = self.take(1)
            if op == b"\x80":  # PROTO
                if self.uint(1) > 5:
                    raise self.bad("unknown pickle protocol")
            elif op == b"\x95":  # FRAME: only a size hint
                self.uint(8)
            elif op == b".":  # STOP
                if len(self.stack) != 1 or self.marks:
                    raise self.bad("the data does not end with one value")
                return self.stack[0]
            elif op == b"(":
                self.marks.append(len(self.stack))
            elif op == b"c":  # GLOBAL "module\nname\n"
                self.stack.append(self.check_global(self.line(), self.line()))
            elif op == b"\x93":  # STACK_GLOBAL
                name, module = self.pop(), self.pop()
                if not isinstance(module, str) or not isinstance(name, str):
                    raise self.bad("a global name is not text")
                self.stack.append(self.check_global(module, name))
            elif op in (b"\x8c", b"X", b"\x8d"):  # unicode text, 1/4/8-byte length
                n = self.uint({b"\x8c": 1, b"X": 4, b"\x8d": 8}[op])
                self.stack.append(self.take(n).decode("utf-8", "strict"))
            elif op in (b"U", b"T"):  # Python 2 str, 1/4-byte length
                n = self.uint(1 if op == b"U" else 4)
                self.stack.append(self.take(n).decode("latin-1"))
            elif op in (b"C", b"B", b"\x8e"):  # bytes, 1/4/8-byte length
                n = self.uint({b"C": 1, b"B": 4, b"\x8e": 8}[op])
                self.stack.append(self.take(n))
            elif op in (b"K", b"M", b"J"):
                self.int_run()
            elif op == b"\x8a":  # LONG1
                n = self.uint(1)
                if n > 8:
                    raise self.bad("an integer is wider than 64 bits")
                self.stack.append(int.from_bytes(self.take(n), "little", signed=True))
            elif op == b"N":
                self.stack.append(None)
            elif op in (b"\x88", b"\x89"):
                self.stack.append(op == b"\x88")
            elif op == b")":
                self.stack.append(())
            elif op == b"t":
                self.stack.append(tuple(self.pop_mark()))
            elif op in (b"\x85", b"\x86", b"\x87"):
                n = {b"\x85": 1, b"\x86": 2, b"\x87": 3}[op]
                if len(self.stack) - (self.marks[-1] if self.marks else 0) < n:
                    raise self.bad("a tuple needs more items than the stack holds")
                items = tuple(self.stack[-n:])
                del self.stack[-n:]
                self.stack.append(items)
            elif op == b"]":
                self.stack.append(_List())
            elif op == b"a":
                item = self.pop()
                self.top_list().extend([item], self.bad)
            elif op == b"e":
                items = self.pop_mark()
                self.top_list().extend(items, self.bad)
            elif op == b"\x94":  # MEMOIZE
                self.memo[len(self.memo)] = self.peek()
            elif op in (b"q", b"r"):  # BINPUT, LONG_BINPUT
                self.memo[self.uint(1 if op == b"q" else 4)] = self.peek()
            elif op in (b"h", b"j"):  # BINGET, LONG_BINGET
                key = self.uint(1 if op == b"h" else 4)
                if key not in self.memo:
                    raise self.bad("a reference to an unknown memo entry")
                self.stack.append(self.memo[key])
            elif op == b"R":
                args = self.pop()
                self.stack.append(self.reduce(self.pop(), args))
            elif op == b"b":
                state = self.pop()
                self.build(self.peek(), state)
            else:
                raise self.bad(f"the pickle opcode {op!r} is not accepted")

    def int_run(self) -> None:
        """Read a run of BININT1/BININT2/BININT opcodes (a sequence's word ids) in one tight
        loop; a run that APPENDS consumes is pushed packed, any other as separate ints."""
        data, pos = self.data, self.pos - 1
        run = array("q")
        end = len(data)
        while pos < end:
            op = data[pos]
            if op == 0x4B and pos + 1 < end:  # BININT1
                run.append(data[pos + 1])
                pos += 2
            elif op == 0x4D and pos + 2 < end:  # BININT2
                run.append(data[pos + 1] | data[pos + 2] << 8)
                pos += 3
            elif op == 0x4A and pos + 4 < end:  # BININT
                run.append(int.from_bytes(data[pos + 1 : pos + 5], "little", signed=True))
                pos += 5
            elif op == 0x95 and pos + 8 < end:  # FRAME (protocol 4 splits runs into frames)
                pos += 9
            else:
                break
        self.pos = pos
        if pos < end and data[pos] == 0x65:  # APPENDS
            self.stack.append(_IntRun(run))
        else:
            self.stack.extend(run)

    def peek(self):
        if not self.stack:
            raise self.bad("the stack is empty")
        return self.stack[-1]

    def top_list(self) -> _List:
        target = self.peek()
        if not isinstance(target, _List):
            raise self.bad("APPEND to something that is not a list")
        return target

    def check_global(self, module: str, name: str) -> _Global:
        key = (module, name)
        if key not in _RECONSTRUCT and key not in (_NDARRAY, _DTYPE):
            raise self.bad(f"it names '{module}.{name}'")
        return _Global(module, name)

    def reduce(self, func, args):
        if not isinstance(func, _Global) or not isinstance(args, tuple):
            raise self.bad("REDUCE of something that is not an accepted global")
        if func.key in _RECONSTRUCT:
            if len(args) != 3 or not isinstance(args[0], _Global) or args[0].key != _NDARRAY:
                raise self.bad("_reconstruct is called with unexpected arguments")
            return _Array()
        if func.key == _DTYPE:
            if not args or not isinstance(args[0], str):
                raise self.bad("dtype is called with unexpected arguments")
            code = args[0]
            if code != "O8" and code not in _NUMERIC_CODES:
                raise self.bad(f"the element type '{code}' is not accepted")
            return _DType(code)
        raise self.bad(f"'{func.module}.{func.name}' cannot be called")

    def build(self, target, state) -> None:
        if isinstance(target, _DType):
            if not isinstance(state, tuple) or len(state) < 2 or state[1] not in "<>|=":
                raise self.bad("a dtype has an unexpected state")
            target.order = state[1]
            return
        if not isinstance(target, _Array) or target.value is not None:
            raise self.bad("BUILD of something that is not a new array")
        if not isinstance(state, tuple) or len(state) != 5:
            raise self.bad("an array has an unexpected state")
        _version, shape, dtype, _fortran, data = state
        if not isinstance(shape, tuple) or not all(isinstance(d, int) and d >= 0 for d in shape):
            raise self.bad("an array has a bad shape")
        if not isinstance(dtype, _DType):
            raise self.bad("an array has no accepted dtype")
        count = math.prod(shape)
        resolved = dtype.resolve()
        if resolved == np.dtype(object):
            if len(shape) != 1 or not isinstance(data, _List) or len(data.items) != count:
                raise self.bad("an object array is not a list of sequences")
            target.value = _ragged(data.items, self.bad)
            return
        if not isinstance(data, bytes) or len(data) != count * resolved.itemsize:
            raise self.bad("an integer array's data has the wrong size")
        target.value = np.frombuffer(data, resolved).reshape(shape).astype(np.int64)


def _ragged(items: list, bad) -> Ragged:
    """Sequences (packed lists or 1-D integer arrays) as one :class:`Ragged`."""
    parts = []
    for item in items:
        if isinstance(item, _List):
            if item.items:
                raise bad("a sequence holds sequences; expected word ids")
            parts.append(np.frombuffer(item.ints, np.int64) if len(item.ints) else None)
        elif isinstance(item, _Array) and isinstance(item.value, np.ndarray):
            if item.value.ndim != 1:
                raise bad("a sequence array is not one-dimensional")
            parts.append(item.value)
        else:
            raise bad("a sequence is neither a list of ints nor an integer array")
    lengths = np.array([0 if p is None else len(p) for p in parts], np.int64)
    offsets = np.zeros(len(parts) + 1, np.int64)
    np.cumsum(lengths, out=offsets[1:])
    values = [p for p in parts if p is not None]
    flat = np.concatenate(values).astype(np.int64) if values else np.zeros(0, np.int64)
    return Ragged(flat, offsets)


def read_pickled_object_array(data: bytes, where: str) -> Ragged:
    """The object array numpy pickled in ``data`` (the bytes after a ``.npy`` header)."""
    value = _Reader(data, where).run()
    if not isinstance(value, _Array) or not isinstance(value.value, Ragged):
        raise DataError(f"{where}: the data is not an array of integer sequences")
    return value.value


def _read_member(raw: bytes, where: str) -> np.ndarray | Ragged:
    fp = io.BytesIO(raw)
    try:
        version = np.lib.format.read_magic(fp)
        if version == (1, 0):
            shape, _fortran, dtype = np.lib.format.read_array_header_1_0(fp)
        elif version in ((2, 0), (3, 0)):
            # 3.0 only differs in the header text's encoding (UTF-8); the layout is 2.0's.
            shape, _fortran, dtype = np.lib.format.read_array_header_2_0(fp)
        else:
            raise DataError(f"{where}: unsupported .npy version {version}")
    except ValueError as err:
        raise DataError(f"{where}: not a .npy array ({err})") from None
    if dtype != np.dtype(object):
        fp.seek(0)
        try:
            return np.lib.format.read_array(fp, allow_pickle=False)
        except ValueError as err:
            raise DataError(f"{where}: {err}") from None
    ragged = read_pickled_object_array(raw[fp.tell() :], where)
    if len(shape) != 1 or shape[0] != len(ragged):
        raise DataError(f"{where}: the header says shape {shape}, the data holds {len(ragged)}")
    return ragged


def read_npz(path: str | Path, max_member_bytes: int = MAX_MEMBER_BYTES) -> dict:
    """Every ``.npy`` member of the archive at ``path``: numeric arrays, or :class:`Ragged`
    for object arrays of integer sequences. Anything else is refused with a DataError."""
    path = Path(path)
    out: dict[str, np.ndarray | Ragged] = {}
    try:
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                name = info.filename
                if not name.endswith(".npy") or "/" in name or "\\" in name or name[0] == ".":
                    raise DataError(f"{path}: unexpected archive member {name!r}")
                if info.file_size > max_member_bytes:
                    raise DataError(
                        f"{path}: member {name} is {info.file_size} bytes uncompressed; at most "
                        f"{max_member_bytes} are read"
                    )
                with archive.open(info) as member:
                    raw = member.read(max_member_bytes + 1)
                if len(raw) > max_member_bytes:
                    raise DataError(f"{path}: member {name} is larger than it declares")
                out[name[: -len(".npy")]] = _read_member(raw, f"{path} ({name})")
    except (zipfile.BadZipFile, EOFError, OSError) as err:
        raise DataError(f"{path}: not a readable .npz archive ({err})") from None
    return out
