"""load_dataset (the project file's dataset dict) and prepare (splits, normalisation, loaders)."""

import json
import struct

import numpy as np
import pytest
from PIL import Image

from engine.data import (
    DataError,
    ImageDataGenerator,
    load_builtin,
    load_dataset,
    prepare,
    prepare_dataset,
)


def test_builtin_spec_with_options():
    ds = load_dataset({"name": "digits", "validation_split": 0.2, "seed": 0})
    assert ds.name == "digits" and ds.options["validation_split"] == 0.2
    assert ds.options["normalization"] is None and ds.options["test_split"] == 0.0
    moons = load_dataset({"name": "moons", "n_samples": 80, "noise": 0.3, "seed": 4})
    assert len(moons) == 80
    assert np.array_equal(moons.x, load_builtin("moons", n_samples=80, noise=0.3, seed=4).x)


def test_every_file_format_resolves_relative_paths(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "houses.csv").write_text("area,price\n1,10\n2,20\n3,30\n4,40\n5,50\n")
    np.savez(tmp_path / "data" / "a.npz", x=np.ones((5, 2)), y=np.arange(5))
    np.save(tmp_path / "x.npy", np.ones((5, 2)))
    np.save(tmp_path / "y.npy", np.arange(5))
    for cls in ("a", "b"):
        for i in range(3):
            (tmp_path / "photos" / cls).mkdir(parents=True, exist_ok=True)
            Image.new("RGB", (6, 6), (i * 40, 0, 0)).save(tmp_path / "photos" / cls / f"{i}.png")
    head = bytes([0, 0, 8, 3]) + struct.pack(">3I", 4, 2, 2)
    (tmp_path / "img.idx").write_bytes(head + bytes(16))
    (tmp_path / "lab.idx").write_bytes(bytes([0, 0, 8, 1]) + struct.pack(">I", 4) + bytes(4))
    (tmp_path / "t.csv").write_text("text,label\ngood film,pos\nbad film,neg\nfine,pos\n")
    specs = [
        {"format": "csv", "path": "data/houses.csv", "target": "price", "task": "regression"},
        {"format": "npz", "path": "data/a.npz"},
        {"format": "npy", "path": "x.npy", "labels": "y.npy"},
        {"format": "images", "path": "photos/", "size": [4, 4], "color": "grayscale"},
        {"format": "idx", "images": "img.idx", "labels": "lab.idx"},
        {"format": "idx", "path": "img.idx", "labels": "lab.idx"},
        {"format": "text_csv", "path": "t.csv", "text_column": "text", "target": "label",
         "num_words": 100, "max_length": 5},
    ]  # fmt: skip
    shapes = [(1,), (2,), (2,), (1, 4, 4), (1, 2, 2), (1, 2, 2), (5,)]
    for spec, shape in zip(specs, shapes):
        ds = load_dataset(spec, tmp_path)
        assert ds.input_shape == shape, spec
        assert ds.metadata["spec"] == spec
        json.dumps(ds.info())
    absolute = {"format": "npz", "path": str(tmp_path / "data" / "a.npz")}
    assert len(load_dataset(absolute, base_dir="/elsewhere")) == 5


def test_unknown_and_missing_keys_are_named(tmp_path):
    with pytest.raises(DataError, match=r"unknown key\(s\) 'targt', 'xx' for format 'csv'"):
        load_dataset({"format": "csv", "path": "a.csv", "targt": "y", "xx": 1}, tmp_path)
    with pytest.raises(DataError, match=r"unknown key\(s\) 'noize' for built-in dataset 'moons'"):
        load_dataset({"name": "moons", "noize": 0.1})
    with pytest.raises(DataError, match="format 'idx' needs 'labels'"):
        load_dataset({"format": "idx", "images": "a"}, tmp_path)
    with pytest.raises(DataError, match="unknown format 'xlsx'"):
        load_dataset({"format": "xlsx", "path": "a.xlsx"})
    with pytest.raises(DataError, match="give either 'name'"):
        load_dataset({"validation_split": 0.1})
    with pytest.raises(DataError, match="unknown built-in dataset 'svhn'"):
        load_dataset({"name": "svhn"})
    with pytest.raises(DataError, match="houses.csv: file not found"):
        load_dataset({"format": "csv", "path": "houses.csv"}, tmp_path)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"format": "text_csv", "text_column": "t", "target": "y", "num_words": "many"},
         "'num_words' must be an integer >= 3"),
        ({"format": "csv", "skip_bad_rows": "yes"}, "'skip_bad_rows' must be true or false"),
        ({"format": "images", "size": 32}, r"'size' must be \[height, width\]"),
        ({"format": "csv", "path": 5}, "'path' must be a file path"),
    ],
)  # fmt: skip
def test_option_types_are_checked(extra, message):
    spec = {"path": "a.csv", **extra}
    with pytest.raises(DataError, match=message):
        load_dataset(spec, "/nowhere")


def test_bad_pipeline_options():
    with pytest.raises(DataError, match="validation_split must be a number"):
        load_dataset({"name": "iris", "validation_split": 2})
    with pytest.raises(DataError, match="normalization must be one of"):
        load_dataset({"name": "iris", "normalization": "zscore"})
    with pytest.raises(DataError, match="augmentation: unknown option"):
        load_dataset({"name": "digits", "augmentation": {"rotate": 5}})
    with pytest.raises(DataError, match="augmentation applies to images"):
        load_dataset({"name": "iris", "augmentation": {"horizontal_flip": True}})
    with pytest.raises(DataError, match="cannot apply to int64 inputs"):
        load_dataset({"name": "sentiment", "normalization": "standardize"})
    with pytest.raises(DataError, match="seed must be"):
        load_dataset({"name": "iris", "seed": -1})


def test_prepare_from_project_options():
    data = prepare_dataset(
        {
            "name": "digits",
            "validation_split": 0.2,
            "test_split": 0.1,
            "seed": 3,
            "normalization": "minmax",
            "augmentation": {"rotation_range": 10, "width_shift_range": 0.1},
        }
    )
    assert (len(data.train), len(data.validation), len(data.test)) == (1258, 359, 180)
    assert data.normalization["method"] == "minmax" and data.seed == 3
    assert isinstance(data.augmentation, ImageDataGenerator)
    train = data.train_loader(64)
    xb, yb = next(iter(train.epoch(0)))
    assert xb.shape == (64, 1, 8, 8) and xb.dtype == np.float32 and yb.dtype == np.int64
    assert train.augment is data.augmentation
    evaluation = data.eval_loader("validation", 100)
    assert evaluation.augment is None and not evaluation.shuffle
    assert np.array_equal(np.concatenate([x for x, _ in evaluation.epoch(0)]), data.validation.x)
    info = data.info()
    json.dumps(info)
    assert info["split_sizes"] == {"train": 1258, "validation": 359, "test": 180}
    with pytest.raises(DataError, match="no test split"):
        prepare(load_builtin("iris"), test_split=0.0).split("test")


def test_prepare_keyword_overrides():
    ds = load_dataset({"name": "iris", "normalization": "standardize", "validation_split": 0.1})
    data = prepare(ds, validation_split=0.5, normalization=None)
    assert len(data.validation) == 75 and data.normalization is None
    assert data.train.normalization is None
    gen = ImageDataGenerator(horizontal_flip=True)
    digits = prepare(load_builtin("digits"), augmentation=gen)
    assert digits.augmentation is gen
