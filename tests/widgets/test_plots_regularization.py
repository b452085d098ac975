"""The weight penalty (``regularization_loss`` in fit's logs) is drawn as its own curve in
the loss plot, apart from the data loss, with its own legend entry."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pyqtgraph")

from PySide6.QtCore import Qt  # noqa: E402

from widgets.plots import TrainingPlots  # noqa: E402


@pytest.fixture
def plots(qtbot):
    plots = TrainingPlots(dark=False)
    qtbot.addWidget(plots)
    plots.resize(600, 500)
    return plots


def _legend_names(plot) -> list[str]:
    return [label.text for _, label in plot.legend.items]


def test_the_regularization_loss_is_its_own_curve_beside_the_loss(plots):
    plots.add_batches([0.5, 1.0], {"loss": [1.2, 1.0], "regularization_loss": [0.05, 0.04]})
    for epoch, (loss, penalty, val) in enumerate([(1.0, 0.04, 1.1), (0.7, 0.03, 0.8)]):
        plots.add_epoch(epoch, {"loss": loss, "regularization_loss": penalty, "val_loss": val})
    plots.flush()
    assert plots.plot_names() == ["loss", "learning_rate"]  # no plot of its own
    x, y = plots.drawn("regularization_loss")
    assert list(x) == [1.0, 2.0] and list(y) == [0.04, 0.03]
    assert list(plots.drawn("loss")[1]) == [1.0, 0.7]  # the data loss is untouched
    loss_plot = plots._plots["loss"]
    names = _legend_names(loss_plot)
    assert "regularization loss" in names and "loss (epoch)" in names
    penalty = plots._epoch_series["regularization_loss"].item
    loss = plots._epoch_series["loss"].item
    assert penalty.getViewBox() is loss_plot.getViewBox()
    assert penalty.opts["pen"].style() == Qt.PenStyle.DashLine
    assert (
        penalty.opts["pen"].color()
        != plots._epoch_series["val_loss"].item.opts["symbolBrush"].color()
    )
    assert loss.opts["pen"] is None  # the data loss stays points, as before
    # The per-batch running penalty is faint, dashed and without a legend entry.
    batch = plots._batch_series["regularization_loss"].item
    assert batch.opts["pen"].style() == Qt.PenStyle.DashLine
    assert batch.opts["pen"].color().alpha() < 255
    np.testing.assert_allclose(plots.drawn("regularization_loss", "batch")[1], [0.05, 0.04])


def test_a_run_without_regularizers_has_no_penalty_curve(plots):
    plots.add_epoch(0, {"loss": 1.0, "val_loss": 1.1})
    plots.flush()
    assert "regularization_loss" not in plots.keys("epoch")
    assert not any("regularization" in n for n in _legend_names(plots._plots["loss"]))
