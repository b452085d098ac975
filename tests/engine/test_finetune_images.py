"""Image folders normalised with a pre-trained model's mean/std, and what an imported model
records of its expected inputs (engine.onnx.input_preprocessing)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from engine.data import DataError, load_dataset, read_image_folder
from engine.onnx.input_preprocessing import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    parse_numbers,
    preprocessing_of,
    suggested,
)


@pytest.fixture
def folder(tmp_path):
    rng = np.random.default_rng(0)
    root = tmp_path / "photos"
    for name in ("cats", "dogs"):
        (root / name).mkdir(parents=True)
        for i in range(3):
            pixels = rng.integers(0, 256, (10, 12, 3), dtype=np.uint8)
            Image.fromarray(pixels, "RGB").save(root / name / f"{i}.png")
    return root


def test_mean_and_std_normalise_each_channel_after_scaling(folder):
    raw = read_image_folder(folder, size=(8, 8), color="rgb")
    mean, std = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
    normal = read_image_folder(folder, size=(8, 8), color="rgb", mean=mean, std=std)
    want = (raw.x - np.array(mean, np.float32)[:, None, None]) / np.array(std, np.float32)[
        :, None, None
    ]
    np.testing.assert_allclose(normal.x, want, rtol=1e-6, atol=1e-6)
    assert normal.x.dtype == np.float32
    assert normal.metadata["mean"] == pytest.approx(mean)
    assert normal.metadata["std"] == pytest.approx(std)
    # One value applies to every channel.
    one = read_image_folder(folder, size=(8, 8), color="rgb", mean=[0.5], std=[0.5])
    np.testing.assert_allclose(one.x, (raw.x - 0.5) / 0.5, atol=1e-6)


def test_a_project_dataset_takes_mean_and_std(folder):
    spec = {"format": "images", "path": "photos", "size": [8, 8], "color": "grayscale"}
    plain = load_dataset(spec, base_dir=folder.parent)
    normal = load_dataset({**spec, "mean": [0.5], "std": [0.25]}, base_dir=folder.parent)
    np.testing.assert_allclose(normal.x, (plain.x - 0.5) / 0.25, atol=1e-6)
    with pytest.raises(DataError, match="'std' must be a list of positive numbers"):
        load_dataset({**spec, "std": [0.0]}, base_dir=folder.parent)
    with pytest.raises(DataError, match="'mean' must be a list of numbers"):
        load_dataset({**spec, "mean": "0.5"}, base_dir=folder.parent)


def test_mean_of_the_wrong_length_names_the_channels(folder):
    with pytest.raises(DataError, match="mean has 3 values but the images have 1 channel"):
        read_image_folder(folder, size=(8, 8), color="grayscale", mean=[0.1, 0.2, 0.3])


def test_metadata_gives_mean_and_std_and_a_large_rgb_input_suggests_imagenet():
    pre = preprocessing_of((3, 32, 32), {"mean": "[0.5, 0.4, 0.3]", "std": "0.2,0.2,0.2"})
    assert pre.mean == [0.5, 0.4, 0.3] and pre.std == [0.2, 0.2, 0.2]
    assert pre.source == "the file's metadata"
    assert pre.dataset("photos") == {
        "format": "images",
        "path": "photos",
        "size": [32, 32],
        "color": "rgb",
        "mean": [0.5, 0.4, 0.3],
        "std": [0.2, 0.2, 0.2],
    }
    unknown = preprocessing_of((3, 224, 224), {"mean": "not numbers", "std": "1"})
    assert unknown.mean is None
    assert suggested(unknown) == (list(IMAGENET_MEAN), list(IMAGENET_STD))
    assert suggested(preprocessing_of((1, 28, 28), {})) is None
    assert preprocessing_of((10,), {}) is None  # not an image
    with pytest.raises(ValueError, match="std must be positive"):
        parse_numbers("0.2,-1,0.2", "std", 3)
    with pytest.raises(ValueError, match="mean has 2 values but the input has 3 channels"):
        parse_numbers("0.2,0.3", "mean", 3)
