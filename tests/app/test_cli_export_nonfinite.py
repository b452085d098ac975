"""``layercanvas export`` on a model with NaN weights: one clear line naming the layers and
``--allow-nonfinite``, exit 1, nothing written; with the flag, a warning line and the file."""

import warnings

import numpy as np

import engine
from app import cli
from engine.layers import Dense


def _nan_model_file(tmp_path):
    engine.set_random_seed(0)
    model = engine.Sequential([engine.Input((2,)), Dense(3, name="hidden"), Dense(2, name="out")])
    model.get_layer("hidden").kernel.data[1, :] = np.nan
    path = tmp_path / "diverged.lcmodel"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the model file's own writer may warn: not tested here
        model.save(path)
    return path


def test_export_refuses_nan_weights_in_one_line(capsys, tmp_path):
    source = _nan_model_file(tmp_path)
    target = tmp_path / "out.onnx"
    code = cli.main(["export", str(source), "--onnx", str(target)])
    out, err = capsys.readouterr()
    assert code == 1
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    assert lines[0].startswith(f"layercanvas: error: cannot export {source}: ")
    assert "3 weight values in hidden (3 values) are NaN or infinite" in lines[0]
    assert "--allow-nonfinite" in lines[0]
    assert not target.exists()


def test_allow_nonfinite_exports_with_a_warning_line(capsys, tmp_path):
    source = _nan_model_file(tmp_path)
    target = tmp_path / "out.onnx"
    code = cli.main(["export", str(source), "--onnx", str(target), "--allow-nonfinite"])
    out, err = capsys.readouterr()
    assert code == 0, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("layercanvas: warning: exported")
    assert "hidden (3 values)" in lines[0]
    assert target.is_file() and "onnxruntime matches predict" in out
