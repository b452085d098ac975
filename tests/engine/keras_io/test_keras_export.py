"""LayerCanvas -> Keras: every shipped example exported as a .keras archive loads with
keras.saving.load_model and predicts what the engine predicts; the layer order written
matches the order Keras computes (else same-class layers would swap weights); the Keras
code export runs as a script."""

from __future__ import annotations

import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

from engine.graph.convert import model_from_document
from engine.graph.project import load_project
from engine.keras_io import export_keras, import_keras, keras_code
from engine.layers import Dense
from engine.layers.base import Input
from engine.models.functional import Model
from tests.engine.keras_reference import keras

pytestmark = [
    pytest.mark.filterwarnings("ignore::DeprecationWarning:keras.*"),
    pytest.mark.filterwarnings("ignore:Skipping variable loading:UserWarning"),
]

ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = sorted((ROOT / "resources" / "examples").glob("*.lcproj"))
RNG = np.random.default_rng(1)


def _inputs(model, n=3):
    arrays = []
    for t in model.inputs:
        if t.layer.config.get("dtype") == "int64":
            arrays.append(RNG.integers(0, 5, (n, *t.shape)))
        else:
            arrays.append(RNG.random((n, *t.shape)).astype("float32"))
    return arrays if len(arrays) > 1 else arrays[0]


def _as_list(value):
    return value if isinstance(value, list) else [value]


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_every_example_loads_in_keras_with_equal_outputs(example, tmp_path):
    project = load_project(example)
    model = model_from_document(project.graph)
    for w in model.weights:  # not the initial values: every layer's layout matters
        w.assign(RNG.normal(0, 0.3, w.shape).astype("float32") + 1.0 * ("variance" in w.name))
    path = tmp_path / "m.keras"
    export_keras(model, path, project.training)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        loaded = keras.saving.load_model(path)
    # The optimizer's variables are written as Keras lays them out: none skipped.
    assert not [w for w in caught if "Skipping variable loading" in str(w.message)]
    x = _inputs(model)
    for got, want in zip(
        _as_list(loaded.predict(x, verbose=0)), _as_list(model.predict(x)), strict=True
    ):
        np.testing.assert_allclose(got, want, atol=1e-5, rtol=1e-5)
    assert loaded.optimizer is not None  # compiled with the project's settings
    # And back: the exported archive imports to the same numbers.
    again = import_keras(path)
    for got, want in zip(_as_list(again.model.predict(x)), _as_list(model.predict(x)), strict=True):
        np.testing.assert_allclose(got, want, atol=1e-5, rtol=1e-5)


def test_same_class_layers_in_branches_keep_their_weights(tmp_path):
    """Branches of different depths: Keras orders layers by depth, not as written."""
    x = Input((3,), name="x")
    a = Dense(4, name="a_1")(x)
    a = Dense(4, name="a_2")(a)
    a = Dense(4, name="a_3")(a)
    b = Dense(4, name="b_1")(x)
    from engine.layers import Add

    y = Dense(2, name="head")(Add(name="sum")([a, b]))
    model = Model(x, y)
    path = tmp_path / "branches.keras"
    export_keras(model, path)
    loaded = keras.saving.load_model(path)
    inputs = RNG.random((2, 3)).astype("float32")
    np.testing.assert_allclose(loaded.predict(inputs, verbose=0), model.predict(inputs), atol=1e-5)


def test_keras_code_runs_as_a_script(tmp_path):
    project = load_project(ROOT / "resources" / "examples" / "two_branch_functional.lcproj")
    model = model_from_document(project.graph)
    training = {**project.training, "epochs": 1}
    script = tmp_path / "model.py"
    script.write_text(keras_code(model, training))
    text = script.read_text()
    assert "keras.Model(" in text and "model.compile(" in text and "model.fit(" in text
    env = {**os.environ, "KERAS_BACKEND": "torch"}
    done = subprocess.run(
        [sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]


def test_chain_is_written_as_sequential():
    project = load_project(ROOT / "resources" / "examples" / "digits_cnn.lcproj")
    text = keras_code(model_from_document(project.graph), project.training)
    assert "keras.Sequential(" in text
    assert "data_format='channels_first'" in text
