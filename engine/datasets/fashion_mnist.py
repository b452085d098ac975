"""Fashion-MNIST clothing images, as ``keras.datasets.fashion_mnist`` — channels-first.

``load_data()`` returns ``(x_train, y_train), (x_test, y_test)``: ``x`` uint8
``(60000, 1, 28, 28)`` / ``(10000, 1, 28, 28)`` (Keras: ``(N, 28, 28)``), ``y`` uint8 class
indices 0-9 (``CLASS_NAMES``) of shape ``(N,)``. The four gz IDX files (30 MB) are
downloaded into the cache the first time and read from there, offline, ever after.
"""

from __future__ import annotations

from engine.data.errors import DataError
from engine.data.importers import read_idx
from engine.datasets.catalog import CATALOG
from engine.datasets.download import ensure_cached

__all__ = ["load_data", "load_train", "CLASS_NAMES"]

NAME = "fashion_mnist"
CLASS_NAMES = list(CATALOG[NAME].class_names)


def _pair(files, prefix: str):
    x = read_idx(files[f"{prefix}-images-idx3-ubyte.gz"])
    y = read_idx(files[f"{prefix}-labels-idx1-ubyte.gz"])
    if x.ndim != 3 or y.ndim != 1 or len(x) != len(y):
        raise DataError(f"Fashion-MNIST {prefix} files do not match: {x.shape} vs {y.shape}")
    return x[:, None], y


def load_data(download: bool = True):
    """``(x_train, y_train), (x_test, y_test)``; see the module docstring for shapes."""
    files = ensure_cached(NAME, download_missing=download)
    return _pair(files, "train"), _pair(files, "t10k")


def load_train(download: bool = True):
    """Only ``(x_train, y_train)`` (projects train on this; the test files are not read)."""
    return _pair(ensure_cached(NAME, download_missing=download), "train")
