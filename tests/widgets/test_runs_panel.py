"""The Runs panel and the run overlay as widgets: table cells and sorting (numbers as
numbers, blanks last), what differs highlighted, star and notes edits announced, and the
overlay drawing each run's history into the training plots."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import Qt  # noqa: E402

from engine.runs import RunStore  # noqa: E402
from tests.app.test_cli import TINY  # noqa: E402
from widgets.plots import TrainingPlots  # noqa: E402
from widgets.run_overlay import OverlayRun, RunOverlay, run_colors  # noqa: E402
from widgets.runs_panel import DIFFERS_ROLE, RunsPanel  # noqa: E402
from widgets.runs_table import BATCH, EPOCHS, LR, METRIC, NAME, NOTES, OPTIMIZER, STATUS  # noqa: E402


def make_runs(tmp_path):
    store = RunStore(tmp_path)
    runs = []
    for rate, batch, final in ((0.01, 32, 0.9), (0.1, 32, None), (0.001, 64, 0.75)):
        project = copy.deepcopy(TINY)
        project["training"]["optimizer"]["learning_rate"] = rate
        record = store.create(project, seed=0, batch_size=batch, epochs_planned=2)
        record.history = {"epoch": [1.0, 2.0], "loss": [0.8, 0.5], "val_loss": [0.9, 0.6]}
        record.final = {"loss": 0.5} if final is None else {"val_accuracy": final}
        record.status = "finished"
        store.save(record)
        runs.append(record)
    return runs


def column(panel, col):
    return [panel.table.item(r, col).text() for r in range(panel.table.rowCount())]


@pytest.fixture
def panel(qtbot):
    widget = RunsPanel()
    qtbot.addWidget(widget)
    widget.resize(1000, 300)
    widget.show()
    return widget


def test_empty_panel_says_how_runs_arrive(panel):
    assert panel.table.isHidden() and not panel.empty.isHidden()
    assert "F5" in panel.empty.text()
    assert not panel.restore_button.isEnabled()


def test_cells_and_sorting(panel, tmp_path):
    runs = make_runs(tmp_path)
    panel.set_runs(runs, live=runs[1].id)
    assert column(panel, NAME) == ["run 1", "run 2", "run 3"]
    assert column(panel, LR) == ["0.01", "0.1", "0.001"]
    assert column(panel, BATCH) == ["32", "32", "64"]
    assert column(panel, OPTIMIZER) == ["adam"] * 3
    assert column(panel, EPOCHS) == ["2", "2", "2"]
    assert column(panel, STATUS) == ["finished"] * 3
    assert column(panel, METRIC) == ["0.9  val acc", "0.5  loss", "0.75  val acc"]
    panel.table.sortItems(LR, Qt.SortOrder.AscendingOrder)  # as numbers, not as text
    assert column(panel, LR) == ["0.001", "0.01", "0.1"]
    panel.table.sortItems(BATCH, Qt.SortOrder.DescendingOrder)
    assert column(panel, BATCH)[0] == "64"


def test_selection_highlights_what_differs_and_enables_actions(panel, tmp_path, qtbot):
    runs = make_runs(tmp_path)
    panel.set_runs(runs)
    with qtbot.waitSignal(panel.selectionChanged) as blocker:
        panel.select_ids([runs[0].id, runs[2].id])
    assert blocker.args == [[runs[0].id, runs[2].id]]
    rows = [panel.row_of(runs[0].id), panel.row_of(runs[2].id)]
    for row in rows:
        assert panel.table.item(row, LR).data(DIFFERS_ROLE) is True
        assert panel.table.item(row, BATCH).data(DIFFERS_ROLE) is True
        assert not panel.table.item(row, OPTIMIZER).data(DIFFERS_ROLE)
        assert panel.table.item(row, LR).font().bold()
    other = panel.row_of(runs[1].id)
    assert not panel.table.item(other, LR).data(DIFFERS_ROLE)  # not selected: not marked
    assert set(panel.differences) == {"training.optimizer.learning_rate", "batch_size"}
    assert "learning rate" in panel.diff_label.text() and "batch size" in panel.diff_label.text()
    assert not panel.restore_button.isEnabled()  # two runs: the one-run actions wait
    panel.select_ids([runs[0].id])
    assert panel.restore_button.isEnabled()
    assert not panel.resume_button.isEnabled()  # no weights on file
    assert panel.differences == {}


def test_star_and_notes_edits_are_announced(panel, tmp_path, qtbot):
    runs = make_runs(tmp_path)
    panel.set_runs(runs)
    with qtbot.waitSignal(panel.starToggled) as star:
        rect = panel.table.visualItemRect(panel.table.item(1, 0))
        qtbot.mouseClick(panel.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert star.args == [runs[1].id, True]
    with qtbot.waitSignal(panel.notesEdited) as notes:
        panel.table.item(2, NOTES).setText("smaller batches next")
    assert notes.args == [runs[2].id, "smaller batches next"]
    with qtbot.assertNotEmitted(panel.renamed):
        panel.table.item(0, NAME).setText("   ")  # a run keeps a name
    assert panel.table.item(0, NAME).text() == "run 1"


def test_problems_banner(panel):
    panel.show_problems(["a/run.json: damaged JSON at line 1, column 2", "b/run.json: x"])
    assert not panel.banner.isHidden()
    assert "Skipped 2 run records" in panel.banner.text() and "(and 1 more)" in panel.banner.text()
    panel.show_problems([])
    assert panel.banner.isHidden()


def test_overlay_draws_each_run_and_replaces_the_last_selection(qtbot):
    plots = TrainingPlots()
    qtbot.addWidget(plots)
    overlay = RunOverlay(plots)
    colors = run_colors(2)
    a = {"epoch": [1.0, 2.0, 3.0], "loss": [1.0, 0.5, 0.25], "val_loss": [1.1, math.nan, 0.4],
         "accuracy": [0.5, 0.7, 0.8], "learning_rate": [0.1, 0.1, 0.05]}  # fmt: skip
    b = {"epoch": [1.0, 2.0], "loss": [0.9, 0.6]}
    overlay.show([OverlayRun("a", "A", colors[0], a), OverlayRun("b", "B", colors[1], b)])
    x, y = overlay.curve("a", "val_loss")
    np.testing.assert_array_equal(x, [1, 3])  # a missing value is left out, not drawn as 0
    np.testing.assert_array_equal(y, [1.1, 0.4])
    np.testing.assert_array_equal(overlay.curve("b", "loss")[1], [0.9, 0.6])
    assert "accuracy" in plots.plot_names()
    x, y = overlay.curve("a", "learning_rate")
    np.testing.assert_array_equal(x, [0, 1, 1, 2, 2, 3])  # the rate held over each epoch
    loss_items = [i for i in plots.plot_item("loss").listDataItems() if i.name() in ("A", "B")]
    assert sorted(i.opts["pen"].color().name() for i in loss_items) == sorted(colors)
    overlay.show([OverlayRun("b", "B", colors[0], b)])
    assert overlay.curve("a", "loss")[0].size == 0
    names = [i.name() for i in plots.plot_item("loss").listDataItems()]
    assert "A" not in names and "B" in names


def test_a_refresh_waits_for_the_note_being_typed(panel, tmp_path, qtbot):
    from PySide6.QtWidgets import QAbstractItemView, QLineEdit  # noqa: PLC0415

    runs = make_runs(tmp_path)
    panel.set_runs(runs)
    panel.table.editItem(panel.table.item(0, NOTES))
    editor = panel.table.findChild(QLineEdit)
    editor.setText("typed while training")
    panel.set_runs(runs)  # an epoch of the live run ended meanwhile
    assert panel.table.state() == QAbstractItemView.State.EditingState
    assert panel.table.findChild(QLineEdit) is editor
    with qtbot.waitSignal(panel.notesEdited) as notes:
        qtbot.keyClick(editor, Qt.Key.Key_Return)
    assert notes.args == [runs[0].id, "typed while training"]
    qtbot.waitUntil(lambda: panel._pending is None)
    assert panel.table.rowCount() == 3


def test_a_re_read_run_updates_its_row_only_and_keeps_order_and_selection(panel, tmp_path):
    runs = make_runs(tmp_path)
    panel.set_runs(runs, live=runs[2].id)
    panel.table.sortItems(LR, Qt.SortOrder.AscendingOrder)
    panel.select_ids([runs[0].id])
    untouched = panel.table.item(panel.row_of(runs[1].id), NAME)
    # The live run ends: its record is read again (a new object), the others are the same.
    ended = RunStore(tmp_path).load(runs[2].id)
    ended.status, ended.final = "finished", {"val_accuracy": 0.8}
    panel.set_runs([runs[0], runs[1], ended], live=None)
    assert panel.table.item(panel.row_of(runs[1].id), NAME) is untouched  # not rebuilt
    row = panel.row_of(ended.id)
    assert panel.table.item(row, STATUS).text() == "finished"
    assert panel.table.item(row, METRIC).text() == "0.8  val acc"
    assert column(panel, LR) == ["0.001", "0.01", "0.1"]  # still sorted by the rate
    assert panel.selected_ids() == [runs[0].id]
    # A new run is a new row (the whole list is laid out again).
    added = make_runs(tmp_path / "more")[0]
    panel.set_runs([runs[0], runs[1], ended, added])
    assert panel.table.rowCount() == 4 and panel.row_of(added.id) is not None
    assert panel.selected_ids() == [runs[0].id]
