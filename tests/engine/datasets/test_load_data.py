"""``load_data()`` of each downloadable set against Keras's own ``load_data`` on the same
fixture files (Keras's ``get_file`` is pointed at them), and the project-file loaders."""

from __future__ import annotations

import numpy as np
import pytest

from engine.datasets import cifar10, cifar100, fashion_mnist, imdb, install_files, mnist, reuters
from tests.engine.datasets.archives import cifar_records, make_files, pin


@pytest.fixture
def cache(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv("LAYERCANVAS_CACHE_DIR", str(folder))
    return folder


def installed(name, tmp_path, monkeypatch):
    """Fixture files of ``name`` installed into the (empty) cache, as 'datasets add' does."""
    source = tmp_path / "files"
    truth = make_files(name, source)
    entry = pin(monkeypatch, name, source, "http://127.0.0.1:9")
    install_files(name, [source / f.name for f in entry.files])
    return source, truth


def keras_module(monkeypatch, module_name: str, source):
    import importlib

    module = importlib.import_module(f"keras.src.datasets.{module_name}")

    def get_file(fname=None, origin=None, **_kwargs):
        return str(source / (fname or origin.rsplit("/", 1)[-1]))

    monkeypatch.setattr(module, "get_file", get_file)
    return module


def test_mnist_matches_keras_channels_first(cache, tmp_path, monkeypatch):
    source, _ = installed("mnist", tmp_path, monkeypatch)
    (kx, ky), (kxt, kyt) = keras_module(monkeypatch, "mnist", source).load_data()
    (x, y), (xt, yt) = mnist.load_data(download=False)
    assert x.shape == (len(kx), 1, 28, 28) and x.dtype == np.uint8
    np.testing.assert_array_equal(x[:, 0], kx)
    np.testing.assert_array_equal(xt[:, 0], kxt)
    np.testing.assert_array_equal(y, ky)
    np.testing.assert_array_equal(yt, kyt)


def test_fashion_mnist_matches_keras(cache, tmp_path, monkeypatch):
    source, _ = installed("fashion_mnist", tmp_path, monkeypatch)
    (kx, ky), (kxt, kyt) = keras_module(monkeypatch, "fashion_mnist", source).load_data()
    (x, y), (xt, yt) = fashion_mnist.load_data(download=False)
    assert x.shape == (24, 1, 28, 28) and xt.shape == (6, 1, 28, 28)
    np.testing.assert_array_equal(x[:, 0], kx)
    np.testing.assert_array_equal(y, ky)
    np.testing.assert_array_equal(xt[:, 0], kxt)
    np.testing.assert_array_equal(yt, kyt)


def test_cifar10_binary_archive_is_read_channels_first(cache, tmp_path, monkeypatch):
    _, truth = installed("cifar10", tmp_path, monkeypatch)
    # The fixture holds 10 records per batch file where the real one holds 10,000.
    monkeypatch.setattr(cifar10, "RECORDS_PER_BATCH", 10)
    (x, y), (xt, yt) = cifar10.load_data(download=False)
    assert x.shape == (50, 3, 32, 32) and y.shape == (50, 1) and y.dtype == np.uint8
    np.testing.assert_array_equal(x, truth["x"][:50])
    np.testing.assert_array_equal(xt, truth["x"][50:])
    np.testing.assert_array_equal(y, truth["labels"][:50])
    np.testing.assert_array_equal(yt, truth["labels"][50:])
    # Red plane first: a record's first 1024 pixel bytes are channel 0 (Keras's [..., 0]).
    record = np.frombuffer(cifar_records(truth["x"][3:4], truth["labels"][3:4]), np.uint8)
    np.testing.assert_array_equal(x[3, 0].reshape(-1), record[1:1025])


def test_cifar100_fine_and_coarse_labels(cache, tmp_path, monkeypatch):
    _, truth = installed("cifar100", tmp_path, monkeypatch)
    monkeypatch.setattr(cifar100, "TRAIN_RECORDS", 50)
    monkeypatch.setattr(cifar100, "TEST_RECORDS", 10)
    (x, y), (xt, yt) = cifar100.load_data(download=False)
    np.testing.assert_array_equal(x, truth["x"][:50])
    np.testing.assert_array_equal(xt, truth["x"][50:])
    np.testing.assert_array_equal(y[:, 0], truth["labels"][:50, 1])
    (_, yc), _ = cifar100.load_data(label_mode="coarse", download=False)
    np.testing.assert_array_equal(yc[:, 0], truth["labels"][:50, 0])
    assert cifar100.class_names()[:2] == ["fine0", "fine1"]
    with pytest.raises(ValueError, match='label_mode must be "fine" or "coarse"'):
        cifar100.load_data(label_mode="medium")


def test_a_truncated_cifar_archive_is_named(cache, tmp_path, monkeypatch):
    from engine.data import DataError
    from engine.datasets.cifar_archive import read_cifar

    source = tmp_path / "files"
    make_files("cifar10", source)
    archive = source / "cifar-10-binary.tar.gz"
    cut = tmp_path / "cut.tar.gz"
    cut.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    batches = [(f"cifar-10-batches-bin/data_batch_{i}.bin", 10) for i in range(1, 6)]
    with pytest.raises(DataError, match=r"cut\.tar\.gz.*truncated or corrupt"):
        read_cifar(cut, batches, label_bytes=1)
    with pytest.raises(DataError, match="has no member cifar-10-batches-bin/nope.bin"):
        read_cifar(archive, [("cifar-10-batches-bin/nope.bin", 10)], label_bytes=1)
    with pytest.raises(DataError, match="has 30730 bytes, expected 61460"):
        read_cifar(archive, [(batches[0][0], 20)], label_bytes=1)


OPTIONS = [
    {},
    {"num_words": 100},
    {"num_words": 120, "skip_top": 5, "maxlen": 25},
    {"oov_char": None, "num_words": 200},
    {"start_char": None, "index_from": 0, "seed": 7},
]


@pytest.mark.parametrize("options", OPTIONS, ids=str)
def test_imdb_matches_keras(cache, tmp_path, monkeypatch, options):
    source, _ = installed("imdb", tmp_path, monkeypatch)
    keras_imdb = keras_module(monkeypatch, "imdb", source)
    (kx, ky), (kxt, kyt) = keras_imdb.load_data(**options)
    (x, y), (xt, yt) = imdb.load_data(**options, download=False)
    assert x.dtype == object and len(x) == len(kx)
    assert [list(s) for s in x] == [list(s) for s in kx]
    assert [list(s) for s in xt] == [list(s) for s in kxt]
    np.testing.assert_array_equal(y, ky)
    np.testing.assert_array_equal(yt, kyt)


@pytest.mark.parametrize("options", [{}, {"num_words": 50, "test_split": 0.3}], ids=str)
def test_reuters_matches_keras(cache, tmp_path, monkeypatch, options):
    source, _ = installed("reuters", tmp_path, monkeypatch)
    keras_reuters = keras_module(monkeypatch, "reuters", source)
    (kx, ky), (kxt, kyt) = keras_reuters.load_data(**options)
    (x, y), (xt, yt) = reuters.load_data(**options, download=False)
    assert [list(s) for s in x] == [list(s) for s in kx]
    assert [list(s) for s in xt] == [list(s) for s in kxt]
    np.testing.assert_array_equal(y, ky)
    np.testing.assert_array_equal(yt, kyt)
