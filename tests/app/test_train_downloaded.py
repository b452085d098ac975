"""End to end in the window: a shipped example on a downloaded set (fixture files installed
into the cache) trains, shows its samples and evaluates — on uint8 images throughout."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("PySide6")

from engine.datasets import install_files  # noqa: E402
from tests.engine.datasets.archives import make_files, pin  # noqa: E402
from tests.gui_window import discarding_window  # noqa: E402

EXAMPLES = Path(__file__).resolve().parents[2] / "resources" / "examples"


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    yield from discarding_window(qtbot, tmp_path, monkeypatch, size=(1280, 800))


def test_the_mnist_example_trains_in_the_window(window, qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("LAYERCANVAS_CACHE_DIR", str(tmp_path / "cache"))
    source = tmp_path / "files"
    make_files("mnist", source)
    entry = pin(monkeypatch, "mnist", source, "http://127.0.0.1:9")
    install_files("mnist", [source / f.name for f in entry.files])
    data = json.loads((EXAMPLES / "mnist_cnn.lcproj").read_text(encoding="utf-8"))
    data["training"].update(epochs=1, batch_size=32)
    project = tmp_path / "mnist.lcproj"
    project.write_text(json.dumps(data), encoding="utf-8")
    assert window.open_project(project, ask=False)
    with qtbot.waitSignal(window.controller.finished, timeout=120_000):
        assert window.train()
    result = window.controller.result
    assert result is not None, window.last_message
    history = result.history if hasattr(result, "history") else None
    assert history is None or len(history.get("val_accuracy", [0])) == 1
    with qtbot.waitSignal(window.controller.task_finished, timeout=60_000):
        assert window.evaluate()
    qtbot.wait(200)
    panel = window.training_panel
    panel.tabs.setCurrentWidget(panel.samples)
    window.training_dock.show()
    window.training_dock.raise_()
    qtbot.wait(100)
    import os

    if os.environ.get("LAYERCANVAS_SHOTS"):
        window.grab().save(os.path.join(os.environ["LAYERCANVAS_SHOTS"], "mnist_trained.png"))
