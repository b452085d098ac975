"""The Experiments view's parts on a real experiment record: the trials table ranked by the
metric (best first, halving's later rungs first, waiting trials after), the parameter plot
(log axis for a log range, names on ticks, parallel coordinates), the overlaid curves of
the selected trials, and which actions the view offers in each state."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("PySide6")

from engine.experiments import ExperimentStore, resolve_params  # noqa: E402
from widgets.experiments.from_engine import chooser_label, shown_experiment  # noqa: E402
from widgets.experiments.param_plot import PARALLEL, ParamPlot  # noqa: E402
from widgets.experiments.trial_curves import TrialCurves  # noqa: E402
from widgets.experiments.trials_table import METRIC, TrialRow, TrialsTable, ranked  # noqa: E402
from widgets.experiments.view import ExperimentsView, progress_text  # noqa: E402

EXAMPLES = Path(__file__).resolve().parents[2] / "resources" / "examples"


def experiment(tmp_path, specs=("learning_rate=1e-4:1e-1:log:4",), metrics=None, **kwargs):
    """A real experiment record of the digits MLP, its trials given ``metrics``."""
    project = json.loads((EXAMPLES / "digits_mlp.lcproj").read_text())
    params = resolve_params(project, list(specs))
    store = ExperimentStore(tmp_path / "p.runs")
    exp = store.create(params, epochs=2, project=project, **kwargs)
    for trial, value in zip(exp.trials, metrics or [], strict=False):
        if value is not None:
            trial.status, trial.metric = "finished", value
    return exp


def row(trial_id, status, metric=None, rung=None, **values):
    return TrialRow(trial_id, status, values, metric=metric, rung=rung)


def test_ranked_best_first_then_waiting_ones():
    rows = [
        row("a", "finished", 0.5),
        row("b", "pending"),
        row("c", "finished", 0.9),
        row("d", "running"),
        row("e", "failed"),
        row("f", "finished", 0.7),
        row("g", "stopped", 0.99),  # a value, but cut short: after the finished ones
    ]
    assert [r.id for r in ranked(rows, "max")] == ["c", "f", "a", "d", "b", "g", "e"]
    assert [r.id for r in ranked(rows, "min")][:3] == ["a", "f", "c"]
    # Successive halving: a later rung trained longer, so it ranks first.
    rungs = [row("x", "finished", 0.95, rung=0), row("y", "finished", 0.9, rung=1)]
    assert [r.id for r in ranked(rungs, "max")] == ["y", "x"]


def test_the_table_shows_the_record_ranked(qtbot, tmp_path):
    exp = experiment(tmp_path, metrics=[0.3, 0.9, 0.6])  # the fourth is still pending
    shown = shown_experiment(exp, {})
    table = TrialsTable()
    qtbot.addWidget(table)
    params = [(p.name, p.label) for p in shown.params]
    table.set_trials(shown.rows, params, shown.metric, shown.mode)
    headers = [table.horizontalHeaderItem(c).text() for c in range(table.columnCount())]
    assert headers == ["#", "Status", "val_accuracy", "learning rate", "Epochs", "Run"]
    assert table.column_texts(METRIC) == ["0.9", "0.6", "0.3", "—"]
    assert table.column_texts(0) == ["★", "2", "3", ""]
    assert table.column_texts(3) == ["0.001", "0.01", "0.0001", "0.1"]
    assert table.column_texts(4) == ["2"] * 4
    seen = []
    table.selectionChanged.connect(seen.append)
    table.select_ids(["t003", "t001"])
    assert seen[-1] == ["t003", "t001"]  # in table order
    table.set_trials(shown.rows, params, shown.metric, shown.mode)
    assert table.selected_ids() == ["t003", "t001"]  # kept over a refresh


def test_the_scatter_uses_a_log_axis_for_a_log_range(qtbot, tmp_path):
    exp = experiment(tmp_path, metrics=[0.3, 0.9, 0.6, 0.5])
    shown = shown_experiment(exp, {})
    assert shown.params[0].log
    plot = ParamPlot()
    qtbot.addWidget(plot)
    plot.set_data(shown.params, shown.rows, shown.metric, shown.mode)
    x, y = plot.points()
    rates = [t.values["learning_rate"] for t in exp.trials]
    assert list(x) == pytest.approx(rates, rel=1e-9)
    assert list(y) == pytest.approx([0.3, 0.9, 0.6, 0.5])
    # Drawn at log10 of the rate, the ticks labelled with the rates themselves.
    drawn, _ = plot.scatter.getData()
    assert list(drawn) == pytest.approx([math.log10(r) for r in rates])
    ticks = plot.plot.getAxis("bottom")._tickLevels[0]
    assert [label for _, label in ticks] == ["0.0001", "0.001", "0.01", "0.1"]
    # A click on a point selects its trial.
    clicked = []
    plot.trialClicked.connect(clicked.append)
    best = [p for p in plot.scatter.points() if p.data() == "t002"]
    plot._on_clicked(plot.scatter, best)
    assert clicked == ["t002"]


def test_names_on_ticks_and_parallel_coordinates(qtbot, tmp_path):
    exp = experiment(
        tmp_path,
        specs=("optimizer=adam,sgd", "hidden.units=16,32"),
        metrics=[0.8, 0.9, 0.4, 0.5],
    )
    shown = shown_experiment(exp, {})
    assert not any(p.log for p in shown.params)
    plot = ParamPlot()
    qtbot.addWidget(plot)
    plot.set_data(shown.params, shown.rows, shown.metric, shown.mode)
    views = [plot.chooser.itemData(i) for i in range(plot.chooser.count())]
    assert views == ["optimizer", "hidden.units", PARALLEL]
    x, _ = plot.points()
    assert sorted(x) == [0.0, 0.0, 1.0, 1.0]  # adam, adam, sgd, sgd
    ticks = plot.plot.getAxis("bottom")._tickLevels[0]
    assert ticks == [(0.0, "adam"), (1.0, "sgd")]

    plot.chooser.setCurrentIndex(2)
    assert plot.view == PARALLEL and len(plot.lines) == 4
    # Each line crosses the optimizer, units and metric axes, each scaled to [0, 1]: the
    # best trial (adam, 32 units, 0.9) tops the metric axis, the worst (sgd, 16, 0.4) is
    # at its foot.
    ys = {tuple(np.round(line.yData, 6)) for line in plot.lines}
    assert (0.0, 1.0, 1.0) in ys  # adam, 32 units, best metric
    assert (1.0, 0.0, 0.0) in ys  # sgd, 16 units, worst metric
    assert all(0.0 <= v <= 1.0 for y in ys for v in y)


def test_curves_of_the_selected_trials(qtbot):
    rows = [
        TrialRow(
            f"t{i}",
            "finished",
            {"learning_rate": 10.0**-i},
            metric=0.5 + i / 10,
            history={
                "epoch": [1.0, 2.0, 3.0],
                "loss": [1.0, 0.8 - i / 10, 0.6 - i / 10],
                "val_loss": [1.1, 0.9, 0.7],
                "val_accuracy": [0.2, 0.4, 0.5 + i / 10],
            },
        )
        for i in range(1, 4)
    ]
    curves = TrialCurves()
    qtbot.addWidget(curves)
    curves.show_trials(rows, "val_accuracy", {"t2": "#e5484d"}, [("learning_rate", "lr")])
    x, y = curves.curve("t2", "val_accuracy")
    assert list(x) == [1.0, 2.0, 3.0] and list(y) == pytest.approx([0.2, 0.4, 0.7])
    assert list(curves.curve("t2", "loss")[1]) == pytest.approx([1.0, 0.6, 0.4])
    assert curves.curve("t1", "val_accuracy")[0].size == 0  # drawn faint, not selected
    # Every trial is drawn in the metric plot (the faint ones give the spread).
    assert len(curves.metric_plot.listDataItems()) == 3


def test_the_actions_follow_the_state(qtbot, tmp_path):
    exp = experiment(tmp_path, metrics=[0.3, 0.9])
    view = ExperimentsView()
    qtbot.addWidget(view)
    view.show()
    view.show_experiment(shown_experiment(exp, {}))
    assert view.apply_button.isEnabled()
    assert view.continue_button.isVisible()  # two trials still pending
    assert not view.stop_button.isVisible() and not view.skip_button.isVisible()
    assert progress_text(view.shown) == "2 of 4 finished · 2 left · best val_accuracy 0.9"
    view.set_running(True)
    assert view.stop_button.isVisible() and not view.continue_button.isVisible()
    assert not view.chooser.isEnabled() and not view.editor.start_button.isEnabled()
    view.set_running(False)

    fresh = experiment(tmp_path / "b")
    view.show_experiment(shown_experiment(fresh, {}))
    assert not view.apply_button.isEnabled()  # nothing finished: no best yet
    assert chooser_label(fresh) == "experiment 1 · 0/4 · pending"
