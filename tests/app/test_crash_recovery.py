"""A real crash: a child LayerCanvas is killed with SIGKILL while editing, and the next
start offers the work back and restores it (graph, positions, data, training)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("PySide6")

if sys.platform == "win32":  # pragma: no cover - SIGKILL is POSIX
    pytest.skip("SIGKILL is POSIX", allow_module_level=True)

ROOT = Path(__file__).resolve().parents[2]

# Opens the user's project, edits it through the undo stack, writes down what it did, then
# keeps editing nothing and waits to be killed. The autosave interval is short (injected).
_EDIT_SCRIPT = """
import json, sys
from pathlib import Path
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication

app = QApplication(sys.argv[:1])
app.setApplicationName("LayerCanvas")
app.setOrganizationName("LayerCanvas")
from app.main_window import MainWindow
from app.settings import AppSettings
from engine.safe_files import write_text_atomic

out = Path(sys.argv[2])
settings = AppSettings(QSettings(str(out / "s.ini"), QSettings.Format.IniFormat))
window = MainWindow(settings=settings, autosave_interval_ms=300)
window.show()
assert window.open_project(sys.argv[1], ask=False)
editor = window.editor
editor.add_node("Dropout", (520, 180))
editor.move_nodes({"hidden": (260, 300)})
editor.set_param("hidden", "units", 48)
training = editor.settings("training")
training["epochs"] = 3
training["batch_size"] = 16
editor.set_settings("training", training)
dataset = editor.settings("dataset")
dataset["validation_split"] = 0.25
editor.set_settings("dataset", dataset)
write_text_atomic(out / "edited.json", json.dumps(editor.project.to_json()))
print("EDITED", flush=True)
app.exec()
"""

# Starts LayerCanvas as ``layercanvas`` does (run_gui), answers the recovery dialog with
# Recover, writes down what the window then shows, and quits without closing (the recovered
# work is unsaved, so its copy must stay).
_RECOVER_SCRIPT = """
import json, sys
from pathlib import Path
from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QApplication

app = QApplication(sys.argv[:1])
out = Path(sys.argv[1])
QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(out / "settings"))
from app.main_window import MainWindow, run_gui
from app.recovery import RecoveryDialog
from engine.safe_files import write_text_atomic
seen = {}

def answer():
    for widget in QApplication.topLevelWidgets():
        if isinstance(widget, RecoveryDialog) and widget.isVisible():
            table = widget.table
            seen["rows"] = [[table.item(r, c).text() for c in range(3)]
                            for r in range(table.rowCount())]
            widget.continue_button.click()
            QTimer.singleShot(200, report)
            return
    QTimer.singleShot(50, answer)

def report():
    window = next(w for w in QApplication.topLevelWidgets()
                  if isinstance(w, MainWindow) and w.isVisible())
    window.autosaver.wait()
    editor = window.editor
    seen.update(project=editor.project.to_json(), path=str(editor.path),
                modified=editor.modified, title=window.windowTitle())
    write_text_atomic(out / "recovered.json", json.dumps(seen))
    app.exit(0)  # not quit(): that would close the window and ask to save

QTimer.singleShot(50, answer)
sys.exit(run_gui())
"""


def _env(data_dir: Path) -> dict:
    return {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "PYTHONPATH": str(ROOT),
        "LAYERCANVAS_DATA_DIR": str(data_dir),
    }


def test_work_killed_with_sigkill_is_offered_back_and_restored(tmp_path):
    data_dir = tmp_path / "data"
    user_file = tmp_path / "mine.lcproj"
    user_file.write_bytes((ROOT / "resources" / "examples" / "digits_mlp.lcproj").read_bytes())
    before = user_file.read_bytes()
    recovery = data_dir / "recovery"

    child = subprocess.Popen(
        [sys.executable, "-c", _EDIT_SCRIPT, str(user_file), str(tmp_path)],
        env=_env(data_dir),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if child.poll() is not None:
                pytest.fail(f"the editing app exited early:\n{child.stderr.read()}")
            copies = list(recovery.glob("*.lcrecover")) if recovery.is_dir() else []
            if copies and (tmp_path / "edited.json").is_file():
                break
            time.sleep(0.05)
        else:
            pytest.fail("no autosave copy appeared")
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(10)  # reaped: its pid is gone, so its lock is stale
        child.stdout.close()
        child.stderr.close()
    assert child.returncode == -signal.SIGKILL
    edited = json.loads((tmp_path / "edited.json").read_text("utf-8"))
    assert user_file.read_bytes() == before  # the autosave never touched the user's file

    done = subprocess.run(
        [sys.executable, "-c", _RECOVER_SCRIPT, str(tmp_path)],
        env=_env(data_dir),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    seen = json.loads((tmp_path / "recovered.json").read_text("utf-8"))
    ((name, original, when),) = seen["rows"]
    assert name == "Digits MLP" and original == str(user_file) and when.startswith("today ")
    recovered = seen["project"]
    assert recovered["graph"] == edited["graph"]  # nodes, params, positions, edges
    nodes = {n["id"]: n for n in recovered["graph"]["nodes"]}
    assert nodes["hidden"]["position"] == [260, 300]
    assert nodes["hidden"]["params"]["units"] == 48
    assert any(n["type"] == "Dropout" and n["position"] == [520, 180] for n in nodes.values())
    assert recovered["training"] == edited["training"]
    assert recovered["training"]["epochs"] == 3 and recovered["training"]["batch_size"] == 16
    assert recovered["dataset"] == edited["dataset"]
    assert recovered["dataset"]["validation_split"] == 0.25
    assert recovered == edited
    # Opened modified, on the user's path, which stays as it was until they save.
    assert seen["modified"] and seen["path"] == str(user_file)
    assert seen["title"] == "Digits MLP* — mine.lcproj — LayerCanvas"
    assert user_file.read_bytes() == before
    # The crashed session's copy is gone; the recovered work has its own, still unsaved.
    copies = list(recovery.glob("*.lcrecover"))
    assert len(copies) == 1
    assert json.loads(copies[0].read_text("utf-8"))["project"] == edited
