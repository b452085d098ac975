"""The live curves while a run trains: a fixed epoch axis, one paint per redraw, no redraw
while hidden, plots reused by the next run, and every point on the curves at the end."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pyqtgraph")

from widgets.plots import TrainingPlots  # noqa: E402


@pytest.fixture
def plots(qtbot):
    widget = TrainingPlots(dark=False)
    qtbot.addWidget(widget)
    widget.resize(500, 600)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def _epoch(plots, epoch, steps=20, chunk=3, metric="accuracy"):
    """One epoch's batches in updates of ``chunk`` (as the worker sends them), then its logs;
    returns the batch positions and losses sent."""
    x = epoch + (np.arange(steps) + 1) / steps
    loss = 2.0 * np.exp(-x) + 0.01 * np.sin(7 * x)
    for i in range(0, steps, chunk):
        part = slice(i, i + chunk)
        plots.add_batches(x[part], {"loss": loss[part], metric: 1 - np.exp(-x[part])})
    plots.add_epoch(
        epoch,
        {"loss": float(loss.mean()), metric: 0.5, "val_loss": 1.0, f"val_{metric}": 0.4},
    )
    return x, loss


def _x_range(plots, name="loss"):
    return plots._plots[name].getViewBox().viewRange()[0]


def test_the_epoch_axis_spans_the_planned_run_while_it_trains(plots, qtbot):
    plots.start_run(10)
    _epoch(plots, 0)
    plots.flush()
    for name in ("loss", "accuracy", "learning_rate"):
        low, high = _x_range(plots, name)
        # The planned span (with pyqtgraph's small padding), not the one epoch drawn so far.
        assert low == pytest.approx(0, abs=0.3) and high == pytest.approx(10, abs=0.3)
    plots.end_run()  # stopped after one epoch: the axis fits the points again
    plots.flush()
    qtbot.wait(10)
    low, high = _x_range(plots)
    assert high < 2


def test_points_beyond_the_planned_epochs_free_the_axis(plots):
    plots.start_run(1)
    _epoch(plots, 0)
    _epoch(plots, 1)  # more epochs than planned (a resumed run counted differently)
    plots.flush()
    assert _x_range(plots)[1] >= 2


def test_a_redraw_paints_the_view_once(plots, qtbot):
    plots.start_run(5)
    _epoch(plots, 0)
    plots.flush()
    qtbot.wait(20)
    layout = plots._layout_widget
    painted = []
    original = type(layout).paintEvent

    def counting(event):
        painted.append(event.rect())
        original(layout, event)

    layout.paintEvent = counting
    for epoch in range(1, 4):
        painted.clear()
        _epoch(plots, epoch)  # the loss falls: the loss plot's y range changes
        plots.flush()
        qtbot.wait(20)
        # The ranges are fitted before the paint, not during it (which made Qt paint twice).
        assert len(painted) == 1, painted


def test_hidden_plots_wait_and_draw_everything_when_shown(plots, qtbot):
    plots.start_run(3)
    plots.hide()
    count = plots.refresh_count
    sent = [_epoch(plots, e) for e in range(3)]
    qtbot.wait(600)
    assert plots.refresh_count == count  # nothing drawn while nobody can see it
    plots.show()
    x = np.concatenate([s[0] for s in sent])
    qtbot.waitUntil(lambda: len(plots.drawn("loss", "batch")[0]) == len(x), timeout=3000)
    np.testing.assert_allclose(plots.drawn("loss", "batch")[0], x)


def test_every_batch_and_epoch_point_is_on_the_final_curves(plots, qtbot):
    plots.start_run(4)
    sent = [_epoch(plots, e, steps=37, chunk=5) for e in range(4)]
    plots.end_run()
    x = np.concatenate([s[0] for s in sent])
    loss = np.concatenate([s[1] for s in sent])
    qtbot.waitUntil(lambda: len(plots.drawn("loss", "batch")[0]) == len(x), timeout=3000)
    np.testing.assert_allclose(plots.drawn("loss", "batch")[0], x)
    np.testing.assert_allclose(plots.drawn("loss", "batch")[1], loss)
    np.testing.assert_allclose(plots.drawn("accuracy", "batch")[1], 1 - np.exp(-x))
    np.testing.assert_allclose(plots.drawn("val_accuracy")[0], [1, 2, 3, 4])
    np.testing.assert_allclose(plots.drawn("loss")[0], [1, 2, 3, 4])
    assert len(plots.drawn("loss", "smoothed")[0]) == len(x)


def test_the_next_run_reuses_the_plots_without_the_old_curves(plots, qtbot):
    plots.start_run(2)
    _epoch(plots, 0)
    plots.flush()
    accuracy = plots._plots["accuracy"]
    legend_before = [label.text for _, label in accuracy.legend.items]

    plots.clear()
    assert plots.plot_names() == ["loss", "learning_rate"]
    assert all(not p.listDataItems() for p in plots._plots.values())
    plots.start_run(2)
    _epoch(plots, 0)
    plots.flush()
    assert plots._plots["accuracy"] is accuracy  # built once, reused
    assert [label.text for _, label in accuracy.legend.items] == legend_before
    assert len(accuracy.listDataItems()) == len(legend_before)  # no curve left from run 1

    plots.clear()  # a run with another metric: the accuracy plot is not shown
    plots.start_run(2)
    _epoch(plots, 0, metric="mae")
    plots.flush()
    assert plots.plot_names() == ["loss", "mae", "learning_rate"]


def test_the_y_ranges_hold_every_point_and_move_only_now_and_then(plots, qtbot):
    plots.start_run(5)
    ranges = set()
    refreshes = 0
    for epoch in range(5):
        x = epoch + (np.arange(45) + 1) / 45
        loss = 2.0 * np.exp(-x) + 0.02 * np.cos(11 * x)
        for i in range(0, 45, 5):
            plots.add_batches(x[i : i + 5], {"loss": loss[i : i + 5]})
            plots.flush()
            refreshes += 1
            low, high = plots._plots["loss"].getViewBox().viewRange()[1]
            drawn = plots.drawn("loss", "batch")[1]
            assert low <= drawn.min() and drawn.max() <= high  # every point in view
            assert drawn.max() - drawn.min() >= 0.5 * (high - low)  # and not lost in it
            ranges.add((low, high))
    # pyqtgraph's auto-range moved it (and drew the axis again) at every redraw.
    assert len(ranges) < refreshes / 2
    plots.end_run()  # after the run the plot fits its points as pyqtgraph does
    assert plots._plots["loss"].getViewBox().autoRangeEnabled()[1]


def test_a_new_run_reuses_the_last_runs_curves_and_drops_the_rest(plots, qtbot):
    plots.start_run(2)
    plots.add_batches([0.5], {"loss": [1.0], "accuracy": [0.3], "mae": [0.2]})
    plots.add_epoch(0, {"loss": 1.0, "accuracy": 0.3, "mae": 0.2, "val_loss": 1.2})
    plots.flush()
    loss_item = plots._batch_series["loss"].item
    val_item = plots._epoch_series["val_loss"].item
    assert plots.plot_names() == ["loss", "accuracy", "mae", "learning_rate"]

    plots.start_run(2)  # the same model again, without the mae metric
    assert plots.keys("batch") == [] and plots.keys("epoch") == []
    assert len(plots.drawn("loss", "batch")[0]) == 0
    plots.add_batches([0.5, 1.0], {"loss": [0.9, 0.8], "accuracy": [0.4, 0.5]})
    plots.flush()
    assert plots._batch_series["loss"].item is loss_item  # the same curve, emptied
    np.testing.assert_allclose(plots.drawn("loss", "batch")[1], [0.9, 0.8])
    plots.add_epoch(0, {"loss": 0.85, "accuracy": 0.45, "val_loss": 1.1})
    plots.flush()
    assert plots._epoch_series["val_loss"].item is val_item
    np.testing.assert_allclose(plots.drawn("val_loss"), [[1.0], [1.1]])
    # By the first epoch's end every key of the run has come: what it did not log goes.
    assert plots.plot_names() == ["loss", "accuracy", "learning_rate"]
    for plot in plots._plots.values():
        shown = {id(i) for i in plot.listDataItems()}
        live = [*plots._batch_series.values(), *plots._epoch_series.values()]
        assert shown <= {id(s.item) for s in live} | {id(plots._smoothed.item)}
    legend = [label.text for _, label in plots._plots["accuracy"].legend.items]
    assert legend == ["accuracy (batch)", "accuracy (epoch)"]
