"""Optional compiled kernels (numba): one fused loop where numpy needs several passes.

numpy evaluates an elementwise formula one operation at a time, each a pass over memory; a
hard_silu backward is 7 passes where PyTorch runs one loop. Where a kernel has a numba
version (:mod:`jit_activations`, :mod:`jit_pool`), and numba is installed, the numpy
backend runs that instead: the same formula, the same rounding (no ``fastmath``: no
reassociation, no contraction into fused multiply-adds), so both paths give the same bits.

numba is optional. Without it, with ``LAYERCANVAS_JIT=0`` in the environment, on CuPy or
on any other namespace, the numpy formulas run: they are the reference, and the tests run
every kernel both ways (:func:`disabled`). Kernels compile on first use per dtype (about
0.2 s each) and are cached on disk (numba's ``cache=True``: beside the module, or in
numba's user cache directory when that is read-only), so later processes only load them.
They release the GIL (``nogil``), so chunk threads can run them side by side.
"""

from __future__ import annotations

import contextlib
import os
import threading

import numpy

from engine import backend

__all__ = ["compiled", "disabled", "enabled"]

ENV = "LAYERCANVAS_JIT"

_local = threading.local()
_numba = None  # the module once imported; False when it is not installed


def _load_numba():
    global _numba
    if _numba is None:
        try:
            import numba  # noqa: PLC0415 - optional, and slow to import (~0.3 s)
        except ImportError:
            _numba = False
        else:
            _numba = numba
    return _numba


def enabled() -> bool:
    """Whether compiled kernels run now: numba installed, the numpy backend, not switched
    off by ``LAYERCANVAS_JIT=0`` or by :func:`disabled` on this thread."""
    if getattr(_local, "off", False) or backend.xp is not numpy:
        return False
    if os.environ.get(ENV, "").strip().lower() in ("0", "off", "false", "no"):
        return False
    return bool(_load_numba())


@contextlib.contextmanager
def disabled():
    """Run the block on the numpy formulas (on this thread): the tests' second way."""
    before = getattr(_local, "off", False)
    _local.off = True
    try:
        yield
    finally:
        _local.off = before


def compiled(fn=None, *, reassociate: bool = False):
    """``fn`` compiled by numba on its first call (``nogil``, disk cache), as a callable
    that must only be used when :func:`enabled` says so. ``reassociate`` lets LLVM reorder
    sums (``fastmath={"reassoc"}``) so that a reduction vectorises: for kernels whose
    numpy counterpart sums in its own order anyway (same values to rounding, not bits)."""
    if fn is None:
        return lambda f: compiled(f, reassociate=reassociate)
    state: dict = {}
    lock = threading.Lock()
    options = {"cache": True, "nogil": True}
    if reassociate:
        options["fastmath"] = {"reassoc"}

    def call(*args):
        kernel = state.get("kernel")
        if kernel is None:
            with lock:
                kernel = state.get("kernel")
                if kernel is None:
                    kernel = state["kernel"] = _load_numba().njit(**options)(fn)
        return kernel(*args)

    call.__name__ = fn.__name__
    call.__doc__ = fn.__doc__
    return call
