"""Downloaded sets as project datasets (``{"name": "mnist"}``), and training on uint8 images
without a float copy of the whole set."""

from __future__ import annotations

import numpy as np
import pytest

import engine
from engine import layers
from engine.data import BatchLoader, DataError, load_dataset, prepare
from engine.data.downloadable import stand_in
from engine.datasets import DatasetNotDownloaded, install_files
from tests.engine.datasets.archives import make_files, pin


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("LAYERCANVAS_CACHE_DIR", str(tmp_path / "cache"))


def install(name, tmp_path, monkeypatch):
    source = tmp_path / "files"
    truth = make_files(name, source)
    entry = pin(monkeypatch, name, source, "http://127.0.0.1:9")
    install_files(name, [source / f.name for f in entry.files])
    return truth


@pytest.mark.parametrize("name", ["mnist", "fashion_mnist", "cifar10", "cifar100", "imdb"])
def test_a_set_not_downloaded_says_how_to_get_it(cache, name):
    with pytest.raises(DatasetNotDownloaded) as err:
        load_dataset({"name": name})
    assert isinstance(err.value, DataError)  # the CLI and the app show it as one line
    assert f"layercanvas datasets download {name}" in str(err.value)
    assert err.value.name == name


def test_mnist_project_dataset_keeps_uint8_and_batches_become_float(cache, tmp_path, monkeypatch):
    truth = install("mnist", tmp_path, monkeypatch)
    ds = load_dataset({"name": "mnist", "validation_split": 0.25, "seed": 3})
    assert ds.x.dtype == np.uint8 and ds.input_shape == (1, 28, 28)
    assert ds.class_names == [str(d) for d in range(10)] and ds.y.dtype == np.int64
    np.testing.assert_array_equal(ds.x[:, 0], truth["x_train"])  # the training split only
    data = prepare(ds)
    assert data.train.x.dtype == np.uint8 and len(data.validation) == 50
    # Keras's validation_split: the last block; both splits are views of the loaded images.
    assert np.shares_memory(data.train.x, ds.x) and np.shares_memory(data.validation.x, ds.x)
    np.testing.assert_array_equal(data.validation.x, ds.x[150:])
    loader = data.train_loader(batch_size=16, prefetch=False)
    assert loader.x is data.train.x  # epochs index into it; nothing is copied per epoch
    order = loader.order(0)
    xb, yb = next(iter(loader.epoch(0)))
    assert xb.dtype == np.float32
    np.testing.assert_array_equal(xb, data.train.x[order[:16]].astype(np.float32))
    np.testing.assert_array_equal(yb, data.train.y[order[:16]])


def test_a_small_cnn_trains_on_uint8_images(cache, tmp_path, monkeypatch):
    install("mnist", tmp_path, monkeypatch)
    data = prepare(load_dataset({"name": "mnist", "validation_split": 0.2}))
    model = engine.Sequential(
        [
            engine.Input((1, 28, 28)),
            layers.BatchNormalization(),  # scales the 0-255 pixels, batch by batch
            layers.Conv2D(4, 3, activation="relu"),
            layers.MaxPooling2D(2),
            layers.Flatten(),
            layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(
        data.train.x,
        data.train.y,
        epochs=2,
        batch_size=32,
        validation_data=(data.validation.x, data.validation.y),
        verbose=0,
    )
    assert len(history.history["val_accuracy"]) == 2
    assert all(np.isfinite(history.history["loss"]))
    # The same numbers whether the images come as uint8 or as float32.
    x = data.validation.x[:8]
    np.testing.assert_allclose(
        model.predict(x), model.predict(x.astype(np.float32)), rtol=1e-6, atol=1e-7
    )


def test_imdb_project_dataset_is_padded_word_ids(cache, tmp_path, monkeypatch):
    install("imdb", tmp_path, monkeypatch)
    ds = load_dataset({"name": "imdb", "num_words": 100, "maxlen": 20, "validation_split": 0.2})
    assert ds.x.shape == (40, 20) and ds.x.dtype == np.int64
    assert ds.x.max() < 100 and ds.vocabulary_size == 100
    assert ds.class_names == ["negative", "positive"]
    with pytest.raises(DataError, match="maxlen must be an integer from 1"):
        load_dataset({"name": "imdb", "maxlen": 0})


def test_stand_ins_have_the_real_shapes():
    assert stand_in("cifar10", {}).input_shape == (3, 32, 32)
    assert stand_in("mnist", {}).num_classes == 10
    text = stand_in("imdb", {"num_words": 500, "maxlen": 80})
    assert text.input_shape == (80,) and text.vocabulary_size == 500
    assert stand_in("cifar100", {"label_mode": "coarse"}).num_classes == 20


def test_batch_loader_converts_uint8_per_batch_only():
    x = np.arange(10 * 4, dtype=np.uint8).reshape(10, 4)
    loader = BatchLoader(x, np.arange(10), batch_size=4, shuffle=False, prefetch=False)
    batches = [xb for xb, _ in loader.epoch(0)]
    assert all(b.dtype == np.float32 for b in batches)
    np.testing.assert_array_equal(np.concatenate(batches), x.astype(np.float32))
    assert loader.x is x


@pytest.mark.parametrize("name", ["fashion_mnist", "cifar10", "cifar100"])
def test_image_sets_give_their_training_split(cache, tmp_path, monkeypatch, name):
    from engine.datasets import cifar10, cifar100

    truth = install(name, tmp_path, monkeypatch)
    monkeypatch.setattr(cifar10, "RECORDS_PER_BATCH", 10)
    monkeypatch.setattr(cifar100, "TRAIN_RECORDS", 50)
    ds = load_dataset({"name": name})
    assert ds.x.dtype == np.uint8 and ds.y.dtype == np.int64
    if name == "fashion_mnist":
        np.testing.assert_array_equal(ds.x[:, 0], truth["train"][0])
        assert ds.class_names[-1] == "Ankle boot"
    else:
        np.testing.assert_array_equal(ds.x, truth["x"][:50])
        fine = truth["labels"][:50, -1]
        np.testing.assert_array_equal(ds.y, fine)
        assert len(ds.class_names) == (10 if name == "cifar10" else 100)
