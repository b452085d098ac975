"""The app's overhead: the digits CNN example trained from the real main window (worker
thread, live curves, progress, the Training panel, run recording) against the same run
headless (the same ``prepare_training`` → ``fit`` → validation evaluation, no Qt),
alternating in one process.

Runs in its own process (``python -m benchmarks.training.app_overhead``; Qt offscreen when no
display is set) and prints one JSON object; :func:`measure_in_subprocess` starts it.

``app_s`` runs from Train to the ``finished`` signal's last slot (the curves, the progress
text and the confusion matrix are shown); ``app_settled_s`` goes on until the events queued
by then are handled too (the Runs panel's and the Activations panel's end-of-run refresh).
``headless_s`` records nothing; ``headless_recorded_s`` also records the run the way
``layercanvas train`` does (``engine.runs.record``: a record and weight files per epoch),
which the app does for every run as well. ``overhead`` is against ``headless_s``;
``overhead_vs_recorded`` against ``headless_recorded_s``.

Where a one-epoch app run spent its extra time (``--epochs 1``, 9 alternating runs, shared
2-core machine, load ~0.9; medians; headless 132 ms, app 202 ms before the changes below):
preparing the run 32 ms against 21 (the UI thread's Train handling and repaints take ~11 ms
of CPU meanwhile), ``fit`` 122 ms against 95 (run recording ~8 ms: the record and the
weights' bytes snapshotted on the training thread; the UI thread ~17 ms of CPU: starting
the run's curves, progress, the Runs list), the end of recording ~14 ms (waiting for the
last files' fsyncs), evaluation 24 ms against 15, and ~15 ms of hand-overs (thread start,
the started signal, the finished slots). Changes: the recorder's end of training runs beside
the evaluation (``app.training_recording``), and a run's start and end re-read only its own
record for the Runs panel (the end after ``finished``) instead of every record in the store.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[2] / "resources" / "examples" / "digits_cnn.lcproj"


def measure_in_subprocess(epochs: int, repeats: int) -> dict:
    command = [sys.executable, "-m", "benchmarks.training.app_overhead"]
    command += ["--epochs", str(epochs), "--repeats", str(repeats)]
    out = subprocess.run(command, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"the app-overhead run failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _headless_run(project, epochs: int, runs: Path | None = None) -> float:
    """One headless run; ``runs``: record it there, as ``layercanvas train`` does."""
    from app.training_results import evaluate_model
    from engine.graph.session import prepare_training

    start = time.perf_counter()
    setup = prepare_training(project, epochs=epochs)
    callbacks = []
    if runs is not None:
        from engine.runs import RunStore
        from engine.runs.record import record_run

        callbacks.append(record_run(RunStore(runs), setup, source="cli"))
    setup.model.fit(**setup.fit_arguments(callbacks))
    evaluate_model(setup.model, setup.data, batch_size=max(setup.batch_size, 256))
    return time.perf_counter() - start


def _app_run(app, window) -> tuple[float, float]:
    """Seconds from Train to the end of ``finished``'s slots, and to the end of what they
    queued (the end-of-run refreshes)."""
    from PySide6.QtCore import QEventLoop

    loop = QEventLoop()
    outcome = []
    signals = (window.controller.finished, window.controller.stopped, window.controller.failed)
    for signal in signals:
        signal.connect(loop.quit)
        signal.connect(outcome.append)
    start = time.perf_counter()
    if not window.train():
        raise RuntimeError("the window refused to train the example")
    loop.exec()
    elapsed = time.perf_counter() - start
    app.processEvents()  # what the outcome's slots queued for the next turn of the loop
    settled = time.perf_counter() - start
    for signal in signals:
        signal.disconnect(loop.quit)
        signal.disconnect(outcome.append)
    if isinstance(outcome[0], str):
        raise RuntimeError(f"training in the app failed: {outcome[0]}")
    # Let the window take the result (curves, confusion matrix) before the next run.
    window.controller.shutdown()
    app.processEvents()
    return elapsed, settled


def run(epochs: int, repeats: int) -> dict:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    data_dir = tempfile.mkdtemp(prefix="layercanvas-bench-")
    os.environ.setdefault("LAYERCANVAS_DATA_DIR", data_dir)
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication, QMessageBox

    from app.main_window import MainWindow
    from app.settings import AppSettings

    app = QApplication.instance() or QApplication([])
    # Replacing the trained model between runs must not wait on a dialog.
    QMessageBox.question = staticmethod(lambda *a, **k: QMessageBox.StandardButton.Discard)
    settings = AppSettings(QSettings(str(Path(data_dir) / "s.ini"), QSettings.Format.IniFormat))
    window = MainWindow(settings=settings)
    window.resize(1400, 900)
    window.show()
    if not window.open_example(EXAMPLE, ask=False):
        raise RuntimeError(f"cannot open {EXAMPLE}")
    window.training_panel.epochs_box.setValue(epochs)
    project = window.editor.project
    _headless_run(project, 1)  # warm-up: dataset cache, first-call allocations
    runs = Path(data_dir) / "headless.runs"
    app_t, settled_t, headless_t, recorded_t = [], [], [], []
    for _ in range(repeats):
        elapsed, settled = _app_run(app, window)
        app_t.append(elapsed)
        settled_t.append(settled)
        headless_t.append(_headless_run(window.editor.project, epochs))
        recorded_t.append(_headless_run(window.editor.project, epochs, runs))
    window.controller.shutdown()
    window.close()
    app_s, headless_s = statistics.median(app_t), statistics.median(headless_t)
    recorded_s = statistics.median(recorded_t)
    return {
        "workload": "app",
        "epochs": epochs,
        "app_s": app_s,
        "app_settled_s": statistics.median(settled_t),
        "headless_s": headless_s,
        "headless_recorded_s": recorded_s,
        "overhead": app_s / headless_s - 1,
        "overhead_vs_recorded": app_s / recorded_s - 1,
        "load": os.getloadavg()[0],
        "app_runs_s": app_t,
        "headless_runs_s": headless_t,
        "headless_recorded_runs_s": recorded_t,
    }


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    result = run(args.epochs, args.repeats)
    print(json.dumps(result), flush=True)
    os._exit(0)  # skip Qt's teardown of a window whose worker threads have all ended


if __name__ == "__main__":
    main()
