"""``layercanvas import MODEL.keras`` and ``export --keras/--keras-code``: a Keras user's
round trip from the command line (Keras -> LayerCanvas -> train -> Keras), and one clear
line with nothing written for a model LayerCanvas cannot represent."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from app import cli
from engine.graph.project import load_project
from engine.io import load_model
from tests.engine.keras_reference import keras

pytestmark = [
    pytest.mark.filterwarnings("ignore::DeprecationWarning:keras.*"),
    pytest.mark.filterwarnings("ignore:Skipping variable loading:UserWarning"),
]


def run(capsys, *argv):
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_round_trip_keras_to_layercanvas_train_to_keras(tmp_path, capsys):
    rng = np.random.default_rng(0)
    model = keras.Sequential(
        [
            keras.Input((6, 6, 1)),
            keras.layers.Conv2D(3, 3, activation="relu"),
            keras.layers.Flatten(),
            keras.layers.Dense(2, activation="softmax"),
        ]
    )
    model.compile(
        optimizer=keras.optimizers.Adam(0.01),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    source = tmp_path / "small.keras"
    model.save(source)
    project_path = tmp_path / "small.lcproj"
    code, out, err = run(capsys, "import", source, "--out", project_path)
    assert code == 0, err
    assert "imported" in out and "Permute" in err  # the note says what was inserted
    project = load_project(project_path)
    assert project.training["optimizer"]["learning_rate"] == 0.01
    imported = load_model(project_path.with_suffix(".lcmodel"), compile=False)
    x = rng.random((8, 6, 6, 1)).astype("float32")
    np.testing.assert_allclose(imported.predict(x), model.predict(x, verbose=0), atol=1e-5)

    # Train in LayerCanvas on the user's own NHWC data (the project's dataset: an npz file).
    data = tmp_path / "data.npz"
    np.savez(data, x=rng.random((32, 6, 6, 1)).astype("float32"), y=rng.integers(0, 2, 32))
    raw = json.loads(project_path.read_text())
    raw["dataset"] = {"format": "npz", "path": "data.npz", "validation_split": 0.25}
    raw["training"]["epochs"] = 2
    project_path.write_text(json.dumps(raw))
    code, out, err = run(capsys, "train", project_path, "--out", tmp_path / "run", "--no-record")
    assert code == 0, err
    trained = sorted((tmp_path / "run").glob("*.lcmodel"))
    assert trained, list((tmp_path / "run").iterdir())

    # Back to Keras: the trained weights, equal outputs.
    out_path = tmp_path / "trained.keras"
    code, out, err = run(capsys, "export", trained[0], "--keras", out_path)
    assert code == 0, err
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        back = keras.saving.load_model(out_path)
    assert not [w for w in caught if "Skipping variable loading" in str(w.message)]
    engine_model = load_model(trained[0])
    np.testing.assert_allclose(back.predict(x, verbose=0), engine_model.predict(x), atol=1e-5)
    # Training resumes in Keras where LayerCanvas stopped: the Adam step count and moments.
    state = engine_model.optimizer.get_state()
    assert int(back.optimizer.iterations.numpy()) == int(state["iterations"]) > 0
    assert back.optimizer.learning_rate.numpy() == pytest.approx(0.01)
    kernel_momentum = back.optimizer.variables[2].numpy()  # Conv2D kernel, Keras layout
    np.testing.assert_allclose(kernel_momentum, state["m/0"].transpose(2, 3, 1, 0), atol=1e-7)

    code, out, err = run(capsys, "export", project_path, "--keras-code", tmp_path / "m.py")
    assert code == 0, err
    assert "keras.Sequential(" in (tmp_path / "m.py").read_text()


def test_lambda_model_is_refused_in_one_line_and_nothing_is_written(tmp_path, capsys):
    inp = keras.Input((3,))
    out = keras.layers.Dense(1)(keras.layers.Lambda(lambda t: t + 1, name="plus_one")(inp))
    source = tmp_path / "lam.keras"
    keras.Model(inp, out).save(source)
    project_path = tmp_path / "lam.lcproj"
    code, out, err = run(capsys, "import", source, "--out", project_path)
    assert code == 1
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in err
    assert "'plus_one' (Lambda)" in lines[0]
    assert not project_path.exists() and not project_path.with_suffix(".lcmodel").exists()


def test_export_needs_a_target(tmp_path, capsys):
    code, out, err = run(capsys, "export", tmp_path / "x.lcmodel")
    assert code == 1 and "--keras" in err
