"""The recovery offer at start-up: the dialog lists the copies; Recover opens one modified
with its original path kept, Discard deletes it, Later keeps them; bad files are reported."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import QSettings, Qt  # noqa: E402
from PySide6.QtWidgets import QDialog, QMessageBox, QRadioButton  # noqa: E402

from app.main_window import MainWindow  # noqa: E402
from app.recovery import RecoveryDialog, offer_recovery  # noqa: E402
from app.recovery_store import RecoveryStore, dumps_envelope, envelope  # noqa: E402
from app.settings import AppSettings  # noqa: E402
from engine.graph.project import load_project  # noqa: E402

EXAMPLES = Path(__file__).resolve().parents[2] / "resources" / "examples"


@pytest.fixture
def store(tmp_path):
    return RecoveryStore(tmp_path / "data" / "recovery")


@pytest.fixture
def window(qtbot, tmp_path, store, monkeypatch):
    monkeypatch.setattr(
        QMessageBox, "question", staticmethod(lambda *a, **k: QMessageBox.StandardButton.Discard)
    )
    settings = AppSettings(QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    w = MainWindow(settings=settings, recovery_store=store)
    qtbot.addWidget(w)
    w.show()
    yield w
    w.controller.shutdown()


@pytest.fixture
def copies(store, tmp_path):
    """A copy of an edited saved project, one of an untitled example, and a broken file."""
    user_file = tmp_path / "work" / "mine.lcproj"
    user_file.parent.mkdir()
    shutil.copy(EXAMPLES / "digits_cnn.lcproj", user_file)
    edited = load_project(user_file)
    edited.graph.move_node(edited.graph.nodes[2].id, (333, 444))
    edited.training["epochs"] = 7
    edited.dataset["validation_split"] = 0.3
    now = datetime.now(UTC)
    store.write("a-saved", dumps_envelope(envelope(edited.to_json(), user_file, now)))
    untitled = load_project(EXAMPLES / "spirals_mlp.lcproj").to_json()
    store.write("b-untitled", dumps_envelope(envelope(untitled, None, now)))
    store.root.joinpath("c-broken.lcrecover").write_text('{"format": "layercanvas-recovery"')
    return {"user_file": user_file, "edited": edited, "before": user_file.read_bytes()}


def _click(qtbot, dialog: QDialog, name: str) -> None:
    button = dialog.findChild(QRadioButton, name)
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def test_the_dialog_lists_each_copy_and_recovering_opens_it_modified(window, store, copies, qtbot):
    seen = {}

    def ask(dialog: RecoveryDialog) -> bool:
        dialog.show()
        qtbot.waitExposed(dialog)
        table = dialog.table
        seen["rows"] = [
            [table.item(r, c).text() for c in range(3)] for r in range(table.rowCount())
        ]
        dialog.grab().save("/tmp/recovery_dialog.png")
        _click(qtbot, dialog, "discard_1")  # the untitled spirals copy
        qtbot.mouseClick(dialog.continue_button, Qt.MouseButton.LeftButton)
        return dialog.result() == QDialog.DialogCode.Accepted

    opened = offer_recovery(window, ask=ask)
    assert opened == [window]
    names = [row[0] for row in seen["rows"]]
    assert sorted(names) == ["Digits CNN", "Spirals MLP"]
    originals = {row[0]: row[1] for row in seen["rows"]}
    assert originals["Digits CNN"] == str(copies["user_file"])
    assert originals["Spirals MLP"] == "never saved"
    assert all(row[2].startswith("today ") for row in seen["rows"])
    # The recovered project: graph, positions, data and training as in the copy.
    editor = window.editor
    assert editor.project.to_json() == copies["edited"].to_json()
    assert editor.modified and editor.path == copies["user_file"]
    assert window.windowTitle() == "Digits CNN* — mine.lcproj — LayerCanvas"
    # The broken file was reported once and set aside.
    title, text = window.last_message
    assert title == "Recovery file set aside" and "c-broken.lcrecover" in text
    assert (store.corrupt_dir / "c-broken.lcrecover").is_file()
    # Both old copies are gone; the recovered project has a fresh copy of its own.
    window.autosaver.wait()
    left = [p.stem for p in store.root.glob("*.lcrecover")]
    assert left == [window.autosaver.key]
    # Nothing was written to the user's file until they save.
    assert copies["user_file"].read_bytes() == copies["before"]
    assert window.save()
    assert load_project(copies["user_file"]).to_json() == copies["edited"].to_json()
    window.autosaver.wait()
    assert not list(store.root.glob("*.lcrecover"))
    # Nothing is offered again.
    assert store.scan() == ([], [])


def test_later_keeps_every_copy_for_the_next_start(window, store, copies):
    before = window.editor
    assert offer_recovery(window, ask=lambda dialog: False) == []
    assert window.editor is before
    assert sorted(p.stem for p in store.root.glob("*.lcrecover")) == ["a-saved", "b-untitled"]
    assert len(store.scan()[0]) == 2


def test_more_than_one_recovered_project_opens_in_windows_of_their_own(
    window, store, copies, qtbot
):
    extra = []

    def new_window():
        w = MainWindow(settings=window.settings, recovery_store=store)
        qtbot.addWidget(w)
        extra.append(w)
        return w

    opened = offer_recovery(window, ask=lambda dialog: True, new_window=new_window)
    assert opened == [window, extra[0]]
    assert {w.editor.graph.name for w in opened} == {"Digits CNN", "Spirals MLP"}
    assert all(w.editor.modified for w in opened)
    untitled = next(w for w in opened if w.editor.graph.name == "Spirals MLP")
    assert untitled.editor.path is None


def test_declining_one_discards_its_copy(window, store, copies):
    def ask(dialog):
        dialog.set_choice(0, recover=False)
        dialog.set_choice(1, recover=False)
        return True

    before = window.editor
    assert offer_recovery(window, ask=ask) == []
    assert window.editor is before
    assert not list(store.root.glob("*.lcrecover"))


def test_no_copies_no_dialog(window, store):
    asked = []
    assert offer_recovery(window, ask=asked.append) == []
    assert asked == [] and window.last_message is None
