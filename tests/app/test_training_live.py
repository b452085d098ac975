"""A run followed live in the window: every point reaches the curves, progress is shown at
a bounded rate with the last update last, and the training thread sets BLAS's thread count
even when the UI thread set it before."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import QSettings  # noqa: E402
from PySide6.QtWidgets import QMessageBox  # noqa: E402

from app.main_window import MainWindow  # noqa: E402
from app.settings import AppSettings  # noqa: E402
from app.training_callback import QtReportingCallback  # noqa: E402
from app.training_controller import BatchUpdate, TrainingController  # noqa: E402
from app.training_wiring import PROGRESS_HZ  # noqa: E402
from engine.graph.project import load_project  # noqa: E402

EXAMPLES = Path(__file__).resolve().parents[2] / "resources" / "examples"


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("LAYERCANVAS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setattr(
        QMessageBox, "question", staticmethod(lambda *a, **k: QMessageBox.StandardButton.Discard)
    )
    settings = AppSettings(QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    w = MainWindow(settings=settings)
    qtbot.addWidget(w)
    w.resize(1300, 800)
    w.show()
    qtbot.waitExposed(w)
    yield w
    w.controller.shutdown()


def test_every_batch_and_epoch_of_a_window_run_is_on_the_curves(window, qtbot):
    window.open_example(EXAMPLES / "digits_mlp.lcproj", ask=False)
    window.training_panel.epochs_box.setValue(2)
    with qtbot.waitSignal(window.controller.finished, timeout=60000) as blocker:
        assert window.train()
    result = blocker.args[0]
    plots = window.training_panel.plots
    steps = 45  # 1,438 training digits in batches of 32
    x = [e + (b + 1) / steps for e in range(2) for b in range(steps)]
    qtbot.waitUntil(lambda: len(plots.drawn("loss", "batch")[0]) == len(x), timeout=5000)
    np.testing.assert_allclose(plots.drawn("loss", "batch")[0], x)
    for key in ("loss", "val_loss", "accuracy", "val_accuracy"):
        ex, ey = plots.drawn(key)
        np.testing.assert_allclose(ex, [1, 2])
        np.testing.assert_allclose(ey, result.history[key], rtol=1e-12)
    # The last progress shown is the run's end, not a late batch update.
    assert window.training_panel.progress.format().startswith("Finished · 2/2 epochs")


def _update(i: int, n: int) -> BatchUpdate:
    return BatchUpdate(
        x=[i / n],
        values={"loss": [1.0 / (i + 1)]},
        epoch=0,
        step=i,
        steps=n,
        epochs=1,
        samples_done=32 * (i + 1),
        samples_total=32 * n,
        samples_per_second=1000.0,
        eta_seconds=1.0,
        elapsed_seconds=0.1,
    )


def test_progress_is_shown_at_a_bounded_rate_and_the_last_update_wins(window, qtbot, monkeypatch):
    panel = window.training_panel
    shown = []
    original = panel.show_progress
    monkeypatch.setattr(panel, "show_progress", lambda *a: (shown.append(a[2]), original(*a))[-1])
    panel.begin_run(1)
    n = 50
    window.controller.batch_end.emit(_update(0, n))
    assert shown == [32]  # the first update of a quiet spell shows at once
    for i in range(1, n):
        window.controller.batch_end.emit(_update(i, n))
    assert len(shown) <= 2  # the rest wait for the progress timer
    qtbot.waitUntil(lambda: shown[-1] == 32 * n, timeout=3000)
    assert len(shown) <= 3
    assert panel.progress.value() == 1000
    # Every update's points reach the curves all the same.
    qtbot.waitUntil(lambda: len(panel.plots.drawn("loss", "batch")[0]) == n, timeout=3000)
    count = len(shown)
    qtbot.wait(3 * int(1000 / PROGRESS_HZ))
    assert len(shown) == count  # nothing new: the timer rests


def test_the_training_thread_sets_blas_threads_after_the_ui_thread_did(qtbot, monkeypatch):
    """threadpoolctl 3.8 lets only the first thread that set OpenBLAS's thread count set it
    again; the training worker must still get the count the engine picks for it."""
    threadpoolctl = pytest.importorskip("threadpoolctl")
    libs = threadpoolctl.ThreadpoolController().select(internal_api="openblas").lib_controllers
    libs = [lib for lib in libs if getattr(lib, "threading_layer", "") != "openmp"]
    if not libs or max(lib.num_threads for lib in libs) < 2:
        pytest.skip("needs a pthreads OpenBLAS with at least two threads")
    original = [lib.num_threads for lib in libs]
    for lib, n in zip(libs, original, strict=True):
        lib.set_num_threads(n)  # the UI thread sets the count first (a prediction on it)
    monkeypatch.setenv("LAYERCANVAS_BLAS_THREADS", "1")  # the count fit must then use
    seen = []
    step = QtReportingCallback.on_train_batch_end

    def spy(self, batch, logs=None):
        seen.append(tuple(lib.num_threads for lib in libs))
        return step(self, batch, logs)

    monkeypatch.setattr(QtReportingCallback, "on_train_batch_end", spy)
    controller = TrainingController()
    try:
        with qtbot.waitSignal(controller.finished, timeout=60000):
            controller.start(load_project(EXAMPLES / "digits_mlp.lcproj"), epochs=1)
    finally:
        controller.shutdown()
    assert seen and all(counts == (1,) * len(libs) for counts in seen)
    # The worker handed the right back: the UI thread sets the count again.
    for lib in libs:
        lib.set_num_threads(1)
    assert [lib.num_threads for lib in libs] == [1] * len(libs)
    for lib, n in zip(libs, original, strict=True):
        lib.set_num_threads(n)
