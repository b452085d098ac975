"""File ▸ Export PyTorch Package… in the window: the canvas's project (unsaved edits
included) becomes a package whose module computes the engine's outputs; a setting the
package cannot reproduce is one message naming it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("PySide6")
torch = pytest.importorskip("torch")

from app.pytorch_controller import pytorch_controller  # noqa: E402
from tests.engine.export_pytorch.torch_package import import_file  # noqa: E402
from tests.gui_window import discarding_window  # noqa: E402

EXAMPLES = Path(__file__).resolve().parents[2] / "resources" / "examples"


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    yield from discarding_window(qtbot, tmp_path, monkeypatch)


def _wait_message(qtbot, window, title_part: str):
    qtbot.waitUntil(
        lambda: window.last_message is not None and title_part in window.last_message[0],
        timeout=60000,
    )
    return window.last_message


def test_the_menu_writes_a_package_of_the_canvas_project(window, qtbot, tmp_path):
    window.last_message = None
    assert window.open_example(EXAMPLES / "spirals_mlp.lcproj", ask=False)
    action = window.actions["export_pytorch"]
    assert action.text().replace("&", "") == "Export PyTorch Package..."
    # An unsaved edit on the canvas is in the package: the first hidden layer narrower.
    node = next(n for n in window.editor.graph.nodes if n.type == "Dense")
    window.editor.set_param(node.id, "units", 16)
    out = tmp_path / "pkg"
    assert pytorch_controller(window).export_dialog(out)
    title, text = _wait_message(qtbot, window, "PyTorch")
    assert title == "PyTorch package written", text
    assert "torchrun --nproc_per_node=2 train.py" in text
    window._message_box.grab().save(str(tmp_path / "box.png"))

    module = import_file(out / "model.py")
    net = module.load_weights(module.build_model()).eval()
    assert getattr(net, node.id.replace("-", "_")).out_features == 16
    with np.load(out / "data.npz") as data:
        x = data["x_val"][:8]
    from engine.graph.convert import model_from_document

    with np.load(out / "weights.npz") as weights:
        state = {k: weights[k] for k in weights.files}
    # The engine model of the same graph, given the package's weights, predicts the same.
    from engine.export_pytorch.model_code import build_model_code, engine_weights

    model = model_from_document(window.editor.graph)
    for name, arrays in engine_weights(model, build_model_code(model), state).items():
        model.get_layer(name).set_weights(arrays)
    with torch.no_grad():
        got = net(torch.from_numpy(x)).numpy()
    assert np.abs(got - model.predict(x, verbose=0)).max() <= 1e-5


def test_a_setting_without_a_pytorch_form_is_one_message(window, qtbot, tmp_path):
    window.last_message = None
    assert window.open_example(EXAMPLES / "digits_mlp.lcproj", ask=False)
    training = dict(window.editor.project.training)
    training["optimizer"] = {"name": "lion", "learning_rate": 0.001}
    window.editor.set_settings("training", training)
    assert pytorch_controller(window).export_dialog(tmp_path / "pkg")
    title, text = _wait_message(qtbot, window, "ailed")
    assert "'lion'" in text and "Traceback" not in text
    assert not (tmp_path / "pkg" / "model.py").exists()
