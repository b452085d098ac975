"""The small built-in datasets as arrays: ``engine.datasets.load_digits()`` -> (x, y).

A thin façade over :mod:`engine.data`: each ``load_<name>(**options)`` returns the numpy
arrays ``(x, y)`` of that built-in set (options as in :func:`engine.data.load_builtin`, e.g.
``load_moons(n_samples=1000, noise=0.2, seed=1)``), and :func:`load` returns the full
:class:`~engine.data.Dataset` with class names, vocabulary and description. Nothing here
downloads: these sets are bundled or generated (the large, downloaded ones are the sibling
modules ``mnist``, ``cifar10``...).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from engine.data import BUILTIN_DATASETS, Dataset, load_builtin

__all__ = [
    "load",
    "list_datasets",
    "load_digits",
    "load_iris",
    "load_wine",
    "load_breast_cancer",
    "load_spirals",
    "load_moons",
    "load_circles",
    "load_xor",
    "load_blobs",
    "load_sine",
    "load_timeseries",
    "load_sentiment",
    "load_mnist",
    "load_fashion_mnist",
    "load_cifar10",
    "load_cifar100",
    "load_imdb",
    "load_reuters",
]


def load(name: str, **options: Any) -> Dataset:
    """The built-in dataset ``name`` as a :class:`~engine.data.Dataset`."""
    return load_builtin(name, **options)


def list_datasets() -> dict[str, str]:
    """Built-in dataset names with a one-line description each."""
    return dict(BUILTIN_DATASETS)


def _xy(name: str, options: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    ds = load_builtin(name, **options)
    return ds.x, ds.y


def load_digits() -> tuple[np.ndarray, np.ndarray]:
    """Handwritten digits: x float32 (1797, 1, 8, 8) in [0, 1], y int64 labels 0-9."""
    return _xy("digits", {})


def load_iris() -> tuple[np.ndarray, np.ndarray]:
    """Iris: x float32 (150, 4), y int64 in {0, 1, 2}."""
    return _xy("iris", {})


def load_wine() -> tuple[np.ndarray, np.ndarray]:
    """Wine: x float32 (178, 13) (unscaled), y int64 in {0, 1, 2}."""
    return _xy("wine", {})


def load_breast_cancer() -> tuple[np.ndarray, np.ndarray]:
    """Breast cancer: x float32 (569, 30) (unscaled), y int64 (0 malignant, 1 benign)."""
    return _xy("breast_cancer", {})


def load_spirals(**options: Any) -> tuple[np.ndarray, np.ndarray]:
    """Two spirals: x float32 (N, 2), y int64. Options: n_samples, noise, seed."""
    return _xy("spirals", options)


def load_moons(**options: Any) -> tuple[np.ndarray, np.ndarray]:
    """Two moons: x float32 (N, 2), y int64. Options: n_samples, noise, seed."""
    return _xy("moons", options)


def load_circles(**options: Any) -> tuple[np.ndarray, np.ndarray]:
    """Two circles: x float32 (N, 2), y int64. Options: n_samples, noise, factor, seed."""
    return _xy("circles", options)


def load_xor(**options: Any) -> tuple[np.ndarray, np.ndarray]:
    """XOR quadrants: x float32 (N, 2), y int64. Options: n_samples, noise, seed."""
    return _xy("xor", options)


def load_blobs(**options: Any) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian blobs: x float32 (N, 2), y int64. Options: n_samples, centers, cluster_std, seed."""
    return _xy("blobs", options)


def load_sine(**options: Any) -> tuple[np.ndarray, np.ndarray]:
    """Sine regression: x float32 (N, 1), y float32 (N, 1). Options: n_samples, noise, seed."""
    return _xy("sine", options)


def load_timeseries(**options: Any) -> tuple[np.ndarray, np.ndarray]:
    """Forecasting: x float32 (N, window, 1), y float32 (N, 1).

    Options: n_samples, window, noise, seed.
    """
    return _xy("timeseries", options)


def load_sentiment(**options: Any) -> tuple[np.ndarray, np.ndarray]:
    """Sentiment text: x int64 token ids (N, max_length), y int64 (0 negative, 1 positive).

    Options: n_samples, max_length, negation_rate, seed. ``load("sentiment").vocabulary``
    maps ids back to words.
    """
    return _xy("sentiment", options)


# The downloaded sets through the same façade: their training split as (x, y), read from the
# cache (DatasetNotDownloaded when absent). Keras's ``load_data()`` is in their own modules.


def load_mnist() -> tuple[np.ndarray, np.ndarray]:
    """MNIST training digits: x uint8 (60000, 1, 28, 28), y int64 0-9."""
    return _xy("mnist", {})


def load_fashion_mnist() -> tuple[np.ndarray, np.ndarray]:
    """Fashion-MNIST training images: x uint8 (60000, 1, 28, 28), y int64 0-9."""
    return _xy("fashion_mnist", {})


def load_cifar10() -> tuple[np.ndarray, np.ndarray]:
    """CIFAR-10 training photos: x uint8 (50000, 3, 32, 32), y int64 0-9."""
    return _xy("cifar10", {})


def load_cifar100(**options: Any) -> tuple[np.ndarray, np.ndarray]:
    """CIFAR-100 training photos: x uint8 (50000, 3, 32, 32), y int64. Option: label_mode."""
    return _xy("cifar100", options)


def load_imdb(**options: Any) -> tuple[np.ndarray, np.ndarray]:
    """IMDB training reviews: x int64 (25000, maxlen) word ids. Options: num_words, maxlen."""
    return _xy("imdb", options)


def load_reuters(**options: Any) -> tuple[np.ndarray, np.ndarray]:
    """Reuters training wires: x int64 (8982, maxlen) word ids. Options: num_words, maxlen."""
    return _xy("reuters", options)
