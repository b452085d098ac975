"""CIFAR-10 photos, as ``keras.datasets.cifar10`` — channels-first, from the binary archive.

``load_data()`` returns ``(x_train, y_train), (x_test, y_test)``: ``x`` uint8
``(50000, 3, 32, 32)`` / ``(10000, 3, 32, 32)`` (Keras: ``(N, 32, 32, 3)``; the archive is
channels-first already, so nothing is transposed), ``y`` uint8 ``(N, 1)`` class indices
(``CLASS_NAMES``), as Keras. The official ``cifar-10-binary.tar.gz`` (170 MB; Keras uses the
Python-pickle version, which LayerCanvas never loads) is downloaded into the cache the first
time and read from there, offline, without extracting anything.
"""

from __future__ import annotations

from engine.datasets.catalog import CATALOG
from engine.datasets.cifar_archive import read_cifar
from engine.datasets.download import ensure_cached

__all__ = ["load_data", "load_train", "CLASS_NAMES"]

NAME = "cifar10"
CLASS_NAMES = list(CATALOG[NAME].class_names)
_FOLDER = "cifar-10-batches-bin/"
#: Records in each batch file (five for training, one for testing).
RECORDS_PER_BATCH = 10_000


def load_data(download: bool = True):
    """``(x_train, y_train), (x_test, y_test)``; see the module docstring for shapes."""
    path = ensure_cached(NAME, download_missing=download)["cifar-10-binary.tar.gz"]
    names = [f"{_FOLDER}data_batch_{i}.bin" for i in range(1, 6)] + [f"{_FOLDER}test_batch.bin"]
    x, y, _ = read_cifar(path, [(name, RECORDS_PER_BATCH) for name in names], label_bytes=1)
    n = 5 * RECORDS_PER_BATCH
    # Views of one array: the test split costs no copy.
    return (x[:n], y[:n]), (x[n:], y[n:])


def load_train(download: bool = True):
    """Only ``(x_train, y_train)``: the test batch is not decoded (projects train on this)."""
    path = ensure_cached(NAME, download_missing=download)["cifar-10-binary.tar.gz"]
    names = [f"{_FOLDER}data_batch_{i}.bin" for i in range(1, 6)]
    x, y, _ = read_cifar(path, [(name, RECORDS_PER_BATCH) for name in names], label_bytes=1)
    return x, y
