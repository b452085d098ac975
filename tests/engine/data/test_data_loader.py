"""BatchLoader: seeded per-epoch shuffles, drop_last, multi-array batches, prefetch parity."""

import threading

import numpy as np
import pytest

from engine.data import BatchLoader, DataError, ImageDataGenerator


def data(n=10):
    x = np.arange(n * 2, dtype=np.float32).reshape(n, 2)
    return x, np.arange(n, dtype=np.int64)


def order(loader, epoch):
    return np.concatenate([yb for _, yb in loader.epoch(epoch)])


def test_len_and_batch_sizes():
    x, y = data(10)
    loader = BatchLoader(x, y, batch_size=4, prefetch=False)
    assert len(loader) == 3
    assert [len(yb) for _, yb in loader.epoch(0)] == [4, 4, 2]
    dropped = BatchLoader(x, y, batch_size=4, drop_last=True, prefetch=False)
    assert len(dropped) == 2
    sizes = [len(yb) for _, yb in dropped.epoch(0)]
    assert sizes == [4, 4]


def test_every_sample_once_and_x_matches_y():
    x, y = data(23)
    for xb, yb in BatchLoader(x, y, batch_size=5, seed=3).epoch(2):
        assert np.array_equal(xb, x[yb])
    assert sorted(order(BatchLoader(x, y, 5, seed=3), 2)) == list(range(23))


def test_order_reproducible_by_seed_and_different_across_epochs():
    x, y = data(50)
    a, b = BatchLoader(x, y, 8, seed=11), BatchLoader(x, y, 8, seed=11)
    assert np.array_equal(order(a, 0), order(b, 0))
    assert np.array_equal(order(a, 3), order(b, 3))
    assert not np.array_equal(order(a, 0), order(a, 1))
    assert not np.array_equal(order(a, 0), order(BatchLoader(x, y, 8, seed=12), 0))
    # A plain for-loop runs epochs 0, 1, 2, ... in turn.
    first = np.concatenate([yb for _, yb in a])
    second = np.concatenate([yb for _, yb in a])
    assert np.array_equal(first, order(b, 0)) and np.array_equal(second, order(b, 1))


def test_no_shuffle_keeps_order():
    x, y = data(7)
    assert list(order(BatchLoader(x, y, 3, shuffle=False), 5)) == list(range(7))


def test_prefetch_gives_the_same_batches_as_serial():
    x = np.random.default_rng(0).random((37, 1, 6, 6)).astype(np.float32)
    y = np.arange(37)
    aug = ImageDataGenerator(rotation_range=20, horizontal_flip=True, gaussian_noise=0.05)
    fast = BatchLoader(x, y, 8, seed=5, augment=aug, prefetch=True)
    slow = BatchLoader(x, y, 8, seed=5, augment=aug, prefetch=False)
    for epoch in (0, 1):
        pairs = list(zip(fast.epoch(epoch), slow.epoch(epoch), strict=True))
        assert len(pairs) == 5
        for (xa, ya), (xb, yb) in pairs:
            assert np.array_equal(xa, xb) and np.array_equal(ya, yb)


def test_prefetch_runs_in_a_background_thread_and_stops_early():
    x, y = data(100)
    seen = []

    def record(xb, rng):
        seen.append(threading.current_thread().name)
        return xb

    loader = BatchLoader(x[:, :, None, None], y, 10, augment=record, prefetch=True)
    before = threading.active_count()
    for i, _ in enumerate(loader.epoch(0)):
        if i == 2:
            break
    assert set(seen) == {"BatchLoader-prefetch"}
    assert threading.active_count() == before  # the worker finished after the early stop


def test_errors_in_the_worker_reach_the_caller():
    x, y = data(10)

    def broken(xb, rng):
        raise RuntimeError("augmentation failed")

    with pytest.raises(RuntimeError, match="augmentation failed"):
        list(BatchLoader(x, y, 4, augment=broken).epoch(0))


def test_multi_input_and_output_and_no_labels():
    x1, y = data(9)
    x2 = np.arange(9, dtype=np.float32)[:, None] * 10
    y2 = y * 2.0
    loader = BatchLoader([x1, x2], (y, y2), 4, seed=1)
    for (a, b), (c, d) in loader.epoch(0):
        assert np.array_equal(a, x1[c]) and np.array_equal(b[:, 0], c * 10.0)
        assert np.array_equal(d, c * 2.0)
    batches = list(BatchLoader(x1, None, 4, shuffle=False).epoch(0))
    assert batches[0][1] is None and np.array_equal(batches[0][0], x1[:4])


def test_bad_arguments():
    x, y = data(5)
    with pytest.raises(DataError, match="same number of samples"):
        BatchLoader(x, y[:4], 2)
    with pytest.raises(DataError, match="same number of samples"):
        BatchLoader([x, x[:3]], y, 2)
    with pytest.raises(DataError, match="batch_size must be at least 1"):
        BatchLoader(x, y, 0)
    with pytest.raises(DataError, match="single image input"):
        BatchLoader([x, x], y, 2, augment=ImageDataGenerator(horizontal_flip=True))
