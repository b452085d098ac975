"""BLAS threads for ``fit``, ``evaluate`` and ``predict``, chosen by measuring their steps.

numpy's BLAS (OpenBLAS) splits every GEMM over all cores. For the small GEMMs of most models
here (a batch of 32-128 through layers of a few hundred units or an 8x8 image), the threads
spend more time handing work over than computing, and when another process busies the cores
the hand-overs wait on descheduled threads: on a 2-core machine under load a digits-CNN epoch
took 15x longer with 2 BLAS threads than with 1. Large GEMMs on a quiet machine do gain from
every core. Which one wins depends on the model and on the machine's load right now, so
:class:`StepThreads` times training steps under each thread count, keeps the faster, and
times them again now and then (the load changes).

The loops also keep freed memory in the process (:func:`keep_freed_memory`): a training step
allocates and frees the same few-MB arrays every step, and glibc handed each back to the
kernel and page-faulted it in again (fresh zeroed pages). Under load those faults made one
(4096, 128) GEMM of a transformer step's backward pass 20-50 ms against ~1 ms on its own;
keeping the memory cut a one-thread transformer epoch by ~28 % (1.38 -> 0.99 s).

Only the CPU backend's BLAS is touched; threadpoolctl (a scikit-learn dependency) is optional:
without it, or with one BLAS thread, or with ``LAYERCANVAS_BLAS_THREADS`` set (a fixed count,
or ``all`` for BLAS's own default), nothing is measured or changed. The count BLAS had before
the loop is put back when it ends.
"""

from __future__ import annotations

import ctypes
import os
import statistics
import sys
import threading
import time

from engine import backend
from engine.autodiff import elementwise
from engine.autodiff.blas_libraries import blas_libraries

ENV = "LAYERCANVAS_BLAS_THREADS"
PROBES = 2  # timed steps per candidate thread count in each measurement
FIRST_RUN = 32  # steps on the chosen count before measuring again; doubles while it holds
LONGEST_RUN = 512
# Once a measurement confirms the choice, the next run is long enough that probing the loser
# again costs at most ~1/PROBE_SHARE of the steps: under load a 2-thread transformer step took
# 4.7 s against 0.35-0.7 s on one thread, so each probe of it cost ~10 steps.
PROBE_SHARE = 20

# BLAS's thread count is one setting for the whole process, and loops run nested (evaluate
# on the validation data inside fit) and side by side (the app trains on a worker thread
# while another thread predicts). Only the first loop to start chooses; loops that start
# while it runs leave the setting alone, so none of them takes another's temporary count
# for the original and "puts it back" when it ends.
_OWNER_LOCK = threading.Lock()
_owner: StepThreads | None = None


# glibc's mallopt parameters, and the values set: arrays below 256 MiB come from the heap
# rather than from fresh mmaps, and up to 1 GiB of freed heap stays for the next step.
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
_MMAP_BELOW, _TRIM_ABOVE = 256 * 2**20, 2**30
_kept = False


def keep_freed_memory() -> bool:
    """Once per process, on Linux with glibc and unless the user set the allocator through
    ``MALLOC_MMAP_THRESHOLD_`` / ``MALLOC_TRIM_THRESHOLD_``: keep freed memory for reuse.
    Peak memory is unchanged (the same arrays, reused); what the process holds between loops
    stays at the last step's high-water mark. Returns whether the setting is in force."""
    global _kept
    if _kept:
        return True
    if not sys.platform.startswith("linux") or any(
        name in os.environ for name in ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_")
    ):
        return False
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):  # musl or another libc: leave its allocator alone
        return False
    _kept = bool(mallopt(_M_MMAP_THRESHOLD, _MMAP_BELOW)) and bool(
        mallopt(_M_TRIM_THRESHOLD, _TRIM_ABOVE)
    )
    return _kept


class StepThreads:
    """Use as ``with threads: train_step()`` around each training step, and
    ``threads.close()`` at the end of fit (puts the original thread count back)."""

    def __init__(self, memory: dict | None = None):
        """``memory`` (see :func:`memory_of`) carries the choice from one loop to the next,
        so that short loops (one-epoch fits, predict calls) do not measure from scratch."""
        self._libraries = []
        self._memory = memory
        self._original: list[int] = []
        self._owns = False
        self._queue: list[int] = []  # thread counts of the steps still to be timed
        setting = os.environ.get(ENV, "").strip().lower()
        if backend.xp is not __import__("numpy"):
            return
        keep_freed_memory()
        if setting == "all":
            return
        global _owner
        with _OWNER_LOCK:
            if _owner is not None:
                return  # another loop is choosing: run with its count
            _owner, self._owns = self, True
        libraries = blas_libraries()
        counts = [lib.num_threads for lib in libraries]
        if setting.isdigit() and int(setting) > 0:
            for lib in libraries:
                lib.set_num_threads(int(setting))
            self._libraries, self._original = libraries, counts
            self._candidates = []
            return
        if not libraries or max(counts) <= 1:
            return
        self._libraries, self._original = libraries, counts
        self._candidates = [max(counts), 1]
        # The unmeasured first step (warm-up) runs on one thread: under load a multi-threaded
        # step can be 3-15x slower, on a quiet machine one thread costs at most the core count.
        self._chosen = 1
        self._measured = False  # the first choice keeps the shortest run: nothing confirms it
        self._times: dict[int, list[float]] = {}
        self._run, self._left = FIRST_RUN, 1  # the first step warms up, untimed
        self._current = None
        self._start = 0.0
        if memory and memory.get("candidates") == self._candidates:
            self._chosen, self._run, self._left = memory["chosen"], memory["run"], memory["left"]
            self._measured = memory.get("measured", True)
            # A loop that ended mid-measurement (a short warm-up fit) left its probes: go on
            # from there instead of paying for the slow count's probes again.
            self._queue = list(memory.get("queue", []))
            self._times = {int(n): list(ts) for n, ts in memory.get("times", {}).items()}

    @property
    def threads(self) -> int | None:
        """The thread count the next step runs with (None: this run does not choose)."""
        return self._queue[0] if self._queue else getattr(self, "_chosen", None)

    def __enter__(self):
        if not self._libraries or not self._candidates:
            return self
        if self._left == 0 and not self._queue:
            # Once a choice exists, one step per count re-checks it: a wrong switch costs only
            # FIRST_RUN steps (the run restarts there), while every probe of a count that lost
            # costs a whole slow step (~3x under load on a transformer step).
            probes = 1 if self._measured else PROBES
            self._queue = [n for _ in range(probes) for n in self._candidates]
            self._times = {n: [] for n in self._candidates}
        self._set(self._queue[0] if self._queue else self._chosen)
        self._start = time.perf_counter()
        return self

    def __exit__(self, *exc) -> None:
        if not self._libraries or not self._candidates:
            return
        elapsed = time.perf_counter() - self._start
        if not self._queue:
            self._left -= 1
            return
        n = self._queue.pop(0)
        self._times[n].append(elapsed)
        best = min(self._times, key=lambda k: statistics.median(self._times[k] or [float("inf")]))
        # A candidate already 3x slower than the other's first step needs no second probe.
        others = [t for k, ts in self._times.items() if k != n for t in ts]
        if others and elapsed > 3 * min(others):
            self._queue = [k for k in self._queue if k != n]
        if not self._queue:
            confirmed = self._measured and best == self._chosen
            self._run = self._next_run(best) if confirmed else FIRST_RUN
            self._chosen, self._left, self._measured = best, self._run, True

    def _next_run(self, best: int) -> int:
        """Doubled, or longer when the loser's probes cost many steps (see PROBE_SHARE)."""
        fastest = statistics.median(self._times[best])
        slowdown = max(
            (statistics.median(ts) / fastest for n, ts in self._times.items() if ts and n != best),
            default=1.0,
        )
        return min(max(2 * self._run, int(PROBE_SHARE * (slowdown - 1.0))), LONGEST_RUN)

    def _set(self, n: int) -> None:
        if n != self._current:
            for lib in self._libraries:
                lib.set_num_threads(n)
            elementwise.use_workers(n)  # the elementwise blocks follow the same choice
            self._current = n

    def close(self) -> None:
        if self._memory is not None and getattr(self, "_candidates", None):
            self._memory.update(
                candidates=self._candidates,
                chosen=self._chosen,
                run=self._run,
                left=0 if self._queue else self._left,  # cut short: measure again first
                measured=self._measured,
                queue=list(self._queue),  # the probes still due, and those already timed
                times={n: list(ts) for n, ts in self._times.items()},
            )
        for lib, n in zip(self._libraries, self._original, strict=True):
            lib.set_num_threads(n)
        if self._libraries:
            elementwise.use_workers(None)
        self._libraries = []  # closing twice does nothing
        self._current = None
        global _owner
        with _OWNER_LOCK:
            if self._owns:
                _owner, self._owns = None, False


def memory_of(model, loop: str) -> dict:
    """The model's remembered thread choice for one kind of loop ("fit", "inference")."""
    return model.__dict__.setdefault("_blas_threads", {}).setdefault(loop, {})
