"""Timing helpers the per-layer benchmarks (``bench_layers_a``, ``_b``, ``_c``) share:
ours and PyTorch's step run alternately, and both sides put on the same thread count."""

from __future__ import annotations

import os
import statistics
import time

__all__ = ["alternating_ms", "set_threads"]


def alternating_ms(ours, theirs, repeats: int) -> tuple[float, float]:
    """Medians (ms) of ``repeats`` runs of each step, run ours, theirs, ours, ... so that the
    machine's load (shared, busy) hits both alike; one untimed warm-up run each first."""
    ours()
    theirs()
    times = ([], [])
    for _ in range(repeats):
        for fn, into in ((ours, times[0]), (theirs, times[1])):
            start = time.perf_counter()
            fn()
            into.append(time.perf_counter() - start)
    return statistics.median(times[0]) * 1e3, statistics.median(times[1]) * 1e3


def set_threads(count: int) -> None:
    """Both sides on ``count`` threads: PyTorch's intra-op pool, numpy's BLAS (threadpoolctl)
    and the engine's own pools (``LAYERCANVAS_BLAS_THREADS``, read by its elementwise
    blocks). PyTorch's default pool collapses when other processes hold the cores."""
    os.environ["LAYERCANVAS_BLAS_THREADS"] = str(count)
    import torch  # noqa: PLC0415 - the benchmarks check it is installed first

    torch.set_num_threads(count)
    try:
        from threadpoolctl import threadpool_limits  # noqa: PLC0415 - optional
    except ImportError:
        return
    threadpool_limits(count, user_api="blas")
