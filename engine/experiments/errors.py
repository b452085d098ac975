"""The one user error of experiments: a sweep that cannot start or be read as given."""

from __future__ import annotations

__all__ = ["SweepError"]


class SweepError(ValueError):
    """A bad sweep: a parameter name or value, a strategy, a metric, a damaged experiment
    record. The message names what is wrong and where (the parameter and the value, or the
    file and the key), and is meant to be shown to the user as it is."""
