"""Normalisation specs: statistics per feature/channel, JSON-able, applied identically later."""

import json

import numpy as np
import pytest

from engine.data import (
    DataError,
    apply_normalization,
    fit_normalization,
    invert_normalization,
    load_builtin,
    prepare,
    split_dataset,
)
from engine.data.normalization import validate_normalization


def test_standardize_tabular_per_feature():
    rng = np.random.default_rng(0)
    x = (rng.normal(size=(200, 3)) * [1, 10, 100] + [5, -5, 50]).astype(np.float32)
    spec = fit_normalization(x, "standardize")
    json.dumps(spec)
    assert spec["axis"] == 1 and len(spec["mean"]) == 3
    z = apply_normalization(x, spec)
    assert z.dtype == np.float32
    assert np.allclose(z.mean(axis=0), 0, atol=1e-5) and np.allclose(z.std(axis=0), 1, atol=1e-4)
    assert np.allclose(invert_normalization(z, spec), x, rtol=1e-5, atol=1e-3)


def test_minmax_images_per_channel_and_sequences_per_feature():
    rng = np.random.default_rng(1)
    images = rng.uniform(-3, 7, size=(10, 3, 4, 4)).astype(np.float32)
    spec = fit_normalization(images, "minmax")
    assert spec["axis"] == 1 and len(spec["min"]) == 3
    z = apply_normalization(images, spec)
    assert np.allclose(z.min(axis=(0, 2, 3)), 0) and np.allclose(z.max(axis=(0, 2, 3)), 1)
    seq = rng.normal(size=(6, 5, 2)).astype(np.float32)
    assert fit_normalization(seq, "standardize")["axis"] == 2


def test_constant_feature_does_not_divide_by_zero():
    x = np.ones((5, 2), np.float32)
    x[:, 1] = np.arange(5)
    for method in ("standardize", "minmax"):
        z = apply_normalization(x, fit_normalization(x, method))
        assert np.isfinite(z).all() and np.all(z[:, 0] == 0)


def test_none_and_bad_inputs():
    x = np.ones((3, 2), np.float32)
    assert fit_normalization(x, None) is None and fit_normalization(x, "none") is None
    assert apply_normalization(x, None) is x
    with pytest.raises(DataError, match="unknown normalization 'zscore'"):
        fit_normalization(x, "zscore")
    with pytest.raises(DataError, match="token ids"):
        fit_normalization(np.ones((3, 2), np.int64), "standardize")
    spec = fit_normalization(x, "standardize")
    with pytest.raises(DataError, match="fitted on 2 features"):
        apply_normalization(np.ones((3, 5), np.float32), spec)
    with pytest.raises(DataError, match="std must be positive"):
        validate_normalization({"method": "standardize", "axis": 1, "mean": [0], "std": [0]})
    with pytest.raises(DataError, match="lacks"):
        validate_normalization({"method": "minmax", "axis": 1, "min": [0]})


def test_statistics_come_from_the_training_split_only():
    ds = load_builtin("wine")
    data = prepare(ds, validation_split=0.3, test_split=0.2, seed=4, normalization="standardize")
    raw = split_dataset(ds, 0.3, 0.2, seed=4)  # the same seeded split, unnormalised
    expected = fit_normalization(raw.train.x, "standardize")
    assert data.normalization == expected
    assert not np.allclose(expected["mean"], fit_normalization(ds.x, "standardize")["mean"])
    assert np.allclose(data.train.x.mean(axis=0), 0, atol=1e-4)
    assert np.array_equal(data.validation.x, apply_normalization(raw.validation.x, expected))
    assert np.array_equal(data.test.x, apply_normalization(raw.test.x, expected))
    for part in (data.train, data.validation, data.test):
        assert part.normalization == data.normalization
    assert data.dataset.normalization is None  # the loaded set itself stays raw
