"""The downloadable datasets: where each file comes from, its pinned size and SHA-256.

One :class:`RemoteDataset` per set, with the files that make it up. Every file is checked
against its pinned SHA-256 (and size) before it enters the cache, whether it was downloaded
(:mod:`engine.datasets.download`) or installed from disk (``layercanvas datasets add``).

Sources. The URLs and SHA-256 of ``mnist.npz``, ``imdb.npz`` and ``reuters.npz`` are Keras's
own (``keras/src/datasets/*.py``). Fashion-MNIST's gz files come from Zalando's repository,
with the SHA-256 its files hash to, as pinned by many public projects (Keras downloads the
same four files from its bucket but pins no checksum). CIFAR comes in its official *binary*
versions (``cifar-*-binary.tar.gz`` from the authors' page), not the Python-pickle versions
Keras uses, because loading must never unpickle; their SHA-256 are the ones TensorFlow
Datasets and other public loaders pin.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from engine.data.errors import DataError

__all__ = ["RemoteFile", "RemoteDataset", "CATALOG", "format_size", "remote_dataset"]

_KERAS = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
_KRIZ = "https://www.cs.toronto.edu/~kriz/"
_ZALANDO = "https://github.com/zalandoresearch/fashion-mnist/raw/master/data/fashion/"


@dataclass(frozen=True)
class RemoteFile:
    """One file of a dataset: its name in the cache, where it is downloaded from, its size in
    bytes and its SHA-256 (hex)."""

    name: str
    url: str
    size: int
    sha256: str


@dataclass(frozen=True)
class RemoteDataset:
    """A dataset that is downloaded once into the cache.

    ``input_shape`` is one sample's shape as the project loader gives it (channels-first for
    images, ``None`` for token sequences, whose length is the ``maxlen`` option);
    ``class_names`` name the label indices.
    """

    name: str
    title: str
    files: tuple[RemoteFile, ...]
    train_samples: int
    test_samples: int
    input_shape: tuple[int, ...] | None
    class_names: tuple[str, ...]
    homepage: str
    license: str
    notes: tuple[str, ...] = field(default=())

    @property
    def size(self) -> int:
        """Bytes to download (all files together)."""
        return sum(f.size for f in self.files)

    @property
    def kind(self) -> str:
        """``"images"`` or ``"text"`` (token-id sequences)."""
        return "text" if self.input_shape is None else "images"

    def file(self, name: str) -> RemoteFile:
        for f in self.files:
            if f.name == name:
                return f
        raise KeyError(name)


_DIGITS = tuple(str(d) for d in range(10))
_FASHION = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)
_CIFAR10 = (
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
)

CATALOG: dict[str, RemoteDataset] = {
    d.name: d
    for d in (
        RemoteDataset(
            name="mnist",
            title="MNIST handwritten digits: 28x28 grey, 10 classes",
            files=(
                RemoteFile(
                    "mnist.npz",
                    _KERAS + "mnist.npz",
                    11_490_434,
                    "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1",
                ),
            ),
            train_samples=60_000,
            test_samples=10_000,
            input_shape=(1, 28, 28),
            class_names=_DIGITS,
            homepage="http://yann.lecun.com/exdb/mnist/",
            license="CC BY-SA 3.0",
        ),
        RemoteDataset(
            name="fashion_mnist",
            title="Fashion-MNIST clothing: 28x28 grey, 10 classes",
            files=(
                RemoteFile(
                    "train-labels-idx1-ubyte.gz",
                    _ZALANDO + "train-labels-idx1-ubyte.gz",
                    29_515,
                    "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
                ),
                RemoteFile(
                    "train-images-idx3-ubyte.gz",
                    _ZALANDO + "train-images-idx3-ubyte.gz",
                    26_421_880,
                    "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
                ),
                RemoteFile(
                    "t10k-labels-idx1-ubyte.gz",
                    _ZALANDO + "t10k-labels-idx1-ubyte.gz",
                    5_148,
                    "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
                ),
                RemoteFile(
                    "t10k-images-idx3-ubyte.gz",
                    _ZALANDO + "t10k-images-idx3-ubyte.gz",
                    4_422_102,
                    "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
                ),
            ),
            train_samples=60_000,
            test_samples=10_000,
            input_shape=(1, 28, 28),
            class_names=_FASHION,
            homepage="https://github.com/zalandoresearch/fashion-mnist",
            license="MIT",
        ),
        RemoteDataset(
            name="cifar10",
            title="CIFAR-10 photos: 32x32 colour, 10 classes",
            files=(
                RemoteFile(
                    "cifar-10-binary.tar.gz",
                    _KRIZ + "cifar-10-binary.tar.gz",
                    170_052_171,
                    "c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd",
                ),
            ),
            train_samples=50_000,
            test_samples=10_000,
            input_shape=(3, 32, 32),
            class_names=_CIFAR10,
            homepage="https://www.cs.toronto.edu/~kriz/cifar.html",
            license="no licence stated; cite Krizhevsky (2009)",
        ),
        RemoteDataset(
            name="cifar100",
            title="CIFAR-100 photos: 32x32 colour, 100 classes (20 coarse)",
            files=(
                RemoteFile(
                    "cifar-100-binary.tar.gz",
                    _KRIZ + "cifar-100-binary.tar.gz",
                    168_513_733,
                    "58a81ae192c23a4be8b1804d68e518ed807d710a4eb253b1f2a199162a40d8ec",
                ),
            ),
            train_samples=50_000,
            test_samples=10_000,
            input_shape=(3, 32, 32),
            # The archive's fine_label_names.txt names them; the project loader reads it.
            class_names=tuple(f"class {i}" for i in range(100)),
            homepage="https://www.cs.toronto.edu/~kriz/cifar.html",
            license="no licence stated; cite Krizhevsky (2009)",
        ),
        RemoteDataset(
            name="imdb",
            title="IMDB movie reviews: word-id sequences, positive/negative",
            files=(
                RemoteFile(
                    "imdb.npz",
                    _KERAS + "imdb.npz",
                    17_464_789,
                    "69664113be75683a8fe16e3ed0ab59fda8886cb3cd7ada244f7d9544e4676b9f",
                ),
            ),
            train_samples=25_000,
            test_samples=25_000,
            input_shape=None,
            class_names=("negative", "positive"),
            homepage="https://ai.stanford.edu/~amaas/data/sentiment/",
            license="see the homepage (Maas et al., 2011)",
        ),
        RemoteDataset(
            name="reuters",
            title="Reuters newswires: word-id sequences, 46 topics",
            files=(
                RemoteFile(
                    "reuters.npz",
                    _KERAS + "reuters.npz",
                    2_110_848,
                    "d6586e694ee56d7a4e65172e12b3e987c03096cb01eab99753921ef915959916",
                ),
            ),
            train_samples=8_982,
            test_samples=2_246,
            input_shape=None,
            class_names=tuple(f"topic {i}" for i in range(46)),
            homepage="https://archive.ics.uci.edu/dataset/137/reuters+21578+text+categorization+collection",
            license="research use (Reuters-21578 distribution terms)",
        ),
    )
}


def remote_dataset(name: str) -> RemoteDataset:
    """The catalog entry ``name``, or a DataError listing the downloadable sets."""
    try:
        return CATALOG[name]
    except (KeyError, TypeError):
        raise DataError(
            f"unknown downloadable dataset {name!r}; available: {', '.join(CATALOG)}"
        ) from None


def format_size(n_bytes: int) -> str:
    """``170.1 MB``: decimal units, as download sizes are quoted."""
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n_bytes >= scale:
            return f"{n_bytes / scale:.1f} {unit}"
    return f"{n_bytes} bytes"
