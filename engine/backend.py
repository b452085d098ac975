"""The one place that chooses the array module the engine computes with.

Everything numerical in the engine calls ``backend.xp`` (numpy by default, CuPy on a GPU,
or any array-API namespace a test installs) instead of importing numpy directly, so the
same kernels run on every device. Data crosses to and from the device only through
:func:`asarray` (host -> device, at batch boundaries) and :func:`to_numpy` (device -> host,
for results and logging).
"""

from __future__ import annotations

import contextlib
import types
import warnings
from collections.abc import Iterator

import numpy

__all__ = [
    "xp",
    "device",
    "set_device",
    "use_namespace",
    "asarray",
    "to_numpy",
    "gpu_available",
    "erf",
    "BackendError",
]


class BackendError(RuntimeError):
    """The requested device cannot be used (for example ``device="gpu"`` with no GPU)."""


xp: types.ModuleType = numpy
device: str = "cpu"


def gpu_available() -> bool:
    """True when CuPy imports and a CUDA device answers."""
    try:
        import cupy  # noqa: PLC0415 - optional dependency, imported only when asked
    except Exception:
        return False
    try:
        return bool(cupy.cuda.is_available())
    except Exception:
        return False


def set_device(name: str = "cpu") -> str:
    """Select ``"cpu"``, ``"gpu"`` or ``"auto"``; returns the device actually used.

    ``"gpu"`` without a usable GPU raises :class:`BackendError` with the reason;
    ``"auto"`` falls back to the CPU and says so with a warning.
    """
    global xp, device
    if name not in ("cpu", "gpu", "auto"):
        raise BackendError(f"unknown device {name!r}: choose 'cpu', 'gpu' or 'auto'")
    if name == "cpu":
        xp, device = numpy, "cpu"
        return device
    if gpu_available():
        import cupy  # noqa: PLC0415

        xp, device = cupy, "gpu"
        return device
    if name == "gpu":
        raise BackendError(
            "device 'gpu' was requested but no CUDA GPU is usable: install the extra "
            "'layercanvas[gpu]' (CuPy) on a machine with an NVIDIA driver, or use --device cpu"
        )
    warnings.warn(
        "no usable GPU found; 'auto' is training on the CPU", RuntimeWarning, stacklevel=2
    )
    xp, device = numpy, "cpu"
    return device


@contextlib.contextmanager
def use_namespace(namespace: types.ModuleType, name: str = "custom") -> Iterator[None]:
    """Temporarily compute with another array namespace (tests use ``array_api_strict``)."""
    global xp, device
    saved = (xp, device)
    xp, device = namespace, name
    try:
        yield
    finally:
        xp, device = saved


def asarray(value, dtype=None):
    """Move host data (numpy arrays, lists, scalars) onto the current device."""
    if xp is numpy:
        return numpy.asarray(value, dtype=dtype)
    # Already on the device: CuPy refuses the implicit host round trip below.
    if isinstance(value, getattr(xp, "ndarray", ())):
        return xp.asarray(value, dtype=dtype)
    if isinstance(value, numpy.ndarray) or not hasattr(value, "__array_namespace__"):
        value = numpy.asarray(value)
        if dtype is None:
            dtype = _same_dtype(value.dtype)
        return xp.asarray(
            value.tolist() if xp.__name__.startswith("array_api") else value, dtype=dtype
        )
    return xp.asarray(value, dtype=dtype)


def _same_dtype(np_dtype):
    """The current namespace's dtype with numpy dtype ``np_dtype``'s name."""
    return getattr(xp, numpy.dtype(np_dtype).name)


def to_numpy(value) -> numpy.ndarray:
    """Bring an array (or an engine Tensor) back to the host as a numpy array."""
    # Unwrap engine Tensors only: a CuPy array's own .data is its memory pointer.
    if hasattr(value, "requires_grad") and hasattr(value, "data"):
        value = value.data
    if isinstance(value, numpy.ndarray):
        return value
    if hasattr(value, "get") and device == "gpu":
        return value.get()
    if hasattr(value, "__array_namespace__"):
        ns = value.__array_namespace__()
        if ns.__name__.startswith("array_api_strict"):
            return numpy.asarray(value._array)  # the strict wrapper keeps a numpy array inside
    return numpy.asarray(value)


def erf(x):
    """The error function on the current device (exact GELU needs it)."""
    if xp is numpy:
        from scipy.special import erf as scipy_erf  # noqa: PLC0415

        return scipy_erf(x)
    if device == "gpu":
        from cupyx.scipy.special import erf as cupy_erf  # noqa: PLC0415

        return cupy_erf(x)
    # Any other namespace: go through the host (only tests use this path).
    from scipy.special import erf as scipy_erf  # noqa: PLC0415

    return asarray(scipy_erf(to_numpy(x)))


# --- small portability shims: the array API, numpy and CuPy spell a few things differently ---


def permute_dims(a, axes):
    """``transpose`` with explicit axes in any namespace."""
    fn = getattr(xp, "permute_dims", None)
    return fn(a, tuple(axes)) if fn is not None else xp.transpose(a, tuple(axes))


def concat(arrays, axis=0):
    """Join arrays along an existing axis in any namespace."""
    fn = getattr(xp, "concat", None)
    return (
        fn(list(arrays), axis=axis) if fn is not None else xp.concatenate(list(arrays), axis=axis)
    )


def scatter_add(target, indices, values):
    """``target[indices] += values`` that accumulates repeated indices (embedding gradients)."""
    if xp is numpy:
        numpy.add.at(target, indices, values)
        return target
    if device == "gpu":
        import cupyx  # noqa: PLC0415

        cupyx.scatter_add(target, indices, values)
        return target
    host = to_numpy(target).copy()
    numpy.add.at(host, to_numpy(indices), to_numpy(values))
    return asarray(host)
