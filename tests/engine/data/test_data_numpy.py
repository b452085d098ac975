""".npz / .npy import: key pairs, layouts, targets, and refusing unsafe or bad archives."""

import zipfile

import numpy as np
import pytest

from engine.data import DataError, read_numpy


def test_npz_with_x_and_y(tmp_path):
    path = tmp_path / "arrays.npz"
    np.savez(path, x=np.ones((5, 3), np.float64), y=np.array([0, 1, 2, 1, 0], np.uint8))
    ds = read_numpy(path)
    assert ds.x.dtype == np.float32 and ds.x.shape == (5, 3)
    assert (
        ds.task == "classification" and ds.y.dtype == np.int64 and ds.class_names == ["0", "1", "2"]
    )
    assert ds.name == "arrays.npz"


def test_npz_train_keys_layouts_and_unused_note(tmp_path):
    path = tmp_path / "mnist.npz"
    images = np.arange(4 * 5 * 6, dtype=np.uint8).reshape(4, 5, 6)
    np.savez_compressed(
        path, x_train=images, y_train=np.arange(4), x_test=images[:1], y_test=np.arange(1)
    )
    ds = read_numpy(path, layout="add_channel")
    assert ds.x.shape == (4, 1, 5, 6) and ds.x.max() == images.max()  # values kept, not scaled
    assert any("x_test, y_test" in n for n in ds.notes)
    rgb = np.zeros((2, 4, 4, 3), np.float32)
    rgb[..., 2] = 1
    np.savez(tmp_path / "rgb.npz", X=rgb, Y=np.array([0.5, 1.5]))
    ds = read_numpy(tmp_path / "rgb.npz", layout="channels_last")
    assert ds.x.shape == (2, 3, 4, 4) and ds.x[:, 2].min() == 1
    assert ds.task == "regression" and ds.y.shape == (2, 1)


def test_one_hot_labels_and_token_ids(tmp_path):
    path = tmp_path / "onehot.npz"
    np.savez(path, x=np.arange(6).reshape(3, 2), y=np.eye(3, dtype=np.float32)[[2, 0, 1]])
    ds = read_numpy(path, x_dtype="int64")
    assert ds.x.dtype == np.int64 and list(ds.y) == [2, 0, 1] and ds.task == "classification"
    assert any("one-hot" in n for n in ds.notes)


def test_npy_pair(tmp_path):
    np.save(tmp_path / "x.npy", np.ones((3, 2)))
    np.save(tmp_path / "y.npy", np.array([1.0, 2.0, 3.0]))
    ds = read_numpy(tmp_path / "x.npy", labels=tmp_path / "y.npy")
    assert ds.task == "regression" and ds.y.shape == (3, 1)
    with pytest.raises(DataError, match="x.npy: a .npy file holds one array; give the labels"):
        read_numpy(tmp_path / "x.npy")


def test_mismatched_lengths_name_the_file(tmp_path):
    path = tmp_path / "bad.npz"
    np.savez(path, x=np.ones((5, 2)), y=np.zeros(4, np.int64))
    with pytest.raises(DataError, match=r"bad.npz \(x, y\): x has 5 samples but y has 4"):
        read_numpy(path)


def test_nan_names_the_file_and_sample(tmp_path):
    x = np.ones((4, 2))
    x[2, 0] = np.nan
    np.savez(tmp_path / "nan.npz", x=x, y=np.zeros(4, np.int64))
    with pytest.raises(DataError, match="dataset 'nan.npz': x contains NaN at sample 3"):
        read_numpy(tmp_path / "nan.npz")


def test_missing_keys_and_pickled_objects_are_refused(tmp_path):
    np.savez(tmp_path / "keys.npz", inputs=np.ones((2, 2)), labels=np.zeros(2))
    with pytest.raises(DataError, match="keys.npz: expected arrays named x and y.*inputs, labels"):
        read_numpy(tmp_path / "keys.npz")
    objects = np.empty(2, dtype=object)
    objects[:] = [{"a": 1}, None]
    np.savez(tmp_path / "pickled.npz", x=np.ones((2, 2)), y=objects)
    with pytest.raises(DataError, match="pickled.npz: .*Python objects"):
        read_numpy(tmp_path / "pickled.npz")
    np.save(tmp_path / "obj.npy", objects, allow_pickle=True)
    np.save(tmp_path / "x.npy", np.ones((2, 2)))
    with pytest.raises(DataError, match="obj.npy: it holds Python objects"):
        read_numpy(tmp_path / "x.npy", labels=tmp_path / "obj.npy")


def test_archive_members_and_size_are_checked(tmp_path):
    evil = tmp_path / "evil.npz"
    with zipfile.ZipFile(evil, "w") as z:
        z.writestr("../x.npy", b"")
    with pytest.raises(DataError, match="evil.npz: unexpected archive member '../x.npy'"):
        read_numpy(evil)
    big = tmp_path / "zeros.npz"
    np.savez_compressed(big, x=np.zeros((1000, 100)), y=np.zeros(1000, np.int64))
    assert big.stat().st_size < 10_000
    with pytest.raises(DataError, match="zeros.npz: its arrays take .* uncompressed"):
        read_numpy(big, max_bytes=100_000)
    (tmp_path / "junk.npz").write_bytes(b"not a zip at all")
    with pytest.raises(DataError, match="junk.npz: not a valid .npz archive"):
        read_numpy(tmp_path / "junk.npz")
