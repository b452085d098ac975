"""Argument checks shared by the optimizers: each bad value becomes one ValueError that names
the argument, the value given and what is allowed."""

from __future__ import annotations

import math
import numbers


def number(
    label: str,
    value,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """``value`` as a float, inside ``[low, high]`` (an end is excluded when ``*_open``)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{label} must be a number, got {value!r}")
    value = float(value)
    too_low = low is not None and (value <= low if low_open else value < low)
    too_high = high is not None and (value >= high if high_open else value > high)
    if math.isnan(value) or too_low or too_high:
        allowed = _interval(low, high, low_open, high_open)
        raise ValueError(f"{label} must be {allowed}, got {value}")
    return value


def optional_number(label: str, value, **bounds) -> float | None:
    return None if value is None else number(label, value, **bounds)


def optional_int(label: str, value, minimum: int) -> int | None:
    """``None`` or an integer ``>= minimum`` (Keras's counts: EMA frequency, accumulation)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{label} must be an integer >= {minimum} or None, got {value!r}")
    return int(value)


def _interval(low, high, low_open, high_open) -> str:
    if high is None:
        return f"{'>' if low_open else '>='} {low:g}"
    if low is None:
        return f"{'<' if high_open else '<='} {high:g}"
    return f"in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
