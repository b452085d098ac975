"""File ▸ Import ONNX… of a torchvision ResNet-18 (exported at test time, random weights):
the real window opens it as a project whose canvas shows every layer, laid out in
top-to-bottom columns, and whose summary counts PyTorch's fused parameters."""

from __future__ import annotations

import os

import onnx
import pytest

pytest.importorskip("PySide6")

from app.transfer_import_dialog import ImageDataDialog  # noqa: E402
from tests.app.test_canvas_readable import assert_no_overlaps  # noqa: E402
from tests.gui_window import discarding_window  # noqa: E402
from tests.torchvision_models import build, export_onnx, fused_parameter_count  # noqa: E402


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    yield from discarding_window(qtbot, tmp_path, monkeypatch)


def test_import_onnx_of_resnet18_opens_it_on_the_canvas(window, tmp_path):
    from engine.io import load_model  # noqa: PLC0415

    module = build("resnet18")
    source = tmp_path / "resnet18.onnx"
    onnx.save(export_onnx(module, (3, 224, 224)), source)
    assert window.import_onnx(source, tmp_path / "resnet18.lcproj")
    for dialog in window.findChildren(ImageDataDialog):  # "train it on your images?"
        dialog.reject()
    project = window.editor.project
    model = load_model(project.weights_path)
    assert len(project.graph.nodes) == len(model.layers)
    assert sum(w.size for w in model.trainable_weights) == fused_parameter_count(module)
    types = [n.type for n in project.graph.nodes]
    assert types.count("Conv2D") == 20 and types.count("Add") == 8
    rows = {tuple(n.position) for n in project.graph.nodes}
    assert len(rows) == len(project.graph.nodes)  # no two cards on top of each other
    # Readable in a 1280x800 window: it opens on its inputs at >= 70 % (the minimap shows
    # the rest), and no card covers another.
    window.resize(1280, 800)
    window.view.fit_to_view(readable=True)  # as a project opens
    assert window.view.zoom() >= 0.70, f"{window.view.zoom():.2f}"
    assert_no_overlaps(window.view)
    if os.environ.get("LAYERCANVAS_SHOTS"):
        window.grab().save(os.path.join(os.environ["LAYERCANVAS_SHOTS"], "resnet18_import.png"))
