"""ImageDataGenerator: vectorised affine resampling, seeded, shape/dtype/label preserving."""

import numpy as np
import pytest

from engine.data import DataError, ImageDataGenerator


def images(n=16, c=3, h=9, w=11, seed=0):
    return np.random.default_rng(seed).random((n, c, h, w)).astype(np.float32)


def identity_params(n):
    """Parameters that change nothing (separate arrays, so a test can edit one)."""
    params = {k: np.zeros(n) for k in ("theta", "shift_x", "shift_y", "shear")}
    params.update({k: np.ones(n) for k in ("zoom_x", "zoom_y", "brightness")})
    params.update({k: np.zeros(n, bool) for k in ("flip_horizontal", "flip_vertical")})
    return params


def test_identity_when_all_ranges_are_zero():
    x = images()
    out = ImageDataGenerator().random_transform_batch(x, np.random.default_rng(0))
    assert np.array_equal(out, x) and out is not x
    # The resampling path itself is exact for the identity, in every fill mode.
    for mode in ("nearest", "constant", "reflect", "wrap"):
        for interpolation in ("bilinear", "nearest"):
            gen = ImageDataGenerator(rotation_range=10, fill_mode=mode, interpolation=interpolation)
            assert np.array_equal(gen.apply_transform_batch(x, identity_params(len(x))), x)


def test_horizontal_and_vertical_flips_are_exact():
    x = images()
    gen = ImageDataGenerator(horizontal_flip=True)
    params = identity_params(len(x))
    params["flip_horizontal"][:] = True
    assert np.array_equal(gen.apply_transform_batch(x, params), x[..., ::-1])
    params = identity_params(len(x))
    params["flip_vertical"][:] = True
    assert np.array_equal(
        ImageDataGenerator(vertical_flip=True).apply_transform_batch(x, params), x[..., ::-1, :]
    )
    # Random flips: each image comes back either unchanged or mirrored, and both happen.
    out = gen.random_transform_batch(x, np.random.default_rng(1))
    flipped = [np.array_equal(o, i[..., ::-1]) for o, i in zip(out, x)]
    same = [np.array_equal(o, i) for o, i in zip(out, x)]
    assert all(f or s for f, s in zip(flipped, same)) and any(flipped) and any(same)


def test_random_transforms_change_pixels_keep_shape_and_are_seeded():
    x = images()
    gen = ImageDataGenerator(
        rotation_range=30, width_shift_range=0.2, height_shift_range=2, zoom_range=0.2,
        shear_range=10, brightness_range=(0.8, 1.2), gaussian_noise=0.01,
    )  # fmt: skip
    a = gen.random_transform_batch(x, np.random.default_rng(3))
    b = gen.random_transform_batch(x, np.random.default_rng(3))
    c = gen.random_transform_batch(x, np.random.default_rng(4))
    assert a.shape == x.shape and a.dtype == x.dtype
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert np.mean(np.abs(a - x)) > 0.05
    assert np.isfinite(a).all()


def test_rotation_by_90_degrees_matches_rot90():
    x = images(n=4, c=2, h=7, w=7)
    params = identity_params(4)
    params["theta"][:] = 90.0
    out = ImageDataGenerator(rotation_range=90).apply_transform_batch(x, params)
    candidates = [np.rot90(x, k, axes=(2, 3)) for k in (1, 3)]
    assert any(np.allclose(out, r, atol=1e-5) for r in candidates)


def test_shift_moves_content_and_fills():
    x = np.zeros((1, 1, 5, 5), np.float32)
    x[0, 0, 2, 2] = 1.0
    params = identity_params(1)
    params["shift_x"][:] = 1.0
    out = ImageDataGenerator(width_shift_range=1, fill_mode="constant").apply_transform_batch(
        x, params
    )
    assert out[0, 0, 2, 3] == 1.0 and out.sum() == 1.0


def test_integer_images_and_grey_batches_keep_dtype():
    x = (images(c=1) * 255).astype(np.uint8)
    out = ImageDataGenerator(rotation_range=20).random_transform_batch(x, np.random.default_rng(0))
    assert out.dtype == np.uint8 and out.shape == x.shape
    grey = images(c=1)[:, 0]
    out = ImageDataGenerator(zoom_range=0.3).random_transform_batch(grey, np.random.default_rng(0))
    assert out.shape == grey.shape


def test_flow_keeps_labels_with_their_images():
    x = images(n=20)
    y = np.arange(20)
    gen = ImageDataGenerator(horizontal_flip=True, seed=2)
    for xb, yb in gen.flow(x, y, batch_size=6).epoch(0):
        for img, label in zip(xb, yb):
            assert np.array_equal(img, x[label]) or np.array_equal(img, x[label][..., ::-1])


def test_config_round_trip_and_errors():
    gen = ImageDataGenerator(rotation_range=15, zoom_range=[0.9, 1.2], horizontal_flip=True)
    again = ImageDataGenerator.from_config(gen.get_config())
    assert again.get_config() == gen.get_config()
    with pytest.raises(DataError, match="unknown option.*'rotation'"):
        ImageDataGenerator.from_config({"rotation": 10})
    with pytest.raises(DataError, match="fill_mode"):
        ImageDataGenerator(fill_mode="mirror")
    with pytest.raises(DataError, match="rotation_range must be a number >= 0"):
        ImageDataGenerator(rotation_range=-5)
    with pytest.raises(DataError, match="image augmentation needs"):
        ImageDataGenerator(horizontal_flip=True).random_transform_batch(np.zeros((3, 4)))
