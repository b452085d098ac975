"""Splits: sizes, stratification within one sample, seeds, ordered (time) data."""

import numpy as np
import pytest

from engine.data import DataError, Dataset, load_builtin, split_dataset, split_indices


def labelled(counts):
    y = np.concatenate([np.full(c, k) for k, c in enumerate(counts)]).astype(np.int64)
    x = np.arange(len(y), dtype=np.float32)[:, None]
    return Dataset(x=x, y=y, task="classification", name="t")


def test_sizes_and_disjoint_cover():
    ds = labelled([50, 30, 20])
    parts = split_dataset(ds, validation_split=0.2, test_split=0.1, seed=0)
    assert (len(parts.train), len(parts.validation), len(parts.test)) == (70, 20, 10)
    ids = np.concatenate([p.x[:, 0] for p in parts]).astype(int)
    assert sorted(ids) == list(range(100))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_stratified_class_proportions_within_one_sample(seed):
    counts = [61, 27, 9, 3]
    ds = labelled(counts)
    parts = split_dataset(ds, validation_split=0.25, test_split=0.15, seed=seed)
    n = len(ds)
    for part, fraction in ((parts.validation, 0.25), (parts.test, 0.15)):
        have = np.bincount(part.y, minlength=len(counts))
        want = np.array(counts) * len(part) / n
        assert np.all(np.abs(have - want) <= 1), (have, want)
        assert abs(len(part) - round(n * fraction)) <= 0
    have = np.bincount(parts.train.y, minlength=len(counts))
    assert np.all(np.abs(have - np.array(counts) * len(parts.train) / n) <= 1.5)


def test_seeded_and_different_across_seeds():
    ds = load_builtin("iris")
    a, b, c = (split_dataset(ds, 0.2, seed=s) for s in (7, 7, 8))
    assert np.array_equal(a.validation.x, b.validation.x)
    assert not np.array_equal(a.validation.x, c.validation.x)


def test_zero_fractions_give_none_and_regression_is_not_stratified():
    ds = load_builtin("sine", n_samples=50)
    parts = split_dataset(ds, validation_split=0.0)
    assert parts.validation is None and parts.test is None and len(parts.train) == 50
    parts = split_dataset(ds, validation_split=0.2, test_split=0.2)
    assert len(parts.validation) == 10 and len(parts.test) == 10
    with pytest.raises(DataError, match="only classification"):
        split_dataset(ds, stratify=True)


def test_ordered_data_is_split_in_blocks():
    ds = load_builtin("timeseries", n_samples=100, window=4)
    parts = split_dataset(ds, validation_split=0.2, test_split=0.1)
    assert np.array_equal(parts.train.x, ds.x[:70])
    assert np.array_equal(parts.validation.x, ds.x[70:90])
    assert np.array_equal(parts.test.x, ds.x[90:])


def test_bad_fractions():
    with pytest.raises(DataError, match="validation_split must be a number in"):
        split_indices(10, validation_split=1.5)
    with pytest.raises(DataError, match="leaves no training data"):
        split_indices(10, validation_split=0.6, test_split=0.4)
    with pytest.raises(DataError, match="too few"):
        split_indices(2, validation_split=0.3, test_split=0.3)
