"""CIFAR-100 photos, as ``keras.datasets.cifar100`` — channels-first, from the binary archive.

``load_data(label_mode="fine")`` returns ``(x_train, y_train), (x_test, y_test)``: ``x``
uint8 ``(50000, 3, 32, 32)`` / ``(10000, 3, 32, 32)`` (Keras: ``(N, 32, 32, 3)``), ``y``
uint8 ``(N, 1)``: one of 100 fine classes, or with ``label_mode="coarse"`` one of 20
superclasses, as Keras. :func:`class_names` reads their names from the archive. The official
``cifar-100-binary.tar.gz`` (169 MB) is downloaded into the cache the first time.
"""

from __future__ import annotations

from engine.data.errors import DataError
from engine.datasets.cifar_archive import read_cifar
from engine.datasets.download import ensure_cached

__all__ = ["load_data", "load_train", "class_names"]

NAME = "cifar100"
_FOLDER = "cifar-100-binary/"
#: Records in train.bin and test.bin.
TRAIN_RECORDS, TEST_RECORDS = 50_000, 10_000
_NAMES = {"fine": f"{_FOLDER}fine_label_names.txt", "coarse": f"{_FOLDER}coarse_label_names.txt"}


def _check_mode(label_mode: str) -> None:
    if label_mode not in _NAMES:
        raise DataError(f'label_mode must be "fine" or "coarse", got {label_mode!r}')


def load_data(label_mode: str = "fine", download: bool = True):
    """``(x_train, y_train), (x_test, y_test)``; see the module docstring for shapes."""
    _check_mode(label_mode)
    path = ensure_cached(NAME, download_missing=download)["cifar-100-binary.tar.gz"]
    members = [(f"{_FOLDER}train.bin", TRAIN_RECORDS), (f"{_FOLDER}test.bin", TEST_RECORDS)]
    x, y, _ = read_cifar(path, members, label_bytes=2)
    column = 0 if label_mode == "coarse" else 1  # each record: coarse byte, fine byte
    labels = y[:, column : column + 1]
    n = TRAIN_RECORDS
    return (x[:n], labels[:n]), (x[n:], labels[n:])


def load_train(label_mode: str = "fine", download: bool = True):
    """Only ``(x_train, y_train)`` and the class names: the test file is not decoded."""
    _check_mode(label_mode)
    path = ensure_cached(NAME, download_missing=download)["cifar-100-binary.tar.gz"]
    members = [(f"{_FOLDER}train.bin", TRAIN_RECORDS)]
    x, y, texts = read_cifar(path, members, label_bytes=2, text_members=[_NAMES[label_mode]])
    column = 0 if label_mode == "coarse" else 1
    return x, y[:, column : column + 1], texts[_NAMES[label_mode]]


def class_names(label_mode: str = "fine", download: bool = False) -> list[str]:
    """The 100 fine (or 20 coarse) class names, in label order, from the cached archive."""
    _check_mode(label_mode)
    path = ensure_cached(NAME, download_missing=download)["cifar-100-binary.tar.gz"]
    _, _, texts = read_cifar(path, [], label_bytes=2, text_members=[_NAMES[label_mode]])
    return texts[_NAMES[label_mode]]
