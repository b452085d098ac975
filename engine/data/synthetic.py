"""Seeded synthetic datasets: TensorFlow-Playground-style 2-D sets, sine, a time series.

Every generator takes ``n_samples``, ``noise`` and ``seed`` and draws only from
``numpy.random.default_rng(seed)``, so the same options give the same arrays on every machine.
The 2-D sets live in roughly [-1, 1]^2 (so they train without normalisation), have balanced
classes and are shuffled (the first rows are not all one class). Generators are written
directly in numpy rather than borrowed from scikit-learn, whose import alone takes a second.
"""

from __future__ import annotations

import numpy as np

from engine.data.dataset import Dataset
from engine.data.errors import DataError

__all__ = ["spirals", "moons", "circles", "xor", "blobs", "sine", "timeseries"]


#: The most samples (or time steps per window) a generator makes: checked as Python ints
#: before numpy allocates, so ``"n_samples": 10**17`` is a clear error, not a MemoryError.
MAX_GENERATED = 10_000_000


def _count(name: str, value: object, minimum: int, maximum: int = MAX_GENERATED) -> int:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | np.integer)
        or not minimum <= value <= maximum
    ):
        raise DataError(f"{name} must be an integer from {minimum} to {maximum}, got {value!r}")
    return int(value)


def _amount(name: str, value: object) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not 0 <= value <= 1e6  # also refuses NaN and infinity
    ):
        raise DataError(f"{name} must be a number from 0 to 1e6, got {value!r}")
    return float(value)


def _per_class(n_samples: int, n_classes: int) -> list[int]:
    """Balanced class sizes; the first classes take the remainder."""
    base, extra = divmod(n_samples, n_classes)
    return [base + (c < extra) for c in range(n_classes)]


def _classification(
    name: str,
    parts: list[np.ndarray],
    rng: np.random.Generator,
    noise: float,
    description: str,
    class_names: list[str] | None = None,
) -> Dataset:
    """Stack per-class point sets, add Gaussian noise, shuffle, wrap in a Dataset."""
    x = np.concatenate(parts)
    y = np.concatenate([np.full(len(p), c, dtype=np.int64) for c, p in enumerate(parts)])
    x = x + rng.normal(0.0, noise, x.shape) if noise else x
    order = rng.permutation(len(x))
    return Dataset(
        x=x[order].astype(np.float32),
        y=y[order],
        task="classification",
        name=name,
        class_names=class_names or [str(c) for c in range(len(parts))],
        feature_names=["x1", "x2"],
        description=description,
    )


def spirals(n_samples: int = 400, noise: float = 0.05, seed: int = 0) -> Dataset:
    """Two interleaved spirals (1.75 turns each), the Playground's hardest set."""
    n_samples, noise = _count("n_samples", n_samples, 2), _amount("noise", noise)
    rng = np.random.default_rng(seed)
    parts = []
    for c, n in enumerate(_per_class(n_samples, 2)):
        r = np.arange(n) / n
        t = 1.75 * r * 2 * np.pi + c * np.pi
        parts.append(np.stack([r * np.sin(t), r * np.cos(t)], axis=1))
    return _classification(
        "spirals", parts, rng, noise, f"{n_samples} points on two interleaved spirals, 2 classes"
    )


def moons(n_samples: int = 400, noise: float = 0.1, seed: int = 0) -> Dataset:
    """Two interleaving half circles."""
    n_samples, noise = _count("n_samples", n_samples, 2), _amount("noise", noise)
    rng = np.random.default_rng(seed)
    n_outer, n_inner = _per_class(n_samples, 2)
    a, b = np.linspace(0, np.pi, n_outer), np.linspace(0, np.pi, n_inner)
    # Centred on the origin (the textbook moons span x in [-1, 2], y in [-0.5, 1]).
    outer = np.stack([np.cos(a) - 0.5, np.sin(a) - 0.25], axis=1)
    inner = np.stack([0.5 - np.cos(b), 0.25 - np.sin(b)], axis=1)
    return _classification(
        "moons", [outer, inner], rng, noise, f"{n_samples} points on two interleaving half moons"
    )


def circles(
    n_samples: int = 400, noise: float = 0.05, factor: float = 0.5, seed: int = 0
) -> Dataset:
    """A ring (class 0) around a smaller concentric ring of radius ``factor`` (class 1)."""
    n_samples, noise = _count("n_samples", n_samples, 2), _amount("noise", noise)
    if isinstance(factor, bool) or not isinstance(factor, int | float) or not 0 < factor < 1:
        raise DataError(f"factor must be a number in (0, 1), got {factor!r}")
    rng = np.random.default_rng(seed)
    parts = []
    for radius, n in zip((1.0, float(factor)), _per_class(n_samples, 2)):
        t = np.linspace(0, 2 * np.pi, n, endpoint=False)
        parts.append(radius * np.stack([np.cos(t), np.sin(t)], axis=1))
    return _classification(
        "circles", parts, rng, noise, f"{n_samples} points on two concentric circles"
    )


def xor(n_samples: int = 400, noise: float = 0.0, seed: int = 0) -> Dataset:
    """Points in [-1, 1]^2; class 1 where both coordinates have the same sign (XOR pattern)."""
    n_samples, noise = _count("n_samples", n_samples, 2), _amount("noise", noise)
    rng = np.random.default_rng(seed)
    parts = []
    for c, n in enumerate(_per_class(n_samples, 2)):
        # Keep points 0.05 off the axes, as the Playground does, so the classes are separable.
        p = rng.uniform(0.05, 1.0, (n, 2)) * rng.choice([-1.0, 1.0], (n, 2))
        same = np.sign(p[:, 0]) == np.sign(p[:, 1])
        p[:, 1] = np.where(same == bool(c), p[:, 1], -p[:, 1])
        parts.append(p)
    return _classification(
        "xor",
        parts,
        rng,
        noise,
        f"{n_samples} points; class by whether x1 and x2 share their sign",
        class_names=["different signs", "same sign"],
    )


def blobs(
    n_samples: int = 400, centers: int = 3, cluster_std: float = 0.15, seed: int = 0
) -> Dataset:
    """Gaussian clusters, one per class, evenly spaced on a circle of radius 0.6."""
    n_samples = _count("n_samples", n_samples, 2)
    centers = _count("centers", centers, 2, maximum=1000)
    cluster_std = _amount("cluster_std", cluster_std)
    if n_samples < centers:
        raise DataError(f"n_samples ({n_samples}) must be at least centers ({centers})")
    rng = np.random.default_rng(seed)
    angles = 2 * np.pi * np.arange(centers) / centers + np.pi / 4
    middles = 0.6 * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    parts = [
        np.repeat(middles[c : c + 1], n, axis=0)
        for c, n in enumerate(_per_class(n_samples, centers))
    ]
    return _classification(
        "blobs", parts, rng, cluster_std, f"{n_samples} points in {centers} Gaussian clusters"
    )


def sine(n_samples: int = 400, noise: float = 0.05, seed: int = 0) -> Dataset:
    """Regression of ``y = sin(x)`` for x in [-pi, pi]; x and y are ``(N, 1)``."""
    n_samples, noise = _count("n_samples", n_samples, 2), _amount("noise", noise)
    rng = np.random.default_rng(seed)
    x = rng.uniform(-np.pi, np.pi, (n_samples, 1))
    y = np.sin(x) + (rng.normal(0.0, noise, x.shape) if noise else 0.0)
    return Dataset(
        x=x.astype(np.float32),
        y=y.astype(np.float32),
        task="regression",
        name="sine",
        feature_names=["x"],
        description=f"{n_samples} samples of y = sin(x) + noise, x in [-pi, pi]",
    )


def timeseries(
    n_samples: int = 1000, window: int = 24, noise: float = 0.1, seed: int = 0
) -> Dataset:
    """Forecast the next value of a noisy sum of sines from the previous ``window`` values.

    x is ``(N, window, 1)``, y ``(N, 1)``; sample i covers steps i..i+window and predicts
    step i+window, so samples are in time order (``ordered=True``: splits keep the last
    samples for validation/test instead of shuffling the future into training).
    """
    n_samples = _count("n_samples", n_samples, 2)
    window = _count("window", window, 1)
    if n_samples * window > MAX_GENERATED:
        raise DataError(
            f"n_samples x window = {n_samples * window} values, more than {MAX_GENERATED}"
        )
    noise = _amount("noise", noise)
    rng = np.random.default_rng(seed)
    t = np.arange(n_samples + window, dtype=np.float64)
    phase = rng.uniform(0, 2 * np.pi, 2)
    series = (
        np.sin(2 * np.pi * t / 50 + phase[0])
        + 0.5 * np.sin(2 * np.pi * t / 17 + phase[1])
        + (rng.normal(0.0, noise, t.shape) if noise else 0.0)
    )
    # Sliding windows without a Python loop: a strided view, then a copy.
    windows = np.lib.stride_tricks.sliding_window_view(series, window + 1)[:n_samples]
    return Dataset(
        x=windows[:, :window, None].astype(np.float32),
        y=windows[:, window:].astype(np.float32),
        task="regression",
        name="timeseries",
        ordered=True,
        description=(
            f"{n_samples} windows of {window} steps of a noisy sum of two sines; "
            "predict the next value"
        ),
        metadata={"window": window},
    )
