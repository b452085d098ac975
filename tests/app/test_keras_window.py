"""Keras files in the window: the File menu's Keras entries, a .keras model imported into a
project that opens on the canvas (Permute nodes visible), a Lambda model refused in one
message, and the open project exported to a .keras file Keras loads with equal outputs."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("PySide6")

from engine.io import load_model  # noqa: E402
from tests.engine.keras_reference import keras  # noqa: E402
from tests.gui_window import discarding_window  # noqa: E402

pytestmark = [
    pytest.mark.filterwarnings("ignore::DeprecationWarning:keras.*"),
    pytest.mark.filterwarnings("ignore:Skipping variable loading:UserWarning"),
]


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    yield from discarding_window(qtbot, tmp_path, monkeypatch)


def test_file_menu_offers_keras(window):
    texts = [a.text().replace("&", "") for a in window.menuBar().actions()[0].menu().actions()]
    assert "Import Keras Model..." in texts
    assert "Export Keras Model..." in texts and "Export Keras Code..." in texts


def test_import_then_export_keras_from_the_window(window, tmp_path):
    from app.keras_controller import keras_controller  # noqa: PLC0415

    model = keras.Sequential(
        [
            keras.Input((8, 8, 2)),
            keras.layers.Conv2D(3, 3, padding="same", activation="relu"),
            keras.layers.GlobalMaxPooling2D(),
            keras.layers.Dense(2),
        ]
    )
    model.compile(optimizer="adam", loss="mse")
    source = tmp_path / "net.keras"
    model.save(source)
    controller = keras_controller(window)
    assert controller.import_keras(source, tmp_path / "net")
    project = window.editor.project
    assert window.editor.path == tmp_path / "net.lcproj"
    assert project.training["loss"] == "mse"
    types = [n.type for n in project.graph.nodes]
    assert "Permute" in types and "Conv2D" in types
    x = np.random.default_rng(0).random((3, 8, 8, 2)).astype("float32")
    imported = load_model(project.weights_path, compile=False)
    np.testing.assert_allclose(imported.predict(x), model.predict(x, verbose=0), atol=1e-5)
    os.makedirs("/tmp/shots", exist_ok=True)
    window.grab().save("/tmp/shots/keras_import.png")

    out = tmp_path / "back.keras"
    assert controller.export_model(out)
    back = keras.saving.load_model(out)
    np.testing.assert_allclose(back.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-5)
    code = tmp_path / "back.py"
    assert controller.export_code(code)
    assert "keras.Sequential(" in Path(code).read_text()


def test_lambda_model_is_refused_with_its_name(window, tmp_path):
    from app.keras_controller import keras_controller  # noqa: PLC0415

    inp = keras.Input((2,))
    out = keras.layers.Lambda(lambda t: t * 3, name="triple")(inp)
    source = tmp_path / "lam.keras"
    keras.Model(inp, out).save(source)
    assert not keras_controller(window).import_keras(source, tmp_path / "lam.lcproj")
    title, text = window.last_message[:2]
    assert title == "Cannot import Keras model" and "'triple' (Lambda)" in text
    assert not (tmp_path / "lam.lcproj").exists()
