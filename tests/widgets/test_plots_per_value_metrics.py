"""A metric that fit logs once per class or threshold (``f1_score_0`` ... ``f1_score_9``)
is drawn in one plot, one curve per index, rather than as ten plots; a second metric of
the same name (``auc_1`` beside ``auc``) keeps its own plot; the CSV keeps every value."""

from __future__ import annotations

import csv

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pyqtgraph")

from widgets.plots import TrainingPlots  # noqa: E402


@pytest.fixture
def plots(qtbot):
    plots = TrainingPlots(dark=False)
    qtbot.addWidget(plots)
    plots.resize(600, 700)
    return plots


def test_per_class_values_share_one_plot_and_the_csv_keeps_them(plots, tmp_path):
    for epoch in range(3):
        batch = {"loss": [1.0 - 0.1 * epoch], "accuracy": [0.5 + 0.1 * epoch]}
        batch.update({f"f1_score_{i}": [0.1 * i] for i in range(10)})
        plots.add_batches([epoch + 1.0], batch)
        logs = {"loss": 1.0 - 0.1 * epoch, "val_loss": 1.1, "auc": 0.8, "auc_1": 0.7}
        for i in range(10):
            logs[f"f1_score_{i}"] = 0.05 * i + 0.1 * epoch
            logs[f"val_f1_score_{i}"] = 0.05 * i + 0.09 * epoch
        plots.add_epoch(epoch, logs)
    plots.flush()
    assert plots.plot_names() == ["loss", "accuracy", "auc", "auc_1", "f1_score", "learning_rate"]
    x, y = plots.drawn("val_f1_score_3")
    assert list(x) == [1.0, 2.0, 3.0] and y == pytest.approx([0.15, 0.24, 0.33])
    legend = [label.text for _, label in plots._plots["f1_score"].legend.items]
    assert legend == [str(i) for i in range(10)]  # one entry per class, val lines only
    assert "f1_score_3" not in plots.keys("batch")  # no running per-class curves
    path = plots.export_csv(tmp_path / "curves.csv")
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 3 and float(rows[2]["val_f1_score_9"]) == pytest.approx(0.63)
    plots.grab().save(str(tmp_path / "plots.png"))
