"""MNIST handwritten digits, as ``keras.datasets.mnist`` — but channels-first.

``load_data()`` returns ``(x_train, y_train), (x_test, y_test)``: ``x`` uint8 of shape
``(60000, 1, 28, 28)`` / ``(10000, 1, 28, 28)`` (Keras: ``(N, 28, 28)``; the channel axis is
added in front as everywhere in LayerCanvas, and costs no copy), pixel values 0-255;
``y`` uint8 digits 0-9 of shape ``(N,)``. The file (Keras's ``mnist.npz``, 11.5 MB) is
downloaded into the cache the first time and read from there, offline, ever after.
"""

from __future__ import annotations

import numpy as np

from engine.data.errors import DataError
from engine.datasets.download import ensure_cached

__all__ = ["load_data", "load_train"]

NAME = "mnist"


def _read(keys: tuple[str, ...], download: bool) -> dict:
    path = ensure_cached(NAME, download_missing=download)["mnist.npz"]
    try:
        with np.load(path, allow_pickle=False) as f:
            return {k: f[k] for k in keys}
    except (OSError, ValueError, KeyError) as err:
        raise DataError(f"{path}: not a readable MNIST archive ({err})") from None


def load_data(download: bool = True):
    """``(x_train, y_train), (x_test, y_test)``; see the module docstring for shapes.
    ``download=False`` raises DatasetNotDownloaded instead of downloading."""
    arrays = _read(("x_train", "y_train", "x_test", "y_test"), download)
    x_train, x_test = arrays["x_train"][:, None], arrays["x_test"][:, None]
    return (x_train, arrays["y_train"]), (x_test, arrays["y_test"])


def load_train(download: bool = True):
    """Only ``(x_train, y_train)`` (projects train on this; the test arrays are not read)."""
    arrays = _read(("x_train", "y_train"), download)
    return arrays["x_train"][:, None], arrays["y_train"]
