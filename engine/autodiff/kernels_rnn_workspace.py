"""Scratch memory the fused kernels (recurrent and convolution) reuse from call to call.

A time loop keeps ~8 buffers of ``T*N*k*U`` values. Freshly allocated on every call they
cost a page fault per 4 KiB touched (glibc gives big freed blocks back to the OS): that
measured ~40% of the LSTM's CPU time at the benchmark shapes. :class:`_Scratch` collects
the buffers one call takes from the shared :data:`_WORKSPACE`; :func:`_record` returns a
forward's buffers when the output tensor whose VJP reads them is garbage-collected.
"""

from __future__ import annotations

import math
import threading
import weakref

from engine import backend
from engine.autodiff.tensor import Tensor

__all__ = ["_WORKSPACE", "_Scratch", "_Workspace", "_record"]


class _Workspace:
    """Large scratch arrays handed from one kernel call to the next.

    A time loop keeps ~8 buffers of ``T*N*k*U`` values. Allocated fresh on every call, they
    cost a page fault per 4 KiB touched (glibc gives big freed blocks back to the OS), which
    measured ~40% of the LSTM's CPU time at the benchmark shapes. Buffers return here when
    the output tensor whose VJP reads them is garbage-collected, or at once when nothing was
    recorded; at most ``max_bytes`` are kept.
    """

    def __init__(self, max_bytes: int = 256 * 2**20):
        self.max_bytes = max_bytes
        self._free: dict[tuple, list] = {}
        self._bytes = 0
        self._lock = threading.Lock()  # training and inference may run in different threads

    def take(self, key: tuple):
        with self._lock:
            stack = self._free.get(key)
            if stack:
                self._bytes -= _nbytes(key)
                return stack.pop()
        return backend.xp.empty(key[1], dtype=key[2])

    def give_back(self, items) -> None:
        with self._lock:
            for key, array in items:
                if self._bytes + _nbytes(key) > self.max_bytes:
                    self._free.clear()
                    self._bytes = 0
                self._free.setdefault(key, []).append(array)
                self._bytes += _nbytes(key)

    def clear(self) -> None:
        with self._lock:
            self._free.clear()
            self._bytes = 0


def _nbytes(key: tuple) -> int:
    return key[3]


_WORKSPACE = _Workspace()


class _Scratch:
    """The workspace buffers one kernel call (or one VJP call) uses, given back together."""

    def __init__(self):
        self._items: list[tuple] = []

    def empty(self, shape: tuple[int, ...], dtype):
        # The namespace is part of the key: a numpy buffer must never reach CuPy code.
        size = math.prod(shape) * backend.xp.finfo(dtype).bits // 8
        key = (backend.xp.__name__, tuple(shape), dtype, size)
        array = _WORKSPACE.take(key)
        self._items.append((key, array))
        return array

    def give_back(self) -> None:
        items, self._items = self._items, []
        _WORKSPACE.give_back(items)


def _record(out, parents, vjp, scratch: _Scratch) -> Tensor:
    """``Tensor.from_op`` whose forward buffers go back to the workspace when it is done."""
    result = Tensor.from_op(out, parents, vjp)
    if result._vjp is None:
        scratch.give_back()  # nothing recorded: no VJP will read them
    else:
        weakref.finalize(result, scratch.give_back).atexit = False
    return result
