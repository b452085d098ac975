"""File ▸ Import ONNX… of an image classifier offers "Train on Your Images": the folder, and
the mean/std from the file's metadata (or ImageNet's for a 224x224 RGB model), set as the
project's dataset in one undo step (real window, real ONNX files, pytest-qt)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

pytest.importorskip("PySide6")

from app.transfer_import_dialog import ImageDataDialog  # noqa: E402
from tests.gui_window import discarding_window  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
FOLDER = ROOT / "resources" / "examples" / "transfer_images"


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    yield from discarding_window(qtbot, tmp_path, monkeypatch)


def _dialog(window) -> ImageDataDialog:
    dialogs = [d for d in window.findChildren(ImageDataDialog) if d.isVisible()]
    assert len(dialogs) == 1
    return dialogs[0]


def test_importing_an_image_model_offers_its_images_with_the_recorded_mean_std(window, tmp_path):
    assert window.import_onnx(FOLDER / "shapes_base.onnx", tmp_path / "shapes.lcproj")
    dialog = _dialog(window)
    meta = {"mean": [0.4978, 0.5033, 0.4916], "std": [0.265, 0.2619, 0.2609]}
    assert [float(v) for v in dialog.mean.text().split(",")] == meta["mean"]
    assert [float(v) for v in dialog.std.text().split(",")] == meta["std"]
    if os.environ.get("LAYERCANVAS_SHOTS"):
        dialog.grab().save(os.path.join(os.environ["LAYERCANVAS_SHOTS"], "transfer_import.png"))

    dialog.accept()  # no folder yet: said, and the dialog stays open
    assert dialog.isVisible() and "Choose an existing folder" in dialog.problem.text()
    dialog.folder.setText(str(FOLDER / "photos"))
    dialog.accept()
    assert not dialog.isVisible()
    dataset = window.editor.project.dataset
    assert dataset["mean"] == meta["mean"] and dataset["std"] == meta["std"]
    assert dataset["size"] == [32, 32] and dataset["color"] == "rgb"
    assert (tmp_path / dataset["path"]).resolve() == (FOLDER / "photos").resolve()
    window.actions["undo"].trigger()
    assert window.editor.project.dataset == {}


def test_a_224_rgb_model_suggests_imagenet_and_bad_numbers_keep_the_dialog_open(window, tmp_path):
    import engine  # noqa: PLC0415
    from engine import layers  # noqa: PLC0415
    from engine.onnx import export_model  # noqa: PLC0415

    inputs = engine.Input(shape=(3, 224, 224))
    h = layers.GlobalAveragePooling2D()(layers.Conv2D(2, 3, strides=8)(inputs))
    source = tmp_path / "big.onnx"
    export_model(engine.Model(inputs, layers.Dense(5, activation="softmax")(h)), source)
    assert window.import_onnx(source, tmp_path / "big.lcproj")
    dialog = _dialog(window)
    assert dialog.mean.text() == "0.485, 0.456, 0.406"
    assert dialog.std.text() == "0.229, 0.224, 0.225"
    dialog.folder.setText(str(FOLDER / "photos"))
    dialog.std.setText("0.2, 0, 0.2")
    dialog.accept()
    assert dialog.isVisible() and "std must be positive" in dialog.problem.text()
    dialog.std.setText("")
    dialog.accept()
    assert "both mean and std" in dialog.problem.text()
    dialog.mean.setText("")
    dialog.accept()
    assert not dialog.isVisible()
    saved = window.editor.project.dataset
    assert "mean" not in saved and saved["size"] == [224, 224]


def test_a_model_that_does_not_take_images_asks_nothing(window, tmp_path):
    import engine  # noqa: PLC0415
    from engine import layers  # noqa: PLC0415
    from engine.onnx import export_model  # noqa: PLC0415

    inputs = engine.Input(shape=(6,))
    source = tmp_path / "flat.onnx"
    export_model(engine.Model(inputs, layers.Dense(2)(inputs)), source)
    assert window.import_onnx(source, tmp_path / "flat.lcproj")
    assert not [d for d in window.findChildren(ImageDataDialog) if d.isVisible()]
    assert json.loads((tmp_path / "flat.lcproj").read_text())["dataset"] == {}
