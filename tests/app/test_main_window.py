"""The main window: projects, title and status, settings panels through undo, files, ONNX."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import QSettings, Qt  # noqa: E402
from PySide6.QtWidgets import QFileDialog, QMessageBox  # noqa: E402

from app.main_window import MainWindow, example_projects  # noqa: E402
from app.settings import AppSettings  # noqa: E402
from engine.graph.project import load_project  # noqa: E402

EXAMPLES = Path(__file__).resolve().parents[2] / "resources" / "examples"


@pytest.fixture
def answers(monkeypatch):
    """What QMessageBox.question answers (Discard unless a test says otherwise)."""
    replies = {"default": QMessageBox.StandardButton.Discard}
    asked = []

    def question(parent, title, text, *args, **kwargs):
        asked.append(title)
        return replies.get(title, replies["default"])

    monkeypatch.setattr(QMessageBox, "question", staticmethod(question))
    replies["asked"] = asked
    return replies


@pytest.fixture
def settings(tmp_path):
    return AppSettings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))


@pytest.fixture
def window(qtbot, settings, answers):
    w = MainWindow(settings=settings)
    qtbot.addWidget(w)
    w.resize(1300, 800)
    w.show()
    qtbot.waitExposed(w)
    yield w
    w.controller.shutdown()


def test_title_shows_the_name_and_a_star_when_modified(window):
    assert window.open_example(EXAMPLES / "digits_mlp.lcproj", ask=False)
    assert window.windowTitle() == "Digits MLP — LayerCanvas"
    window.editor.add_node("Dense", (0, 300))
    assert window.windowTitle() == "Digits MLP* — LayerCanvas"
    window.actions["undo"].trigger()
    assert window.windowTitle() == "Digits MLP — LayerCanvas"


def test_status_bar_says_whether_the_graph_is_valid(window):
    window.open_example(EXAMPLES / "digits_mlp.lcproj", ask=False)
    # Flatten 0, Dense 64 x (64 + 1), Dropout 0, Dense 10 x (64 + 1): 4,810 weights.
    assert window.graph_status.text() == "✓ 4 layers · 4,810 params"
    edge = next(e for e in window.editor.graph.edges if e.target == "output")
    window.editor.disconnect_edge(edge)
    assert window.graph_status.text().startswith("✗ ")
    assert "error" in window.graph_status.text()
    assert window.graph_status.property("state") == "error"
    window.actions["undo"].trigger()
    assert window.graph_status.text() == "✓ 4 layers · 4,810 params"


def test_the_summary_lists_every_layer_with_its_shape_and_parameters(window):
    window.open_example(EXAMPLES / "digits_mlp.lcproj", ask=False)
    rows = {
        window.summary.topLevelItem(i).text(0): window.summary.topLevelItem(i)
        for i in range(window.summary.topLevelItemCount())
    }
    assert rows["flatten"].text(2) == "(64,)"
    assert rows["hidden"].text(3) == "4,160"
    assert rows["Total"].text(3) == "4,810"


def test_menus_offer_every_example_and_the_edit_actions(window):
    titles = [a.text() for a in window.examples_menu.actions()]
    assert len(titles) == len(example_projects()) >= 7
    assert "Digits CNN" in titles
    menus = {a.text().replace("&", ""): a.menu() for a in window.menuBar().actions()}
    assert list(menus) == ["File", "Edit", "View", "Train"]
    edit = [a.text().replace("&", "") for a in menus["Edit"].actions() if a.text()]
    for name in ("Delete", "Duplicate", "Select All"):
        assert name in edit


def test_save_as_writes_the_project_and_remembers_it(window, tmp_path, monkeypatch):
    window.open_example(EXAMPLES / "digits_cnn.lcproj", ask=False)
    window.editor.add_node("Dropout", (100, 300))
    target = tmp_path / "mine"
    monkeypatch.setattr(
        QFileDialog, "getSaveFileName", staticmethod(lambda *a, **k: (str(target), ""))
    )
    window.actions["save"].trigger()  # no file yet: Save asks where, like Save As
    saved = tmp_path / "mine.lcproj"
    assert saved.is_file()
    assert load_project(saved).to_json() == window.editor.project.to_json()
    assert not window.editor.modified
    assert window.windowTitle() == "Digits CNN — mine.lcproj — LayerCanvas"
    assert window.settings.recent_files()[0] == saved.resolve()
    window._fill_recent_menu()
    assert window.recent_menu.actions()[0].text() == "mine.lcproj"


def test_a_broken_file_is_reported_and_nothing_changes(window, tmp_path):
    before = window.editor
    bad = tmp_path / "bad.lcproj"
    bad.write_text('{"format": "layercanvas-project", "version": 1, "graph": ', "utf-8")
    assert not window.open_project(bad, ask=False)
    title, text = window.last_message
    assert title == "Cannot open project" and "bad.lcproj" in text
    assert "Traceback" not in text
    assert window.editor is before
    missing = tmp_path / "nowhere.lcproj"
    assert not window.open_project(missing, ask=False)
    assert window.last_message[0] == "Cannot open project"


def test_closing_a_modified_project_asks_first(window, answers):
    window.open_example(EXAMPLES / "digits_mlp.lcproj", ask=False)
    window.editor.add_node("Dense", (0, 300))
    answers["Save changes?"] = QMessageBox.StandardButton.Cancel
    assert not window.close()
    assert window.isVisible() and "Save changes?" in answers["asked"]
    answers["Save changes?"] = QMessageBox.StandardButton.Discard
    assert window.close()
    assert window.settings.geometry() is not None  # the layout is remembered


def test_new_and_open_ask_before_replacing_changes(window, answers):
    window.open_example(EXAMPLES / "digits_mlp.lcproj", ask=False)
    window.editor.add_node("Dense", (0, 300))
    modified = window.editor
    answers["Save changes?"] = QMessageBox.StandardButton.Cancel
    window.actions["new"].trigger()
    assert window.editor is modified
    answers["Save changes?"] = QMessageBox.StandardButton.Discard
    window.actions["new"].trigger()
    assert window.editor is not modified and len(window.editor.graph) == 0


def test_the_data_panel_changes_the_dataset_as_one_undo_step(window, qtbot):
    window.open_example(EXAMPLES / "digits_mlp.lcproj", ask=False)
    panel = window.data_panel
    items = panel.builtin.list.findItems("iris", Qt.MatchFlag.MatchExactly)
    panel.builtin.list.setCurrentItem(items[0])
    assert panel.apply_button.isEnabled()
    qtbot.mouseClick(panel.apply_button, Qt.MouseButton.LeftButton)
    assert window.editor.project.dataset == {"name": "iris", "validation_split": 0.2, "seed": 0}
    assert window.windowTitle().startswith("Digits MLP*")
    window.actions["undo"].trigger()
    assert window.editor.project.dataset["name"] == "digits"
    assert panel.builtin.name() == "digits" and not panel.apply_button.isEnabled()
    # The preview loads in the background and checks the data against the graph.
    qtbot.waitUntil(lambda: panel.last_preview is not None and not panel.preview_busy, timeout=5000)
    assert panel.last_preview.samples == 1797
    assert panel.fit_label.text() == "✓ The graph fits this data"


def test_the_data_panel_says_when_the_data_does_not_fit(window, qtbot):
    window.open_example(EXAMPLES / "digits_mlp.lcproj", ask=False)
    panel = window.data_panel
    panel.builtin.list.setCurrentItem(
        panel.builtin.list.findItems("iris", Qt.MatchFlag.MatchExactly)[0]
    )
    qtbot.waitUntil(
        lambda: panel.last_preview is not None and panel.last_preview.name == "iris", timeout=5000
    )
    assert "(1, 8, 8)" in panel.fit_label.text() and "(4,)" in panel.fit_label.text()


def test_training_settings_are_written_through_undo(window):
    window.open_example(EXAMPLES / "digits_mlp.lcproj", ask=False)
    panel = window.training_panel
    panel.epochs_box.setValue(7)
    panel.rate_box.setValue(0.01)
    panel.optimizer_box.setCurrentText("sgd")
    training = window.editor.project.training
    assert training["epochs"] == 7
    assert training["optimizer"] == {"name": "sgd", "learning_rate": 0.01}
    for _ in range(3):
        window.actions["undo"].trigger()
    assert window.editor.project.training == load_project(EXAMPLES / "digits_mlp.lcproj").training
    assert panel.epochs_box.value() == 30 and panel.optimizer_box.currentText() == "adam"


def test_the_rate_field_steps_along_the_1_3_10_ladder(window):
    box = window.training_panel.rate_box
    box.setValue(0.001)
    box.stepBy(1)
    assert box.value() == pytest.approx(0.003)
    box.stepBy(2)
    assert box.value() == pytest.approx(0.03)
    box.stepBy(-3)
    assert box.value() == pytest.approx(0.001)
    assert box.textFromValue(3e-5) == "3e-05"


def test_train_refuses_a_graph_with_errors(window):
    window.open_example(EXAMPLES / "digits_mlp.lcproj", ask=False)
    edge = next(e for e in window.editor.graph.edges if e.target == "output")
    window.editor.disconnect_edge(edge)
    assert not window.train()
    assert window.last_message[0] == "Cannot train yet"
    assert not window.controller.busy


def test_export_of_an_untrained_model_asks_and_verifies(window, qtbot, answers, tmp_path):
    window.open_example(EXAMPLES / "spirals_mlp.lcproj", ask=False)
    answers["Export untrained model?"] = QMessageBox.StandardButton.No
    assert not window.export_onnx(tmp_path / "no.onnx")
    answers["Export untrained model?"] = QMessageBox.StandardButton.Yes
    with qtbot.waitSignal(window.onnxExported, timeout=30000) as blocker:
        assert window.export_onnx(tmp_path / "spirals")
    report = blocker.args[0]
    assert Path(report.path) == tmp_path / "spirals.onnx" and report.checker_passed
    assert report.max_relative_error <= 1e-4
    assert window.last_message[0] == "ONNX export verified"


def test_import_onnx_makes_a_project_with_its_weights(window, tmp_path):
    from engine.graph.convert import model_from_document  # noqa: PLC0415
    from engine.onnx import export_model  # noqa: PLC0415

    source = tmp_path / "net.onnx"
    export_model(model_from_document(load_project(EXAMPLES / "digits_mlp.lcproj").graph), source)
    assert window.import_onnx(source, tmp_path / "imported")
    project = window.editor.project
    assert window.editor.path == tmp_path / "imported.lcproj"
    assert project.weights == "imported.lcmodel" and project.weights_path.is_file()
    types = sorted(n.type for n in project.graph.nodes)
    assert types.count("Dense") == 2 and "Input" in types
    garbage = tmp_path / "garbage.onnx"
    garbage.write_bytes(b"not a model")
    assert not window.import_onnx(garbage, tmp_path / "g.lcproj")
    assert window.last_message[0] == "Cannot import ONNX model"
    assert not (tmp_path / "g.lcproj").exists()


def test_export_trained_model_needs_a_trained_model(window, tmp_path):
    assert not window.export_trained_model(tmp_path / "m.lcmodel")
    assert window.last_message[0] == "No trained model"


_RUN_GUI_SCRIPT = """
import sys
from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QApplication

app = QApplication(sys.argv[:1])
QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, sys.argv[2])

def close_soon():
    from app.main_window import MainWindow
    for widget in QApplication.topLevelWidgets():
        if isinstance(widget, MainWindow) and widget.isVisible():
            print("TITLE", widget.windowTitle(), flush=True)
            widget.close()
    app.quit()

QTimer.singleShot(1500, close_soon)
from app.cli import main
print("EXIT", main([sys.argv[1]]), flush=True)
"""


def test_layercanvas_project_opens_the_window_on_it(tmp_path):
    # In a child process: a second QApplication.exec() in the test process would upset
    # the threads of later tests, and this is how ``layercanvas PROJECT`` really starts.
    import os  # noqa: PLC0415
    import subprocess  # noqa: PLC0415
    import sys  # noqa: PLC0415

    path = tmp_path / "p.lcproj"
    path.write_text(json.dumps(load_project(EXAMPLES / "sine_regression.lcproj").to_json()))
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(root)}
    done = subprocess.run(
        [sys.executable, "-c", _RUN_GUI_SCRIPT, str(path), str(tmp_path / "settings")],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=root,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith(("TITLE", "EXIT"))]
    assert lines == ["TITLE Sine regression — p.lcproj — LayerCanvas", "EXIT 0"], done.stderr
    assert "Traceback" not in done.stderr


def test_replacing_the_project_while_training_asks_to_stop_it(window, qtbot, answers):
    window.open_example(EXAMPLES / "digits_mlp.lcproj", ask=False)
    window.training_panel.epochs_box.setValue(500)
    with qtbot.waitSignal(window.controller.epoch_end, timeout=60000):
        assert window.train()
    answers["Stop training?"] = QMessageBox.StandardButton.No
    assert not window.new_project()
    assert window.controller.busy
    answers["Stop training?"] = QMessageBox.StandardButton.Yes
    assert window.new_project()
    assert not window.controller.busy
    # The model trained on the old project is not offered for the new one.
    assert window.controller.result is None
    assert window.training_panel.confusion.matrix is None
    assert window.training_panel.plots.keys("batch") == []
    assert not window.training_panel.sketch.armed


def test_an_example_opens_as_a_new_project_that_still_finds_its_files(window, qtbot):
    example = EXAMPLES / "transfer_learning.lcproj"
    if not example.is_file():
        pytest.skip("the transfer-learning example is not installed")
    assert window.open_example(example, ask=False)
    project = window.editor.project
    assert window.editor.path is None  # Save asks where: the shipped file stays as it is
    assert Path(project.weights).is_absolute() and project.weights_path.is_file()
    # The data panel shows the example's dataset exactly (class subset, 0.95 split).
    assert window.data_panel.spec() == project.dataset
    assert not window.data_panel.apply_button.isEnabled()
    window.training_panel.epochs_box.setValue(1)
    with qtbot.waitSignal(window.controller.finished, timeout=60000) as blocker:
        assert window.train()
    assert blocker.args[0].epochs_completed == 1


def test_the_data_preview_gives_the_setup_tab_its_classes(window, qtbot):
    """The window passes the Data panel's classes and training counts to the Setup tab, so
    "Balanced" class weights are offered for the project's own data."""
    window.open_example(EXAMPLES / "digits_mlp.lcproj", ask=False)
    panel = window.data_panel
    qtbot.waitUntil(lambda: panel.last_preview is not None and not panel.preview_busy, timeout=5000)
    fit = window.training_panel.form.fit_options
    assert panel.last_preview.train_class_counts is not None
    assert fit.balanced_button.isEnabled()
