"""The end of a training run: the recorder's end of training runs beside the evaluation
(app.training_recording) and every run file is on disk when ``finished`` arrives; the Runs
panel shows the run's end on the turn of the event loop after ``finished``, and anything
that asks for the record before then gets it as it ended."""

from __future__ import annotations

import json
import threading

import numpy as np
import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import QSettings  # noqa: E402
from PySide6.QtWidgets import QMessageBox  # noqa: E402

import engine  # noqa: E402
from app.main_window import MainWindow  # noqa: E402
from app.settings import AppSettings  # noqa: E402
from app.training_recording import EndBeside, join_all  # noqa: E402
from engine.callbacks.base import Callback  # noqa: E402
from engine.runs import RunStore  # noqa: E402
from tests.app.test_cli import TINY  # noqa: E402


class _Watcher(Callback):
    """Notes the thread of each hook; its end of training waits until released."""

    def __init__(self, fail: bool = False):
        super().__init__()
        self.epoch_threads: list[str] = []
        self.end_thread: str | None = None
        self.release = threading.Event()
        self.released: bool | None = None
        self.fail = fail

    def on_epoch_end(self, epoch, logs=None):
        self.epoch_threads.append(threading.current_thread().name)

    def on_train_end(self, logs=None):
        self.end_thread = threading.current_thread().name
        self.released = self.release.wait(30)
        if self.fail:
            raise OSError("disk full")


def _tiny_model():
    model = engine.Sequential([engine.layers.Input((4,)), engine.layers.Dense(2)])
    model.compile(optimizer="sgd", loss="mse")
    return model


def _data():
    rng = np.random.default_rng(0)
    return rng.normal(size=(16, 4)).astype(np.float32), rng.normal(size=(16, 2)).astype(np.float32)


def test_end_of_training_runs_beside_what_follows_fit_and_join_waits_for_it():
    model, (x, y) = _tiny_model(), _data()
    inner = _Watcher()
    wrapped = EndBeside(inner)
    model.fit(x, y, epochs=2, batch_size=8, verbose=0, callbacks=[wrapped])
    # fit returned while the wrapped end of training still waits: it did not block fit.
    assert inner.released is None
    assert inner.model is model  # set_model reached the wrapped callback
    here = threading.current_thread().name
    assert inner.epoch_threads == [here, here]  # the other hooks run on fit's thread
    inner.release.set()
    join_all([object(), wrapped])
    assert inner.released is True
    assert inner.end_thread not in (None, here)


def test_join_raises_what_the_end_of_training_raised():
    model, (x, y) = _tiny_model(), _data()
    inner = _Watcher(fail=True)
    wrapped = EndBeside(inner)
    model.fit(x, y, epochs=1, batch_size=8, verbose=0, callbacks=[wrapped])
    inner.release.set()
    with pytest.raises(OSError, match="disk full"):
        wrapped.join()
    wrapped.join()  # reported once


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    monkeypatch.setattr(
        QMessageBox, "question", staticmethod(lambda *a, **k: QMessageBox.StandardButton.Discard)
    )
    settings = AppSettings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    w = MainWindow(settings=settings)
    qtbot.addWidget(w)
    w.resize(1300, 800)
    w.show()
    qtbot.waitExposed(w)
    yield w
    w.controller.shutdown()


def _open_tiny(window, tmp_path):
    path = tmp_path / "tiny.lcproj"
    path.write_text(json.dumps(TINY))
    assert window.open_project(path, ask=False)
    return RunStore(tmp_path / "tiny.runs")


def test_finished_comes_with_the_run_on_disk_and_before_the_runs_list_shows_its_end(
    window, qtbot, tmp_path
):
    store = _open_tiny(window, tmp_path)
    events = []

    def on_finished(_result):
        # Every file of the run is written by now (the recorder's end was joined).
        (record,), problems = store.list()
        events.append(("finished", record.status, record.weights_path("last") is not None))

    window.controller.finished.connect(on_finished)
    window.runs.runsChanged.connect(
        lambda records: events.append(("runs", [r.status for r in records]))
    )
    with qtbot.waitSignal(window.controller.finished, timeout=60000):
        assert window.train()
    # The Runs list is read again for the run's end after finished, not before.
    qtbot.waitUntil(lambda: events[-1] == ("runs", ["finished"]), timeout=5000)
    assert events.index(("finished", "finished", True)) == len(events) - 2
    assert window.runs_panel.table.rowCount() == 1


def test_asking_for_the_run_before_the_refresh_gets_it_as_it_ended(window, qtbot, tmp_path):
    _open_tiny(window, tmp_path)
    got = {}

    def on_finished(_result):
        (run_id,) = [r.id for r in window.runs.records]
        record = window.runs.record(run_id)  # e.g. Resume clicked at once
        got["status"] = record.status
        got["weights"] = record.weights_path("last") is not None

    window.controller.finished.connect(on_finished)
    with qtbot.waitSignal(window.controller.finished, timeout=60000):
        assert window.train()
    assert got == {"status": "finished", "weights": True}
