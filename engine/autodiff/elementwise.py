"""Cache-blocked, multi-threaded evaluation of elementwise formulas on the CPU.

An activation written as a chain of numpy operations makes one full-size temporary per
operation: on a (64, 32, 28, 28) feature map that is ~20 passes over 6 MB arrays, each
freshly allocated (page faults), where PyTorch runs one fused SIMD loop on every core.
:func:`map_blocks` runs the same formula on blocks of 64 Ki values instead: the temporaries
stay in the L2 cache and reuse small allocations, and the blocks are shared between the
process's cores by a thread pool (numpy releases the GIL inside its loops).

Only the numpy backend with large arrays and two or more threads takes this path; on CuPy
(or any other namespace), for small arrays and on one thread (``LAYERCANVAS_BLAS_THREADS=1``
or one core) the formula runs once on the whole array, so kernels stay CuPy-ready. The
kernels write their formulas in place on their own temporaries (``in_place``), so the
whole-array call makes a few full-size arrays, not one per operation.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy

from engine import backend

__all__ = ["in_place", "map_blocks", "use_workers"]

BLOCK = 1 << 16  # values per block: 256 KiB of float32, a few temporaries fit in L2
MIN_SIZE = 4 * BLOCK  # below this, one call on the whole array is as fast

_pool: ThreadPoolExecutor | None = None
_loop_workers: int | None = None  # the training loop's current BLAS thread count, if any
_pool_lock = threading.Lock()


def _workers() -> int:
    # A fixed BLAS thread count (``engine.models.blas_threads.ENV``) caps these threads too:
    # whoever pins the engine to N threads (a benchmark against one-thread PyTorch, a shared
    # machine) means all of its compute, not only the GEMMs.
    setting = os.environ.get("LAYERCANVAS_BLAS_THREADS", "").strip()
    if setting.isdigit() and int(setting) > 0:
        return int(setting)
    if _loop_workers is not None:
        return _loop_workers
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def use_workers(count: int | None) -> None:
    """Run the blocks on ``count`` threads (None: every core). ``fit``'s per-step BLAS thread
    choice (``engine.models.blas_threads``) sets it with BLAS's count: under load, two
    threads made a silu step 2.5x slower than one, as they do the GEMMs."""
    global _loop_workers
    _loop_workers = count


def _executor() -> ThreadPoolExecutor | None:
    global _pool
    if _workers() < 2:
        return None
    with _pool_lock:
        if _pool is None or _pool._max_workers != _workers():  # noqa: SLF001 - own pool
            if _pool is not None:
                _pool.shutdown(wait=False)  # the setting changed: its idle threads end
            _pool = ThreadPoolExecutor(_workers(), thread_name_prefix="elementwise")
    return _pool


def map_blocks(fn: Callable, *arrays, outputs: int = 1, long_formula: bool = False):
    """``fn(*arrays)`` for an elementwise ``fn`` of same-shape arrays, returning one array
    of the first array's shape and dtype (blocked and threaded on large numpy arrays), or
    with ``outputs=n`` a tuple of ``n`` such arrays (``fn`` returns a tuple): a kernel that
    needs two results of one formula (the output and the derivative) evaluates it once.
    ``long_formula`` (a dozen passes or more): in blocks even on one thread."""
    first = arrays[0]
    large = backend.xp is numpy and first.size >= MIN_SIZE
    pool = _executor() if large else None
    if pool is None and not (large and long_formula):
        # One thread (a pinned or one-core process): for a short formula the blocks only add
        # per-call overhead. With freed memory kept (the training loops' keep_freed_memory)
        # the full-size temporaries cost no page faults, and numpy's streaming passes ran
        # silu's backward in 1.1 ms against 2.1 ms in blocks of 64 Ki values. A long one
        # (GELU's ~24 passes, mish's) gains from keeping its temporaries in L2: on a
        # (64, 32, 28, 28) map tanh-GELU's value and slope 2.96 -> 2.14 ms, mish's
        # derivative 5.9 -> 4.2 ms, exact GELU 3.5 -> 3.2 ms.
        return fn(*arrays)
    flat = [numpy.ascontiguousarray(a).reshape(-1) for a in arrays]
    outs = [numpy.empty_like(flat[0]) for _ in range(outputs)]

    def run(start: int) -> None:
        stop = start + BLOCK
        results = fn(*(a[start:stop] for a in flat))
        for out, result in zip(outs, (results,) if outputs == 1 else results, strict=True):
            out[start:stop] = result

    starts = range(0, outs[0].size, BLOCK)
    if pool is None:
        for start in starts:
            run(start)
    else:
        list(pool.map(run, starts))
    shaped = tuple(out.reshape(first.shape) for out in outs)
    return shaped[0] if outputs == 1 else shaped


def in_place(fn: Callable, *args, out):
    """``fn(*args, out=out)`` (no new array) on numpy and CuPy; the array API has no ``out=``,
    so on other namespaces (``array_api_strict`` in tests) a new array. Use the result."""
    xp = backend.xp
    if xp is numpy or getattr(xp, "__name__", "") == "cupy":
        return fn(*args, out=out)
    return fn(*args)
