"""Input normalisation as a small JSON-able spec: fit on the training split, apply anywhere.

A spec looks like ``{"method": "standardize", "axis": 1, "mean": [...], "std": [...]}`` or
``{"method": "minmax", "axis": 1, "min": [...], "max": [...]}``: one statistic per feature of
a table ``(N, F)``, per channel of images ``(N, C, H, W)`` and per feature of sequences
``(N, T, F)``; ``axis`` says which axis of the batched array the lists run along. A trained
model stores the spec, so predicting on new data calls :func:`apply_normalization` with the
exact statistics of the data it was trained on. Statistics come from the training split only
(:func:`fit_normalization` is called on it), so validation and test scores stay honest.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from engine.data.errors import DataError

__all__ = [
    "METHODS",
    "feature_axis",
    "fit_normalization",
    "apply_normalization",
    "invert_normalization",
    "validate_normalization",
]

METHODS = ("standardize", "minmax")

# A feature that never varies gets scale 1 instead of dividing by ~0 and exploding.
_TINY = 1e-12


def feature_axis(ndim: int) -> int:
    """The axis statistics are kept along: features of tables and sequences, image channels."""
    if ndim < 2:
        raise DataError(f"cannot normalise an array of rank {ndim}; it needs a feature axis")
    if ndim == 3:  # (N, T, F): one statistic per feature, shared over time steps
        return 2
    return 1  # (N, F) features, (N, C, H, W) / (N, C, ...) channels


def _reduce_axes(ndim: int, axis: int) -> tuple[int, ...]:
    return tuple(a for a in range(ndim) if a != axis)


def fit_normalization(x: np.ndarray, method: str | None) -> dict[str, Any] | None:
    """Statistics of ``x`` (the training inputs) as a spec; ``None``/``"none"`` gives ``None``."""
    if method is None or method == "none":
        return None
    if method not in METHODS:
        raise DataError(f"unknown normalization '{method}'; choose one of {METHODS} or None")
    x = np.asarray(x)
    if x.dtype.kind not in "f":
        raise DataError(
            f"normalization '{method}' needs real-valued inputs; these are {x.dtype} "
            "(token ids or class indices must not be normalised)"
        )
    axis = feature_axis(x.ndim)
    axes = _reduce_axes(x.ndim, axis)
    # Statistics in float64: float32 sums over many pixels lose digits.
    x64 = x.astype(np.float64, copy=False)
    if method == "standardize":
        mean = x64.mean(axis=axes)
        std = x64.std(axis=axes)
        std = np.where(std < _TINY, 1.0, std)
        return {"method": method, "axis": axis, "mean": mean.tolist(), "std": std.tolist()}
    lo = x64.min(axis=axes)
    hi = x64.max(axis=axes)
    # Where min == max the feature is constant: keep the range at 1 so it maps to 0.
    hi = np.where(hi - lo < _TINY, lo + 1.0, hi)
    return {"method": method, "axis": axis, "min": lo.tolist(), "max": hi.tolist()}


def validate_normalization(spec: dict[str, Any] | None) -> None:
    """Raise :class:`DataError` unless ``spec`` is a well-formed normalisation spec (or None)."""
    if spec is None:
        return
    if not isinstance(spec, dict):
        raise DataError(f"normalization spec must be a dict, got {type(spec).__name__}")
    method = spec.get("method")
    if method not in METHODS:
        raise DataError(f"normalization spec: unknown method {method!r}; expected {METHODS}")
    keys = ("mean", "std") if method == "standardize" else ("min", "max")
    missing = [k for k in ("axis", *keys) if k not in spec]
    if missing:
        raise DataError(f"normalization spec ({method}) lacks {', '.join(missing)}")
    if not isinstance(spec["axis"], int) or isinstance(spec["axis"], bool) or spec["axis"] < 1:
        raise DataError(f"normalization spec: axis must be an integer >= 1, got {spec['axis']!r}")
    a, b = spec[keys[0]], spec[keys[1]]
    if not isinstance(a, list) or not isinstance(b, list) or len(a) != len(b) or not a:
        raise DataError(
            f"normalization spec: '{keys[0]}' and '{keys[1]}' must be equal-length lists"
        )
    for v in (*a, *b):
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
            raise DataError(f"normalization spec: {v!r} is not a finite number")
    if method == "standardize" and min(b) <= 0:
        raise DataError("normalization spec: every std must be positive")
    if method == "minmax" and any(hi <= lo for lo, hi in zip(a, b)):
        raise DataError("normalization spec: every max must exceed its min")


def _stats(x: np.ndarray, spec: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """(offset, scale) shaped to broadcast against ``x``: normalised = (x - offset) / scale."""
    validate_normalization(spec)
    axis = spec["axis"]
    if spec["method"] == "standardize":
        offset, scale = np.asarray(spec["mean"]), np.asarray(spec["std"])
    else:
        lo, hi = np.asarray(spec["min"]), np.asarray(spec["max"])
        offset, scale = lo, hi - lo
    if axis >= x.ndim or x.shape[axis] != len(offset):
        raise DataError(
            f"normalization was fitted on {len(offset)} features along axis {axis}, but the "
            f"input has shape {tuple(x.shape)}"
        )
    shape = [1] * x.ndim
    shape[axis] = len(offset)
    return offset.reshape(shape), scale.reshape(shape)


def apply_normalization(x: np.ndarray, spec: dict[str, Any] | None) -> np.ndarray:
    """``x`` normalised with ``spec`` (a new float array; ``x`` itself when ``spec`` is None)."""
    if spec is None:
        return x
    x = np.asarray(x)
    offset, scale = _stats(x, spec)
    dtype = x.dtype if x.dtype.kind == "f" else np.float32
    return ((x - offset) / scale).astype(dtype, copy=False)


def invert_normalization(x: np.ndarray, spec: dict[str, Any] | None) -> np.ndarray:
    """Undo :func:`apply_normalization` (to show normalised inputs in their own units)."""
    if spec is None:
        return x
    x = np.asarray(x)
    offset, scale = _stats(x, spec)
    dtype = x.dtype if x.dtype.kind == "f" else np.float32
    return (x * scale + offset).astype(dtype, copy=False)
