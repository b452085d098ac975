"""The data panel's Download box on a real panel: download from a local server with a
progress bar, cancel and resume, add files from disk, and the "not downloaded yet" preview."""

from __future__ import annotations

import os

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import Qt  # noqa: E402

from app.data_panel import DataPanel  # noqa: E402
from tests.engine.datasets.archives import FileServer, make_files, pin  # noqa: E402


@pytest.fixture
def cache(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv("LAYERCANVAS_CACHE_DIR", str(folder))
    return folder


@pytest.fixture
def served(tmp_path, monkeypatch, cache):
    source = tmp_path / "served"
    make_files("mnist", source)
    with FileServer(source) as server:
        pin(monkeypatch, "mnist", source, server.url)
        yield server, source


@pytest.fixture
def panel(qtbot, tmp_path):
    applied: list[dict] = []
    widget = DataPanel(on_apply=applied.append, base_dir=lambda: tmp_path)
    qtbot.addWidget(widget)
    widget.resize(420, 760)
    widget.show()
    return widget


def _wait_preview(qtbot, panel):
    qtbot.waitUntil(lambda: panel.last_preview is not None and not panel.preview_busy, timeout=5000)
    return panel.last_preview


def _item(panel, name):
    for i in range(panel.builtin.list.count()):
        item = panel.builtin.list.item(i)
        if item.data(Qt.ItemDataRole.UserRole) == name:
            return item
    raise AssertionError(name)


def _shot(widget, name: str) -> None:
    folder = os.environ.get("LAYERCANVAS_SHOTS")
    if folder:
        os.makedirs(folder, exist_ok=True)
        widget.grab().save(os.path.join(folder, f"{name}.png"))


def test_a_set_not_downloaded_opens_with_the_download_offer(panel, qtbot, served):
    panel.set_dataset({"name": "mnist"})
    box = panel.builtin.download
    assert box.isVisible() and box.name == "mnist"
    assert "Not downloaded yet" in box.state.text() and box.download_button.isEnabled()
    assert "download" in _item(panel, "mnist").text()
    preview = _wait_preview(qtbot, panel)
    assert preview.not_downloaded == "mnist"
    assert "not downloaded yet — Download" in panel.preview_label.text()
    # Its shapes are known, so the graph is still checked against it.
    assert preview.dataset.input_shape == (1, 28, 28)
    _shot(panel, "data_panel_not_downloaded")


def test_download_shows_progress_then_the_preview_loads(panel, qtbot, served):
    server, _ = served
    server.chunk_delay = 0.02
    panel.set_dataset({"name": "mnist"})
    box = panel.builtin.download
    seen = []
    box.worker.progress.connect(lambda _f, done, total: seen.append((done, total)))
    qtbot.mouseClick(box.download_button, Qt.MouseButton.LeftButton)
    assert box.progress.isVisible() and box.cancel_button.isVisible()
    qtbot.waitUntil(lambda: len(seen) >= 2, timeout=5000)
    _shot(panel, "data_panel_downloading")
    qtbot.waitUntil(lambda: not box.worker.busy, timeout=10000)
    assert seen[-1][0] == seen[-1][1]
    assert "In the cache" in box.state.text() and not box.download_button.isEnabled()
    assert "in the cache" in _item(panel, "mnist").text()
    qtbot.waitUntil(
        lambda: panel.last_preview is not None and panel.last_preview.samples == 200,
        timeout=5000,
    )
    assert "200 samples" in panel.preview_label.text()
    _shot(panel, "data_panel_downloaded")


def test_cancel_keeps_the_part_and_download_resumes(panel, qtbot, served, cache):
    server, source = served
    server.chunk_delay = 0.05
    panel.set_dataset({"name": "mnist"})
    box = panel.builtin.download
    seen = []
    box.worker.progress.connect(lambda _f, done, _t: seen.append(done))
    box.start_download()
    qtbot.waitUntil(lambda: len(seen) >= 1, timeout=5000)
    qtbot.mouseClick(box.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not box.worker.busy, timeout=5000)
    assert "cancelled" in box.message.text() and box.message.isVisible()
    part = cache / "mnist" / "mnist.npz.part"
    assert part.is_file() and not (cache / "mnist" / "mnist.npz").exists()
    kept = part.stat().st_size
    server.chunk_delay = 0.0
    box.start_download()
    qtbot.waitUntil(lambda: not box.worker.busy, timeout=5000)
    assert server.requests[-1][1] == f"bytes={kept}-"
    assert (cache / "mnist" / "mnist.npz").read_bytes() == (source / "mnist.npz").read_bytes()


def test_no_network_is_said_in_the_box(panel, qtbot, monkeypatch, tmp_path, cache):
    source = tmp_path / "files"
    make_files("mnist", source)
    with FileServer(source) as server:
        url = server.url
    pin(monkeypatch, "mnist", source, url)  # the server is gone
    panel.set_dataset({"name": "mnist"})
    box = panel.builtin.download
    box.start_download()
    qtbot.waitUntil(lambda: not box.worker.busy, timeout=5000)
    assert "could not download mnist.npz" in box.message.text()
    assert "layercanvas datasets add mnist FILE" in box.message.text()
    assert box.download_button.isEnabled()  # try again
    _shot(panel, "data_panel_no_network")


def test_add_from_file_checks_and_installs(panel, qtbot, monkeypatch, tmp_path, cache):
    source = tmp_path / "files"
    make_files("mnist", source)
    pin(monkeypatch, "mnist", source, "http://127.0.0.1:9")
    panel.set_dataset({"name": "mnist"})
    box = panel.builtin.download
    bad = tmp_path / "mnist.npz"
    data = bytearray((source / "mnist.npz").read_bytes())
    data[50] ^= 1
    bad.write_bytes(bytes(data))
    box.add_files([str(bad)])
    qtbot.waitUntil(lambda: not box.worker.busy, timeout=5000)
    assert "failed its checksum" in box.message.text()
    assert not (cache / "mnist" / "mnist.npz").exists()
    box.add_files([str(source / "mnist.npz")])
    qtbot.waitUntil(lambda: not box.worker.busy, timeout=5000)
    assert "In the cache" in box.state.text()
    qtbot.waitUntil(
        lambda: panel.last_preview is not None and panel.last_preview.samples == 200,
        timeout=5000,
    )


def test_the_box_is_hidden_for_sets_that_need_no_download(panel, qtbot):
    panel.set_dataset({"name": "digits"})
    assert not panel.builtin.download.isVisible()
    assert panel.builtin.options_box.title() == "Generator options"
    panel.set_dataset({"name": "imdb", "num_words": 5000})
    assert panel.builtin.download.isVisible()
    assert panel.builtin.options_box.title() == "Options"
    assert "num_words" in panel.builtin.option_widgets


@pytest.mark.parametrize("example", ["mnist_cnn", "cifar10_resnet", "imdb_lstm"])
def test_examples_open_with_the_download_offer_and_train_says_why_not(
    qtbot, tmp_path, monkeypatch, cache, example
):
    from pathlib import Path

    from tests.gui_window import discarding_window

    path = Path(__file__).resolve().parents[2] / "resources" / "examples" / f"{example}.lcproj"
    windows = discarding_window(qtbot, tmp_path, monkeypatch, size=(1280, 800))
    window = next(windows)
    try:
        assert window.open_example(path, ask=False)
        assert not [d for d in window.editor.diagnostics if d.severity == "error"]
        panel = window.data_panel
        window.data_dock.show()
        window.data_dock.raise_()
        preview = _wait_preview(qtbot, panel)
        assert preview.not_downloaded in ("mnist", "cifar10", "imdb")
        assert "not downloaded yet — Download" in panel.preview_label.text()
        assert panel.builtin.download.isVisible()
        assert panel.fit_label.text() == "✓ The graph fits this data"  # known shapes
        _shot(window, f"window_{example}_not_downloaded")
        window.train()
        qtbot.waitUntil(lambda: window.last_message is not None, timeout=10_000)
        title, text = window.last_message
        assert "not downloaded yet" in text and "Traceback" not in text
    finally:
        next(windows, None)
