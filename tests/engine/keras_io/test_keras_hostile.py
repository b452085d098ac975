"""Hostile or broken Keras files: each refused with one clear KerasImportError naming the
file and the problem, before anything large is read or anything runs."""

from __future__ import annotations

import json
import zipfile

import h5py
import numpy as np
import pytest

from engine.keras_io import KerasImportError, import_keras
from engine.user_errors import user_error_types


def _archive(path, members):
    with zipfile.ZipFile(path, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    return path


def _refused(path, match):
    with pytest.raises(KerasImportError, match=match) as info:
        import_keras(path)
    assert str(path) in str(info.value)
    assert isinstance(info.value, user_error_types())


def test_not_a_zip(tmp_path):
    path = tmp_path / "x.keras"
    path.write_bytes(b"hello")
    _refused(path, "not a zip file")


def test_missing_config_and_weights(tmp_path):
    _refused(_archive(tmp_path / "a.keras", {"metadata.json": "{}"}), "no config.json")
    config = {"class_name": "Sequential", "config": {"layers": []}}
    _refused(
        _archive(tmp_path / "b.keras", {"config.json": json.dumps(config)}), "no model.weights"
    )


def test_decompression_bomb_is_refused_from_the_directory(tmp_path):
    path = tmp_path / "bomb.keras"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("config.json", b"{" + b" " * 20_000_000 + b"}")
    _refused(path, "more than|expand")


def test_deeply_nested_json_is_refused(tmp_path):
    deep = "[" * 100_000 + "]" * 100_000
    _refused(_archive(tmp_path / "deep.keras", {"config.json": deep}), "not valid JSON")


def test_subclassed_model_is_refused(tmp_path):
    config = {"class_name": "MyModel", "config": {}}
    path = _archive(
        tmp_path / "sub.keras", {"config.json": json.dumps(config), "model.weights.h5": b""}
    )
    _refused(path, "HDF5|subclassed")


def test_weights_only_h5_is_refused(tmp_path):
    path = tmp_path / "w.h5"
    with h5py.File(path, "w") as f:
        f["dense/kernel"] = np.zeros((2, 2), dtype="float32")
    _refused(path, "weights-only")


def test_string_dataset_is_refused(tmp_path):
    path = tmp_path / "s.h5"
    with h5py.File(path, "w") as f:
        f.attrs["model_config"] = "{}"
        f["model_weights/x"] = np.array([b"abc"], dtype=object)
    _refused(path, "not numeric")


def test_folder_and_device_are_refused(tmp_path):
    _refused(tmp_path, "folder|not a regular|expected")
    _refused(tmp_path / "missing.keras", "not found")
