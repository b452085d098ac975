"""threadpoolctl's controllers of the loaded BLAS libraries, looked up once per process.

The lookup walks every shared library the process has loaded (~0.5 ms in a bare process,
several ms in the app with Qt loaded); the training loops, the blocked convolutions and the
recurrent kernels set BLAS's thread count around their work and used to look it up each
time. Without threadpoolctl there is nothing to control: an empty list.
"""

from __future__ import annotations

__all__ = ["blas_libraries"]

_LIBRARIES: list | None = None


def blas_libraries() -> list:
    """The controllers (``num_threads`` is read live, ``set_num_threads`` sets it)."""
    global _LIBRARIES
    if _LIBRARIES is None:
        try:
            from threadpoolctl import ThreadpoolController  # noqa: PLC0415 - optional
        except ImportError:
            _LIBRARIES = []
        else:
            _LIBRARIES = list(ThreadpoolController().select(user_api="blas").lib_controllers)
    return _LIBRARIES
