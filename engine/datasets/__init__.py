"""``engine.datasets``: datasets as numpy arrays, the way ``keras.datasets`` gives them.

Two kinds:

- the small built-in sets, bundled or generated on the spot: ``load_digits()``,
  ``load_moons(n_samples=...)``... (:mod:`engine.datasets.builtin`), and ``load(name)`` for
  the full :class:`~engine.data.Dataset`;
- the real-size sets, downloaded once into the cache (``~/.cache/layercanvas/datasets`` or
  ``LAYERCANVAS_CACHE_DIR``) and read offline afterwards, one module each with Keras's
  ``load_data()``: :mod:`~engine.datasets.mnist`, :mod:`~engine.datasets.fashion_mnist`,
  :mod:`~engine.datasets.cifar10`, :mod:`~engine.datasets.cifar100`,
  :mod:`~engine.datasets.imdb`, :mod:`~engine.datasets.reuters`. Images are uint8 and
  channels-first (``(N, C, H, W)``, where Keras gives ``(N, H, W[, C])``).

``CATALOG`` lists the downloadable sets with their files, sizes and SHA-256;
:func:`download` fetches one (resumable, checked, atomic; see
:mod:`engine.datasets.download`), :func:`install_files` installs the original files from disk
(offline machines), :func:`is_cached` says whether a set is there.
"""

from engine.datasets import cifar10, cifar100, fashion_mnist, imdb, mnist, reuters
from engine.datasets.builtin import (
    list_datasets,
    load,
    load_blobs,
    load_breast_cancer,
    load_cifar10,
    load_cifar100,
    load_circles,
    load_digits,
    load_fashion_mnist,
    load_imdb,
    load_iris,
    load_mnist,
    load_moons,
    load_reuters,
    load_sentiment,
    load_sine,
    load_spirals,
    load_timeseries,
    load_wine,
    load_xor,
)
from engine.datasets.cache import (
    DatasetFileError,
    DatasetNotDownloaded,
    cache_dir,
    install_files,
    is_cached,
    missing_files,
    remove_cached,
)
from engine.datasets.catalog import CATALOG, RemoteDataset, RemoteFile
from engine.datasets.download import DownloadCancelled, download

__all__ = [
    "CATALOG",
    "DatasetFileError",
    "DatasetNotDownloaded",
    "DownloadCancelled",
    "RemoteDataset",
    "RemoteFile",
    "cache_dir",
    "cifar10",
    "cifar100",
    "download",
    "fashion_mnist",
    "imdb",
    "install_files",
    "is_cached",
    "list_datasets",
    "load",
    "load_blobs",
    "load_breast_cancer",
    "load_cifar10",
    "load_cifar100",
    "load_circles",
    "load_digits",
    "load_fashion_mnist",
    "load_imdb",
    "load_iris",
    "load_mnist",
    "load_moons",
    "load_reuters",
    "load_sentiment",
    "load_sine",
    "load_spirals",
    "load_timeseries",
    "load_wine",
    "load_xor",
    "missing_files",
    "mnist",
    "remove_cached",
    "reuters",
]
