"""ONNX export refuses a model whose weights are NaN or infinite, unless asked to export it
anyway; the file gets the permissions a plain open() gives (issue 15)."""

import os

import numpy as np
import pytest

import engine
from engine.layers import Dense
from engine.onnx import ExportError, export_model
from engine.onnx.export import NonFiniteWeightsError


def _model():
    engine.set_random_seed(0)
    model = engine.Sequential([engine.Input((3,)), Dense(4, activation="relu", name="hidden")])
    model.add(Dense(2, name="head"))
    return model


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_nan_weights_are_refused_naming_the_layer_and_count(tmp_path):
    model = _model()
    model.get_layer("head").kernel.data[0, :] = np.nan
    model.get_layer("head").bias.data[1] = np.inf
    path = tmp_path / "m.onnx"
    expected = r"3 weight values in head \(3 values\)"
    with pytest.raises(NonFiniteWeightsError, match=expected) as info:
        export_model(model, path)
    assert isinstance(info.value, ExportError) and info.value.found == [("head", 3)]
    assert not path.exists() and not list(tmp_path.iterdir())  # no temporary file left


def test_allowed_nan_weights_export_and_verify_where_finite(tmp_path):
    model = _model()
    model.get_layer("head").kernel.data[:, 0] = np.nan  # output 0 is NaN, output 1 is not
    path = tmp_path / "m.onnx"
    report = export_model(model, path, allow_nonfinite=True)
    assert report is not None and report.max_relative_error < 1e-4
    assert path.is_file()
    import onnxruntime as ort  # noqa: PLC0415

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    x = np.ones((2, 3), np.float32)
    (got,) = session.run(None, {session.get_inputs()[0].name: x})
    assert np.isnan(got[:, 0]).all() and np.isfinite(got[:, 1]).all()


def test_an_exported_file_gets_the_umask_mode(tmp_path):
    path = tmp_path / "m.onnx"
    export_model(_model(), path, verify=False)
    assert path.stat().st_mode & 0o777 == 0o666 & ~_umask()
