"""The Runs panel in the real window: runs trained from the command line and in the window
are listed, sorted, compared (overlaid curves, differing settings highlighted), restored as
one undo step, resumed from their weights and optimizer state, and exported to ONNX."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import QSettings, Qt  # noqa: E402
from PySide6.QtWidgets import QMessageBox  # noqa: E402

import engine  # noqa: E402
from app import cli  # noqa: E402
from app.main_window import MainWindow  # noqa: E402
from app.settings import AppSettings  # noqa: E402
from engine.graph.project import Project  # noqa: E402
from engine.runs import RunStore  # noqa: E402
from tests.app.test_cli import TINY  # noqa: E402
from widgets.runs_panel import DIFFERS_ROLE  # noqa: E402
from widgets.runs_table import BATCH, LR, NAME, NOTES, STAR  # noqa: E402


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


def cli_project(tmp_path, rates=(0.01, 0.1)):
    """A project trained from the command line once per learning rate."""
    path = tmp_path / "tiny.lcproj"
    for rate in rates:
        data = copy.deepcopy(TINY)
        data["training"]["optimizer"]["learning_rate"] = rate
        path.write_text(json.dumps(data))
        assert cli.main(["train", str(path), "--out", str(tmp_path / "out")]) == 0
    return path


def texts(panel, column):
    return [panel.table.item(r, column).text() for r in range(panel.table.rowCount())]


def wait_idle(qtbot, window, timeout=20000):
    qtbot.waitUntil(lambda: not window.controller.busy, timeout=timeout)


def test_cli_runs_show_up_sortable_and_overlaid(qtbot, window, tmp_path, capsys):
    path = cli_project(tmp_path)
    capsys.readouterr()
    assert window.open_project(path, ask=False)
    panel = window.runs_panel
    records = window.runs.records
    assert panel.table.rowCount() == 2 and len(records) == 2
    assert texts(panel, NAME) == ["run 1", "run 2"]
    assert texts(panel, LR) == ["0.01", "0.1"]
    assert texts(panel, BATCH) == ["32", "32"]
    metric = texts(panel, 4)[0]
    assert metric.endswith("val acc")
    assert float(metric.split()[0]) == pytest.approx(records[0].final["val_accuracy"], abs=1e-4)

    panel.table.sortItems(LR, Qt.SortOrder.DescendingOrder)
    assert texts(panel, LR) == ["0.1", "0.01"]
    panel.table.sortItems(LR, Qt.SortOrder.AscendingOrder)
    assert texts(panel, NAME) == ["run 1", "run 2"]

    panel.select_ids([r.id for r in records])
    overlay = window.runs.overlay
    for record in records:
        x, y = overlay.curve(record.id, "val_loss")
        np.testing.assert_allclose(x, [1, 2])
        np.testing.assert_allclose(y, record.history["val_loss"])
    loss_plot = window.training_panel.plots.plot_item("loss")
    drawn = [i for i in loss_plot.listDataItems() if i.name() in ("run 1", "run 2")]
    assert len(drawn) == 2  # one training-loss curve per run, each in its own colour
    assert len({i.opts["pen"].color().name() for i in drawn}) == 2
    # What differs is highlighted: the learning rate, not the batch size.
    for row in range(2):
        assert panel.table.item(row, LR).data(DIFFERS_ROLE) is True
        assert panel.table.item(row, LR).font().bold()
        assert not panel.table.item(row, BATCH).data(DIFFERS_ROLE)
    assert "learning rate" in panel.diff_label.text()
    assert "batch size" not in panel.diff_label.text()
    # One run selected: no comparison, one curve.
    panel.select_ids([records[0].id])
    assert not panel.table.item(0, LR).data(DIFFERS_ROLE)
    assert overlay.curve(records[1].id, "loss")[0].size == 0


def test_notes_and_star_are_saved_to_the_record(qtbot, window, tmp_path):
    path = cli_project(tmp_path, rates=(0.01,))
    window.open_project(path, ask=False)
    panel = window.runs_panel
    run_id = window.runs.records[0].id
    panel.table.item(0, NOTES).setText("baseline, too slow")
    qtbot.mouseClick(
        panel.table.viewport(),
        Qt.MouseButton.LeftButton,
        pos=panel.table.visualItemRect(panel.table.item(0, STAR)).center(),
    )
    record = RunStore(tmp_path / "tiny.runs").load(run_id)
    assert record.notes == "baseline, too slow" and record.starred
    assert texts(panel, STAR) == ["★"] and texts(panel, NOTES) == ["baseline, too slow"]


def test_restore_is_one_undo_step(qtbot, window, tmp_path):
    path = cli_project(tmp_path, rates=(0.01,))
    window.open_project(path, ask=False)
    editor = window.editor
    before = editor.project.to_json()
    editor.set_param("hidden", "units", 64)
    editor.remove_items(["out"])
    edited = editor.project.to_json()
    depth = editor.undo_stack.count()
    window.runs_panel.select_ids([window.runs.records[0].id])
    window.runs_panel.restore_button.click()
    assert editor.undo_stack.count() == depth + 1
    assert editor.project.to_json()["graph"] == before["graph"]
    assert set(window.view.graph_scene.node_items) == {"input", "hidden", "out"}
    editor.undo_stack.undo()
    assert editor.project.to_json() == edited
    editor.undo_stack.redo()
    assert editor.project.to_json()["graph"] == before["graph"]


def test_train_in_the_window_then_resume_from_the_stored_state(qtbot, window, tmp_path):
    path = tmp_path / "tiny.lcproj"
    path.write_text(json.dumps(TINY))
    window.open_project(path, ask=False)
    assert window.train()
    wait_idle(qtbot, window)
    store = RunStore(tmp_path / "tiny.runs")
    (first,) = store.list()[0]
    assert first.source == "app" and first.status == "finished" and first.epochs_done == 2
    assert [r.id for r in window.runs.records] == [first.id]
    steps = 5  # 150 training samples in batches of 32
    saved = engine.load_model(first.weights_path("last"), compile=True)
    assert int(saved.optimizer.iterations) == 2 * steps

    window.runs_panel.select_ids([first.id])
    assert window.runs.resume(first.id, epochs=3)
    wait_idle(qtbot, window)
    child = next(r for r in store.list()[0] if r.id != first.id)
    assert child.parent == first.id and child.initial_epoch == 2
    assert child.history["epoch"] == [3.0, 4.0, 5.0] and child.status == "finished"
    resumed = engine.load_model(child.weights_path("last"), compile=True)
    assert int(resumed.optimizer.iterations) == 5 * steps
    # The first epoch of the resumed run starts from the stored weights: its loss is close
    # to where the parent ended, not to a fresh model's.
    assert child.history["loss"][0] < first.history["loss"][0]
    assert window.runs_panel.table.rowCount() == 2
    window.runs_panel.select_ids([child.id])
    assert "(from 2)" in window.runs_panel.table.item(window.runs_panel.row_of(child.id), 5).text()


def test_export_writes_onnx_that_onnxruntime_runs(qtbot, window, tmp_path):
    ort = pytest.importorskip("onnxruntime")
    path = cli_project(tmp_path, rates=(0.01,))
    window.open_project(path, ask=False)
    record = window.runs.records[0]
    target = tmp_path / "run.onnx"
    with qtbot.waitSignal(window.runs.exported, timeout=20000):
        assert window.runs.export(record.id, target)
    model = engine.load_model(record.weights_path("last"))
    x = np.random.default_rng(0).normal(size=(7, 2)).astype(np.float32)
    session = ort.InferenceSession(str(target), providers=["CPUExecutionProvider"])
    (got,) = session.run(None, {session.get_inputs()[0].name: x})
    np.testing.assert_allclose(got, model.predict(x, verbose=0), rtol=1e-4, atol=1e-5)


def test_a_damaged_record_is_reported_once_and_skipped(qtbot, window, tmp_path):
    path = cli_project(tmp_path, rates=(0.01,))
    bad = tmp_path / "tiny.runs" / "19990101-000000-dead"
    bad.mkdir()
    (bad / "run.json").write_text('{"format": "layercanvas-run", "version": 1, "id": ')
    window.open_project(path, ask=False)
    panel = window.runs_panel
    assert panel.table.rowCount() == 1
    assert not panel.banner.isHidden()
    assert "damaged JSON" in panel.banner.text() and "19990101-000000-dead" in panel.banner.text()
    window.runs.refresh()
    assert panel.banner.isHidden() and panel.table.rowCount() == 1


def test_an_untitled_project_records_into_the_data_folder(qtbot, window, tmp_path, monkeypatch):
    monkeypatch.setenv("LAYERCANVAS_DATA_DIR", str(tmp_path / "data"))
    window.new_project(ask=False)  # untitled: its runs go to the data folder
    window.controller.start(Project.from_json(copy.deepcopy(TINY)))
    wait_idle(qtbot, window)
    (record,), problems = RunStore(tmp_path / "data" / "runs" / "untitled").list()
    assert problems == [] and record.status == "finished" and record.source == "app"
    assert [r.id for r in window.runs.records] == [record.id]
    assert "untitled runs" in window.runs_panel.location.text()
