"""One BLAS thread inside a recurrent kernel's time loop when each step's GEMM is small.

A time loop runs one recurrent GEMM per step, ``(k*U, U) @ (U, N)``, between a few
elementwise operations. OpenBLAS splits any GEMM over ~260k multiply-adds over all its
threads; measured on this project's 2-core machine (OpenBLAS 0.3.31, SkylakeX kernels):

- the GRU benchmark's step, ``(192, 64) @ (64, 64)`` (0.8M multiply-adds), took the same
  ~15 us on one thread as on two on a quiet machine: the hand-over eats the gain;
- with other processes busy on the cores, two threads made such a GEMM 5-13x slower (a
  thread that is descheduled holds up the other at every step, and there are 100 steps);
- the LSTM benchmark's step, ``(512, 128) @ (128, 128)`` (8.4M), did run 1.9x faster on
  two threads when the machine was quiet.

So a loop whose step GEMM is at most :data:`SMALL_STEP` multiply-adds runs on one thread,
and BLAS's count is put back when the loop ends; bigger steps keep whatever the caller
chose (:mod:`engine.models.blas_threads` measures that per training step). Nothing changes
when threadpoolctl is missing, off numpy, or with ``LAYERCANVAS_BLAS_THREADS`` set (the
user's fixed count wins). The count is one setting for the whole process: loops running
side by side in two threads share one save-and-restore (a depth count under a lock).
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator

from engine import backend
from engine.autodiff.blas_libraries import blas_libraries

__all__ = ["SMALL_STEP", "loop_threads"]

SMALL_STEP = 2_000_000  # multiply-adds of one step's recurrent GEMM
_ENV = "LAYERCANVAS_BLAS_THREADS"  # as engine.models.blas_threads

_lock = threading.Lock()
_depth = 0
_saved: list[int] = []


@contextlib.contextmanager
def loop_threads(step_multiply_adds: int) -> Iterator[None]:
    """Run the body on one BLAS thread if one step's GEMM is small (see the module notes)."""
    if (
        step_multiply_adds > SMALL_STEP
        or backend.xp.__name__ != "numpy"
        or os.environ.get(_ENV, "").strip()
    ):
        yield
        return
    global _depth, _saved
    libraries = blas_libraries()
    with _lock:
        if _depth == 0:
            _saved = [lib.num_threads for lib in libraries]
            for lib, n in zip(libraries, _saved, strict=True):
                if n > 1:
                    lib.set_num_threads(1)
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                for lib, n in zip(libraries, _saved, strict=True):
                    if n > 1:
                        lib.set_num_threads(n)
