"""Autosave in a real window: a copy after a change (short interval injected), on Train,
removed on save, undo-to-clean, discard and clean close; never the user's file."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import QSettings  # noqa: E402
from PySide6.QtWidgets import QMessageBox  # noqa: E402

from app.main_window import MainWindow  # noqa: E402
from app.recovery_store import RecoveryStore  # noqa: E402
from app.settings import AppSettings  # noqa: E402

EXAMPLES = Path(__file__).resolve().parents[2] / "resources" / "examples"


@pytest.fixture
def store(tmp_path):
    return RecoveryStore(tmp_path / "data" / "recovery")


@pytest.fixture
def make_window(qtbot, tmp_path, store, monkeypatch):
    monkeypatch.setattr(
        QMessageBox, "question", staticmethod(lambda *a, **k: QMessageBox.StandardButton.Discard)
    )
    made = []

    def make(interval_ms=150):
        settings = AppSettings(QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
        w = MainWindow(settings=settings, recovery_store=store, autosave_interval_ms=interval_ms)
        qtbot.addWidget(w)
        made.append(w)
        return w

    yield make
    for w in made:
        w.controller.shutdown()


def _copies(store):
    return sorted(store.root.glob("*.lcrecover")) if store.root.is_dir() else []


def _user_file(tmp_path) -> Path:
    path = tmp_path / "mine.lcproj"
    shutil.copy(EXAMPLES / "digits_mlp.lcproj", path)
    return path


def test_a_change_is_autosaved_after_the_interval_never_over_the_users_file(
    make_window, store, qtbot, tmp_path
):
    window = make_window(interval_ms=200)
    path = _user_file(tmp_path)
    before = path.read_bytes()
    assert window.open_project(path, ask=False)
    window.editor.add_node("Dropout", (40, 500))
    window.editor.set_settings("training", {**window.editor.settings("training"), "epochs": 4})
    assert window.autosaver.scheduled and _copies(store) == []  # not at once: after the interval
    qtbot.waitUntil(lambda: len(_copies(store)) == 1, timeout=5000)
    window.autosaver.wait()
    (copy,) = _copies(store)
    data = json.loads(copy.read_text("utf-8"))
    assert data["original"] == str(path)
    assert data["project"] == window.editor.project.to_json()
    assert data["project"]["training"]["epochs"] == 4
    assert path.read_bytes() == before  # the user's file is untouched
    # The status line hears of the write from the worker through a queued signal.
    qtbot.waitUntil(lambda: window.autosave_status.text().startswith("Autosaved "), timeout=5000)
    assert window.autosaver.last_snapshot_ms is not None


def test_saving_and_undoing_to_the_saved_state_remove_the_copy(make_window, store, qtbot, tmp_path):
    window = make_window()
    assert window.open_project(_user_file(tmp_path), ask=False)
    window.editor.add_node("Dropout", (40, 500))
    qtbot.waitUntil(lambda: len(_copies(store)) == 1, timeout=5000)
    window.actions["undo"].trigger()  # back to the file's state: nothing unsaved
    window.autosaver.wait()
    assert _copies(store) == [] and window.autosave_status.text() == ""
    window.editor.add_node("Dropout", (40, 500))
    qtbot.waitUntil(lambda: len(_copies(store)) == 1, timeout=5000)
    assert window.save()
    window.autosaver.wait()
    assert _copies(store) == []


def test_train_keeps_a_copy_at_once(make_window, store, qtbot):
    window = make_window(interval_ms=600_000)  # the timer never fires in this test
    assert window.open_example(EXAMPLES / "sine_regression.lcproj", ask=False)
    window.training_panel.epochs_box.setValue(1)
    assert window.autosaver.scheduled and _copies(store) == []
    with qtbot.waitSignal(window.controller.finished, timeout=60000):
        assert window.train()
    window.autosaver.wait()
    (copy,) = _copies(store)
    data = json.loads(copy.read_text("utf-8"))
    assert data["original"] == "untitled" and data["project"]["training"]["epochs"] == 1


def test_discarding_or_closing_cleanly_removes_the_copy(make_window, store, qtbot):
    window = make_window()
    window.open_example(EXAMPLES / "digits_mlp.lcproj", ask=False)
    window.editor.add_node("Dense", (0, 300))
    qtbot.waitUntil(lambda: len(_copies(store)) == 1, timeout=5000)
    window.actions["new"].trigger()  # "Save changes?" -> Discard
    window.autosaver.wait()
    assert _copies(store) == []
    window.editor.add_node("Dense", (0, 300))
    qtbot.waitUntil(lambda: len(_copies(store)) == 1, timeout=5000)
    assert window.close()  # Discard again: a clean close
    assert _copies(store) == [] and not list(store.root.glob("*.lock"))
    # The closed window's writer thread has ended (it does not outlive its window) ...
    assert window.autosaver._executor is None
    # ... and a window shown again after a close keeps autosaving, on a new one.
    window.show()
    window.editor.add_node("Dense", (0, 400))
    qtbot.waitUntil(lambda: len(_copies(store)) == 1, timeout=5000)


def test_a_steady_stream_of_edits_still_gets_a_copy_every_interval(make_window, store, qtbot):
    window = make_window(interval_ms=300)
    window.open_example(EXAMPLES / "digits_mlp.lcproj", ask=False)
    saved = []
    window.autosaver.saved.connect(saved.append)
    for i in range(12):  # an edit every 100 ms for 1.2 s: the timer is not pushed back
        window.editor.move_nodes({"hidden": (10 * i, 200)})
        qtbot.wait(100)
    assert len(saved) >= 2


def test_by_default_every_30_s_into_the_data_folder(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("LAYERCANVAS_DATA_DIR", str(tmp_path / "appdata"))
    settings = AppSettings(QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    window = MainWindow(settings=settings)
    qtbot.addWidget(window)
    assert window.autosaver.interval_ms == 30_000
    assert window.recovery_store.root == tmp_path / "appdata" / "recovery"


def test_a_copy_that_cannot_be_written_is_said_once_in_the_status_bar(qtbot, tmp_path, monkeypatch):
    monkeypatch.setattr(
        QMessageBox, "question", staticmethod(lambda *a, **k: QMessageBox.StandardButton.Discard)
    )
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("a file where the data folder should be")
    settings = AppSettings(QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    window = MainWindow(
        settings=settings,
        recovery_store=RecoveryStore(blocker / "recovery"),
        autosave_interval_ms=50,
    )
    qtbot.addWidget(window)
    window.open_example(EXAMPLES / "digits_mlp.lcproj", ask=False)
    with qtbot.waitSignal(window.autosaver.failed, timeout=5000) as failed:
        window.editor.add_node("Dense", (0, 300))
    assert "not_a_folder" in failed.args[0]
    qtbot.waitUntil(lambda: window.autosave_status.text() == "Autosave failed", timeout=5000)
    assert window.statusBar().currentMessage().startswith("Autosave failed: ")
    window.editor.add_node("Dense", (0, 400))  # still editable; nothing raised
