"""The per-class report beside the confusion matrix: its numbers against
``sklearn.metrics.precision_recall_fscore_support``, the table a user reads, following the
confusion matrix, and the real window after a short training run (with a screenshot)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("PySide6")
sklearn_metrics = pytest.importorskip("sklearn.metrics")

from widgets.class_report import ClassReportWidget, beside, class_report  # noqa: E402
from widgets.confusion_matrix import ConfusionMatrixWidget, confusion_matrix  # noqa: E402

EXAMPLES = Path(__file__).resolve().parents[2] / "resources" / "examples"
RNG = np.random.default_rng(5)


def sklearn_report(y_true, y_pred, k):
    labels = list(range(k))
    per_class = sklearn_metrics.precision_recall_fscore_support(
        y_true, y_pred, labels=labels, zero_division=0
    )
    averages = {
        avg: sklearn_metrics.precision_recall_fscore_support(
            y_true, y_pred, labels=labels, average=avg, zero_division=0
        )[:3]
        for avg in ("macro", "weighted")
    }
    return per_class, averages


def labels_with_gaps(n=150, k=5):
    """Labels where class 3 is never predicted and class 4 never occurs (undefined ratios)."""
    y_true = RNG.integers(0, 4, size=n)
    y_pred = np.where(RNG.uniform(size=n) < 0.7, y_true, RNG.integers(0, 5, size=n))
    y_pred[y_pred == 3] = 2
    return y_true, y_pred, k


def test_report_numbers_match_sklearn():
    for y_true, y_pred, k in (labels_with_gaps(), (RNG.integers(0, 3, 40),) * 2 + (3,)):
        report = class_report(confusion_matrix(y_true, y_pred, k))
        (precision, recall, f1, support), averages = sklearn_report(y_true, y_pred, k)
        np.testing.assert_allclose(report.precision, precision, atol=1e-12)
        np.testing.assert_allclose(report.recall, recall, atol=1e-12)
        np.testing.assert_allclose(report.f1, f1, atol=1e-12)
        np.testing.assert_array_equal(report.support, support)
        np.testing.assert_allclose(report.macro, averages["macro"], atol=1e-12)
        np.testing.assert_allclose(report.weighted, averages["weighted"], atol=1e-12)
    with pytest.raises(ValueError, match="square"):
        class_report(np.zeros((2, 3), dtype=int))


def test_table_shows_each_class_and_the_averages(qtbot):
    widget = ClassReportWidget()
    qtbot.addWidget(widget)
    y_true, y_pred, k = labels_with_gaps()
    names = ["cat", "dog", "fox", "owl", "yak"]
    widget.set_predictions(y_true, y_pred, names, k)
    (precision, recall, f1, support), averages = sklearn_report(y_true, y_pred, k)
    rows = widget.rows()
    assert [r[0] for r in rows] == [*names, "macro avg", "weighted avg"]
    for i in range(k):
        assert rows[i][1:] == [
            f"{precision[i]:.3f}",
            f"{recall[i]:.3f}",
            f"{f1[i]:.3f}",
            f"{support[i]:,}",
        ]
    for row, avg in zip(rows[k:], ("macro", "weighted")):
        assert row[1:4] == [f"{v:.3f}" for v in averages[avg]]
        assert row[4] == str(len(y_true))
    assert "never predicted" in widget.table.item(3, 1).toolTip()
    assert "accuracy" in widget.title.text()
    widget.clear()
    assert widget.report is None and widget.table.rowCount() == 0


def test_report_follows_the_confusion_matrix(qtbot):
    matrix = ConfusionMatrixWidget()
    report = ClassReportWidget(follow=matrix)
    view = beside(matrix, report)
    qtbot.addWidget(view)
    assert report.report is None
    y_true, y_pred = RNG.integers(0, 3, 60), RNG.integers(0, 3, 60)
    matrix.set_predictions(y_true, y_pred, ["a", "b", "c"])
    np.testing.assert_allclose(
        report.report.recall, sklearn_metrics.recall_score(y_true, y_pred, average=None)
    )
    assert report.report.names == ("a", "b", "c")
    matrix.clear("regression")
    assert report.report is None


def test_the_window_shows_the_report_after_training(qtbot, tmp_path, monkeypatch):
    from PySide6.QtCore import QSettings, Qt  # noqa: PLC0415
    from PySide6.QtWidgets import QMessageBox  # noqa: PLC0415

    from app.main_window import MainWindow  # noqa: PLC0415
    from app.settings import AppSettings  # noqa: PLC0415

    monkeypatch.setattr(
        QMessageBox, "question", staticmethod(lambda *a, **k: QMessageBox.StandardButton.Discard)
    )
    settings = AppSettings(QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    window = MainWindow(settings=settings)
    qtbot.addWidget(window)
    window.resize(1400, 900)
    window.show()
    qtbot.waitExposed(window)
    try:
        assert window.open_example(EXAMPLES / "digits_mlp.lcproj", ask=False)
        panel = window.training_panel
        panel.epochs_box.setValue(2)
        with qtbot.waitSignal(window.controller.finished, timeout=120000) as blocker:
            qtbot.mouseClick(panel.train_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: panel.class_report.report is not None, timeout=10000)
        evaluation = blocker.args[0].evaluation
        y_true, y_pred = evaluation.y_true.reshape(-1), evaluation.y_pred.reshape(-1)
        (precision, recall, f1, support), averages = sklearn_report(y_true, y_pred, 10)
        report = panel.class_report.report
        np.testing.assert_allclose(report.precision, precision, atol=1e-12)
        np.testing.assert_allclose(report.recall, recall, atol=1e-12)
        np.testing.assert_allclose(report.f1, f1, atol=1e-12)
        np.testing.assert_array_equal(report.support, support)
        np.testing.assert_allclose(report.macro, averages["macro"], atol=1e-12)
        np.testing.assert_allclose(report.weighted, averages["weighted"], atol=1e-12)
        panel.show_message_tab("Confusion")
        qtbot.wait(50)
        tab = panel.tabs.currentWidget()
        assert panel.confusion.isVisible() and panel.class_report.isVisible()
        assert tab.isAncestorOf(panel.class_report)
        assert panel.class_report.rows()[-2][0] == "macro avg"
        table = panel.class_report.table
        last = table.visualItemRect(table.item(table.rowCount() - 1, 0))
        assert table.viewport().rect().contains(last), "the weighted average row is cut off"
        panel.grab().save(str(tmp_path / "class_report.png"))
        panel.grab().save("/tmp/class_report.png")  # looked at by hand when the layout changes
    finally:
        window.controller.shutdown()
