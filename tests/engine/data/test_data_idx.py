"""IDX (MNIST format) import, parsed by hand: magic, dims, data size, gzip, pairing."""

import gzip
import struct

import numpy as np
import pytest

from engine.data import DataError, read_idx, read_idx_dataset


def idx_bytes(arr, code):
    dtype = {0x08: ">u1", 0x0B: ">i2", 0x0D: ">f4"}[code]
    header = bytes([0, 0, code, arr.ndim]) + struct.pack(f">{arr.ndim}I", *arr.shape)
    return header + arr.astype(dtype).tobytes()


def test_round_trip_types(tmp_path):
    for code, arr in (
        (0x08, np.arange(24, dtype=np.uint8).reshape(2, 3, 4)),
        (0x0B, np.array([[-300, 7]], dtype=np.int16)),
        (0x0D, np.array([1.5, -2.25], dtype=np.float32)),
    ):
        path = tmp_path / f"a{code}.idx"
        path.write_bytes(idx_bytes(arr, code))
        out = read_idx(path)
        assert np.array_equal(out, arr) and out.dtype.isnative


def test_images_and_labels_with_gzip(tmp_path):
    images = np.random.default_rng(0).integers(0, 256, (5, 4, 3), dtype=np.uint8)
    labels = np.array([3, 1, 4, 1, 5], dtype=np.uint8)
    with gzip.open(tmp_path / "train-images-idx3-ubyte.gz", "wb") as f:
        f.write(idx_bytes(images, 0x08))
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(idx_bytes(labels, 0x08))
    ds = read_idx_dataset(
        tmp_path / "train-images-idx3-ubyte.gz", tmp_path / "train-labels-idx1-ubyte"
    )
    assert ds.x.shape == (5, 1, 4, 3) and ds.x.dtype == np.float32
    assert np.allclose(ds.x[:, 0] * 255, images)
    assert ds.y.dtype == np.int64 and list(ds.y) == [3, 1, 4, 1, 5] and ds.num_classes == 6


def test_bad_files_are_named(tmp_path):
    bad = tmp_path / "bad.idx"
    bad.write_bytes(b"\x01\x02\x08\x01")
    with pytest.raises(DataError, match="bad.idx: not an IDX file"):
        read_idx(bad)
    short = tmp_path / "short.idx"
    short.write_bytes(idx_bytes(np.zeros((4, 2), np.uint8), 0x08)[:-3])
    with pytest.raises(DataError, match="short.idx: header says 4 x 2 values .* holds 5 bytes"):
        read_idx(short)
    gz = tmp_path / "fake.gz"
    gz.write_bytes(b"not gzip")
    with pytest.raises(DataError, match="fake.gz: not a readable gzip file"):
        read_idx(gz)
    images, labels = tmp_path / "img.idx", tmp_path / "lab.idx"
    images.write_bytes(idx_bytes(np.zeros((3, 2, 2), np.uint8), 0x08))
    labels.write_bytes(idx_bytes(np.zeros(2, np.uint8), 0x08))
    with pytest.raises(DataError, match="img.idx holds 3 images but lab.idx holds 2 labels"):
        read_idx_dataset(images, labels)
    with pytest.raises(DataError, match="lab.idx: images must be"):
        read_idx_dataset(labels, labels)


def test_decompressed_size_is_bounded(tmp_path):
    path = tmp_path / "bomb.gz"
    with gzip.open(path, "wb") as f:
        f.write(idx_bytes(np.zeros((100, 100, 10), np.uint8), 0x08))
    assert path.stat().st_size < 2000
    with pytest.raises(DataError, match=r"bomb.gz: header declares 100 x 100 x 10 .* the limit"):
        read_idx(path, max_bytes=10_000)
