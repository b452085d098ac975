"""The app's overhead: the digits CNN example trained from the real main window (worker
thread, live curves, progress, the Training panel) against the same run headless (the same
``prepare_training`` → ``fit`` → validation evaluation, no Qt), alternating in one process.

Runs in its own process (``python -m benchmarks.training.app_overhead``; Qt offscreen when no
display is set) and prints one JSON object; :func:`measure_in_subprocess` starts it.
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


def _headless_run(project, epochs: int) -> float:
    from app.training_results import evaluate_model
    from engine.graph.session import prepare_training

    start = time.perf_counter()
    setup = prepare_training(project, epochs=epochs)
    setup.model.fit(**setup.fit_arguments([]))
    evaluate_model(setup.model, setup.data, batch_size=max(setup.batch_size, 256))
    return time.perf_counter() - start


def _app_run(app, window) -> float:
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
    for signal in signals:
        signal.disconnect(loop.quit)
        signal.disconnect(outcome.append)
    if isinstance(outcome[0], str):
        raise RuntimeError(f"training in the app failed: {outcome[0]}")
    # Let the window take the result (curves, confusion matrix) before the next run.
    window.controller.shutdown()
    app.processEvents()
    return elapsed


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
    app_t, headless_t = [], []
    for _ in range(repeats):
        app_t.append(_app_run(app, window))
        headless_t.append(_headless_run(window.editor.project, epochs))
    window.controller.shutdown()
    window.close()
    app_s, headless_s = statistics.median(app_t), statistics.median(headless_t)
    return {
        "workload": "app",
        "epochs": epochs,
        "app_s": app_s,
        "headless_s": headless_s,
        "overhead": app_s / headless_s - 1,
        "app_runs_s": app_t,
        "headless_runs_s": headless_t,
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
