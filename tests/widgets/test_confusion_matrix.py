"""The confusion-matrix heat map: counts against scikit-learn, cells, clicks, painting."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("PySide6")

from widgets.confusion_matrix import (  # noqa: E402
    ConfusionMatrixWidget,
    confusion_matrix,
    per_class_accuracy,
)


def test_counts_match_scikit_learn():
    sklearn_metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(0)
    y_true = rng.integers(0, 7, 500)
    y_pred = np.where(rng.random(500) < 0.7, y_true, rng.integers(0, 7, 500))
    expected = sklearn_metrics.confusion_matrix(y_true, y_pred, labels=range(7))
    np.testing.assert_array_equal(confusion_matrix(y_true, y_pred, 7), expected)
    recall = sklearn_metrics.recall_score(y_true, y_pred, average=None, labels=range(7))
    np.testing.assert_allclose(per_class_accuracy(expected), recall)


def test_a_class_without_samples_has_no_accuracy():
    matrix = confusion_matrix([0, 0, 2], [0, 1, 2], 3)
    acc = per_class_accuracy(matrix)
    assert acc[0] == 0.5 and np.isnan(acc[1]) and acc[2] == 1.0


def test_bad_labels_are_refused():
    with pytest.raises(ValueError, match="outside the 3 classes"):
        confusion_matrix([0, 3], [0, 1], 3)
    with pytest.raises(ValueError, match="2 true labels but 1"):
        confusion_matrix([0, 1], [0], 2)


@pytest.fixture
def widget(qtbot):
    w = ConfusionMatrixWidget()
    qtbot.addWidget(w)
    w.resize(480, 400)
    w.show()
    qtbot.waitExposed(w)
    return w


def _cell_center(widget, row, col):
    geo = widget._layout()
    grid, cell = geo["grid"], geo["cell"]
    return grid.left() + (col + 0.5) * cell, grid.top() + (row + 0.5) * cell


def test_widget_counts_titles_and_describes(widget):
    widget.set_predictions([0, 0, 1, 2, 2, 2], [0, 1, 1, 2, 2, 0], ["cat", "dog", "bird"])
    np.testing.assert_array_equal(widget.matrix, [[1, 1, 0], [0, 1, 0], [1, 0, 2]])
    assert widget._title.startswith("Accuracy 66.7%")
    assert (
        widget.describe_cell(2, 0)
        == "1 sample of class bird predicted as cat (33.3% of class bird)"
    )
    assert "classified right" in widget.describe_cell(2, 2)


def test_cells_map_to_positions_and_clicks_report_them(widget, qtbot):
    from PySide6.QtCore import QPoint, QPointF, Qt  # noqa: PLC0415

    rng = np.random.default_rng(1)
    labels = rng.integers(0, 10, 200)
    widget.set_predictions(labels, labels[::-1], [str(i) for i in range(10)])
    for row, col in [(0, 0), (3, 7), (9, 9), (9, 0)]:
        x, y = _cell_center(widget, row, col)
        assert widget.cell_at(QPointF(x, y)) == (row, col)
        with qtbot.waitSignal(widget.cell_clicked) as blocker:
            qtbot.mouseClick(widget, Qt.MouseButton.LeftButton, pos=QPoint(int(x), int(y)))
        assert blocker.args == [row, col]
    assert widget.cell_at(QPointF(2, 2)) is None


def test_painting_colours_the_diagonal_and_the_confusions(widget):
    widget.set_matrix(np.array([[50, 0], [10, 40]]), ["no", "yes"])
    image = widget.grab().toImage()

    def color(row, col):
        x, y = _cell_center(widget, row, col)
        # Off the count's text: a quarter cell up-left of the centre.
        cell = widget._layout()["cell"]
        return image.pixelColor(int(x - cell / 4), int(y - cell / 4))

    right, wrong, empty = color(0, 0), color(1, 0), color(0, 1)
    assert right.blue() > right.red() + 60  # correct answers in blue
    assert wrong.red() > wrong.blue() + 20  # confusions in red
    assert empty.saturation() < 40  # an empty cell keeps the neutral background


def test_set_matrix_validates_and_clear_resets(widget):
    with pytest.raises(ValueError, match="square"):
        widget.set_matrix(np.zeros((2, 3), dtype=int))
    with pytest.raises(ValueError, match="counts"):
        widget.set_matrix(np.array([[0.5]]))
    with pytest.raises(ValueError, match="class names"):
        widget.set_matrix(np.eye(2, dtype=int), ["a"])
    widget.set_matrix(np.eye(2, dtype=int))
    assert widget.class_names == ["0", "1"]
    widget.clear("nothing yet")
    assert widget.matrix is None
    assert not widget.grab().isNull()
