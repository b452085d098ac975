"""Optional compiled kernels: one fused C loop where numpy needs several passes.

numpy evaluates an elementwise formula one operation at a time, each a pass over memory: a
hard_silu backward is seven passes, a batch normalisation about seven each way, where
PyTorch runs one loop. ``native/kernels.c`` holds those loops for the kernels that gain most
(:mod:`jit_activations`, :mod:`jit_norm`, :mod:`jit_group_norm`), ``native/depthwise.c``
the depthwise convolution's (:mod:`jit_depthwise`). At
first use it is compiled with the machine's C compiler (``cc``, else ``gcc``; ``-O3
-march=native -ffp-contract=off``) into the kernel cache and loaded with ctypes; later
processes load the cached library (named by a hash of the source, the flags and the
compiler, so an edit or another compiler builds afresh). No Python API, no extra package:
the library is ~50 KB and costs ~1 MB of memory (numba, tried first, cost 160 MB of LLVM).

The numpy formulas stay the reference and run wherever the compiled kernels do not: no C
compiler, a failed build, ``LAYERCANVAS_JIT=0``, CuPy or another namespace, and inside
:func:`disabled` (the tests run every kernel both ways). The elementwise and pooling
kernels give numpy's bits (no fused multiply-adds: ``-ffp-contract=off``); the
normalisations sum in float64 in another order, so they agree to float32 rounding.

Where the library goes: ``$LAYERCANVAS_CACHE_DIR/kernels`` when that is set, else
``~/.cache/layercanvas/kernels``. It is built under a temporary name and renamed into place,
so processes building at once (parallel sweep trials) never load half a file.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import numpy

from engine import backend

__all__ = ["ENV", "call", "call_checked", "disabled", "enabled", "status"]

ENV = "LAYERCANVAS_JIT"
# kernels.c (elementwise, normalisations, exp loops) and depthwise.c: one library.
SOURCES = tuple(Path(__file__).with_name("native") / name for name in ("kernels.c", "depthwise.c"))
FLAGS = ("-O3", "-march=native", "-ffp-contract=off", "-fPIC", "-shared", "-std=c99")

_local = threading.local()
_lock = threading.Lock()
_library = None  # the loaded CDLL; False once building or loading failed
_problem = ""  # why there is no library, for status()
_functions: dict = {}


def _cache_dir() -> Path:
    base = os.environ.get("LAYERCANVAS_CACHE_DIR")
    if base:
        return Path(base).expanduser() / "kernels"
    return Path.home() / ".cache" / "layercanvas" / "kernels"


def _compiler() -> str | None:
    for name in (os.environ.get("CC", ""), "cc", "gcc", "clang"):
        if name and shutil.which(name):
            return name
    return None


def _build() -> ctypes.CDLL:
    compiler = _compiler()
    if compiler is None:
        raise OSError("no C compiler (cc, gcc or clang) on PATH")
    version = subprocess.run(
        [compiler, "--version"], capture_output=True, text=True, timeout=30, check=False
    ).stdout
    digest = hashlib.sha256(
        b"".join(source.read_bytes() for source in SOURCES)
        + " ".join(FLAGS).encode()
        + version.encode()
    ).hexdigest()[:20]
    target = _cache_dir() / f"kernels-{digest}.so"
    if not target.is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, partial = tempfile.mkstemp(suffix=".so.part", dir=target.parent)
        os.close(handle)
        try:
            done = subprocess.run(
                [compiler, *FLAGS, "-o", partial, *map(str, SOURCES), "-lm"],
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
            if done.returncode != 0:
                raise OSError(f"{compiler} failed: {done.stderr.strip()[:300]}")
            os.replace(partial, target)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(partial)
    return ctypes.CDLL(str(target))


def _load():
    global _library, _problem
    if _library is None:
        with _lock:
            if _library is None:
                if not sys.platform.startswith("linux") and sys.platform != "darwin":
                    _library, _problem = False, f"not built on {sys.platform}"
                else:
                    try:
                        _library = _build()
                    except (OSError, subprocess.SubprocessError) as error:
                        _library, _problem = False, str(error)
    return _library


def enabled() -> bool:
    """Whether compiled kernels run now: the numpy backend, not switched off by
    ``LAYERCANVAS_JIT=0`` or by :func:`disabled` on this thread, and the library built."""
    if getattr(_local, "off", False) or backend.xp is not numpy:
        return False
    if os.environ.get(ENV, "").strip().lower() in ("0", "off", "false", "no"):
        return False
    return bool(_load())


def status() -> str:
    """One line: where the compiled kernels come from, or why the numpy formulas run."""
    if os.environ.get(ENV, "").strip().lower() in ("0", "off", "false", "no"):
        return f"compiled kernels off ({ENV}=0): numpy formulas"
    library = _load()
    if not library:
        return f"compiled kernels unavailable ({_problem}): numpy formulas"
    return f"compiled kernels: {library._name}"


@contextlib.contextmanager
def disabled():
    """Run the block on the numpy formulas (on this thread): the tests' second way."""
    before = getattr(_local, "off", False)
    _local.off = True
    try:
        yield
    finally:
        _local.off = before


def _function(name: str, dtype, restype=None) -> ctypes._CFuncPtr:
    suffix = "f32" if numpy.dtype(dtype) == numpy.float32 else "f64"
    key = f"{name}_{suffix}"
    function = _functions.get(key)
    if function is None:
        function = getattr(_load(), key)
        function.restype = restype
        _functions[key] = function
    return function


def call(name: str, dtype, *args) -> None:
    """Run the C function ``name`` for ``dtype`` (float32 or float64; only after
    :func:`enabled`): numpy arrays (C-contiguous) go as their data pointers, Python ints as
    int64, floats as double. The arrays stay referenced by ``args`` for the whole call, so a
    temporary passed here cannot be freed under the kernel."""
    _function(name, dtype)(*_converted(name, args))


def call_checked(name: str, dtype, *args) -> None:
    """As :func:`call`, for a C function that returns 0 when it could not allocate its
    buffers: then a ``MemoryError`` naming the kernel."""
    if not _function(name, dtype, ctypes.c_int64)(*_converted(name, args)):
        raise MemoryError(f"{name}: the compiled kernel could not allocate its buffers")


def _converted(name: str, args) -> list:
    converted = []
    for arg in args:
        if isinstance(arg, numpy.ndarray):
            if not arg.flags.c_contiguous:
                raise ValueError(f"{name}: arrays must be C-contiguous")
            converted.append(ctypes.c_void_p(arg.ctypes.data))
        elif isinstance(arg, int | numpy.integer):
            converted.append(ctypes.c_int64(int(arg)))
        else:
            converted.append(ctypes.c_double(float(arg)))
    return converted
