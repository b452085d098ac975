"""The downloaded datasets as project datasets: ``{"name": "mnist"}`` in a project file.

Each loader reads the set from the cache (never downloads: the project then says "dataset
not downloaded yet" through :class:`~engine.datasets.cache.DatasetNotDownloaded`, a
DataError, and the app offers a Download button) and returns its *training* split as a
:class:`Dataset` — the official test split stays out, so a project's validation split comes
from the training data. Images stay uint8 ``(N, C, H, W)``: the batch loader turns each batch
into float32 as it is built, so the whole set is never copied to float (put a
``BatchNormalization`` first in the graph, or scale in the model, to normalise). Image sets
are ``ordered``: their validation share is the last block of the (already shuffled) training
file, as Keras's ``validation_split`` takes it, so the splits are views and cost no copy.
Text sets are padded (zeros in front) or cut to ``maxlen`` word ids, of the ``num_words``
most frequent words.

:func:`stand_in` gives a one-sample dataset of the right shapes for a set that is not
downloaded yet, so ``layercanvas check`` can still check the graph against it.
"""

from __future__ import annotations

import numpy as np

from engine.data.dataset import Dataset
from engine.data.errors import DataError

__all__ = [
    "DOWNLOADABLE",
    "mnist",
    "fashion_mnist",
    "cifar10",
    "cifar100",
    "imdb",
    "reuters",
    "stand_in",
]


def _images(name: str, x: np.ndarray, y: np.ndarray, class_names: list[str]) -> Dataset:
    from engine.datasets.catalog import CATALOG  # noqa: PLC0415 - engine.datasets imports us

    entry = CATALOG[name]
    return Dataset(
        x=x,
        y=y.reshape(-1).astype(np.int64),
        task="classification",
        name=name,
        class_names=list(class_names),
        description=f"{entry.title} (training split, {len(x)} images)",
        metadata={"source": "dataset cache", "test_samples": entry.test_samples},
        # The files are in random order already: the validation share is the last block,
        # as Keras's validation_split takes it, and contiguous blocks are views, not copies.
        ordered=True,
    )


def mnist() -> Dataset:
    """MNIST's 60,000 training digits, uint8 (1, 28, 28)."""
    from engine.datasets import catalog, mnist  # noqa: PLC0415

    x, y = mnist.load_train(download=False)
    return _images("mnist", x, y, list(catalog.CATALOG["mnist"].class_names))


def fashion_mnist() -> Dataset:
    """Fashion-MNIST's 60,000 training images, uint8 (1, 28, 28)."""
    from engine.datasets import fashion_mnist  # noqa: PLC0415

    x, y = fashion_mnist.load_train(download=False)
    return _images("fashion_mnist", x, y, fashion_mnist.CLASS_NAMES)


def cifar10() -> Dataset:
    """CIFAR-10's 50,000 training photos, uint8 (3, 32, 32)."""
    from engine.datasets import cifar10  # noqa: PLC0415

    x, y = cifar10.load_train(download=False)
    return _images("cifar10", x, y, cifar10.CLASS_NAMES)


def cifar100(label_mode: str = "fine") -> Dataset:
    """CIFAR-100's 50,000 training photos, uint8 (3, 32, 32); ``label_mode`` fine or coarse."""
    from engine.datasets import cifar100  # noqa: PLC0415

    x, y, names = cifar100.load_train(label_mode=label_mode, download=False)
    return _images("cifar100", x, y, names)


def _check_int(name: str, value, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise DataError(f"{name} must be an integer from {low} to {high}, got {value!r}")
    return value


def _text(name: str, num_words: int, maxlen: int) -> Dataset:
    from engine.datasets import catalog, imdb, reuters  # noqa: PLC0415
    from engine.datasets.sequences import pad_ragged  # noqa: PLC0415

    num_words = _check_int("num_words", num_words, 4, 1_000_000)
    maxlen = _check_int("maxlen", maxlen, 1, 10_000)
    module = imdb if name == "imdb" else reuters
    (seqs, labels), _test, _used = module.load_ragged(num_words=num_words, download=False)
    entry = catalog.CATALOG[name]
    # The word index (id -> word) is not part of the downloaded files: ids are frequency
    # ranks, so the vocabulary names them by rank.
    vocabulary = ["<pad>", "<start>", "<unknown>"] + [f"#{i}" for i in range(3, num_words)]
    return Dataset(
        x=pad_ragged(seqs, maxlen),
        y=np.asarray(labels).astype(np.int64),
        task="classification",
        name=name,
        class_names=list(entry.class_names),
        vocabulary=vocabulary,
        description=(
            f"{entry.title} (training split, {len(seqs)} texts, the {num_words} most frequent "
            f"words, {maxlen} ids each)"
        ),
        metadata={"source": "dataset cache", "num_words": num_words, "maxlen": maxlen},
    )


def imdb(num_words: int = 10_000, maxlen: int = 200) -> Dataset:
    """IMDB's 25,000 training reviews as ``(maxlen,)`` word ids below ``num_words``."""
    return _text("imdb", num_words, maxlen)


def reuters(num_words: int = 10_000, maxlen: int = 200) -> Dataset:
    """Reuters' 8,982 training wires as ``(maxlen,)`` word ids below ``num_words``."""
    return _text("reuters", num_words, maxlen)


#: Project-file name -> loader; engine.data.builtin registers them beside the bundled sets.
DOWNLOADABLE = {
    "mnist": mnist,
    "fashion_mnist": fashion_mnist,
    "cifar10": cifar10,
    "cifar100": cifar100,
    "imdb": imdb,
    "reuters": reuters,
}


def stand_in(name: str, options: dict) -> Dataset:
    """One zero sample with the shapes, classes and vocabulary set ``name`` would give, for
    checking a graph before the set is downloaded."""
    from engine.datasets.catalog import CATALOG  # noqa: PLC0415

    entry = CATALOG[name]
    if entry.input_shape is None:
        num_words = options.get("num_words", 10_000)
        maxlen = _check_int("maxlen", options.get("maxlen", 200), 1, 10_000)
        num_words = _check_int("num_words", num_words, 4, 1_000_000)
        x = np.zeros((1, maxlen), np.int64)
        vocabulary = ["<pad>", "<start>", "<unknown>"] + [f"#{i}" for i in range(3, num_words)]
    else:
        x = np.zeros((1, *entry.input_shape), np.uint8)
        vocabulary = None
    classes = list(entry.class_names)
    if name == "cifar100" and options.get("label_mode") == "coarse":
        classes = [f"superclass {i}" for i in range(20)]
    return Dataset(
        x=x,
        y=np.zeros(1, np.int64),
        task="classification",
        name=name,
        class_names=classes,
        vocabulary=vocabulary,
        description=f"{entry.title} (not downloaded yet)",
        metadata={"not_downloaded": True},
    )
