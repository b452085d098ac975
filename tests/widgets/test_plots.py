"""Live training curves: growing buffers, smoothing, the redraw timer, CSV/PNG export."""

from __future__ import annotations

import csv
import math
import time

import numpy as np
import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pyqtgraph")

from widgets.plots import MAX_REFRESH_HZ, GrowingBuffer, TrainingPlots, ema  # noqa: E402

# -- GrowingBuffer --------------------------------------------------------------------------------


def test_buffer_keeps_every_row_and_doubles_its_capacity():
    buffer = GrowingBuffer(2, capacity=4)
    reference = []
    rng = np.random.default_rng(0)
    capacities = set()
    for _ in range(50):
        rows = rng.normal(size=(int(rng.integers(1, 7)), 2))
        buffer.extend(rows)
        reference.extend(rows.tolist())
        capacities.add(buffer.capacity)
    np.testing.assert_array_equal(buffer.view(), np.array(reference))
    assert len(buffer) == len(reference)
    # Capacities are the initial one times powers of two: amortised O(1) appends.
    assert all(c % 4 == 0 and (c // 4) & (c // 4 - 1) == 0 for c in capacities)
    assert buffer.capacity < 2 * len(reference) * 2


def test_buffer_view_is_not_a_copy_and_clear_keeps_capacity():
    buffer = GrowingBuffer(1, capacity=8)
    buffer.append([1.0])
    view = buffer.view()
    assert np.shares_memory(view, buffer.view())
    buffer.clear()
    assert len(buffer) == 0 and buffer.capacity == 8
    np.testing.assert_array_equal(buffer.column(0), [])


def test_buffer_rejects_rows_of_the_wrong_width():
    buffer = GrowingBuffer(2)
    with pytest.raises(ValueError, match="rows of 2 values"):
        buffer.extend(np.zeros((3, 3)))
    with pytest.raises(ValueError):
        GrowingBuffer(0)


# -- smoothing ------------------------------------------------------------------------------------


def _ema_loop(values, smoothing):
    """TensorBoard's debiased exponential moving average, written as the plain loop."""
    out, last, weight = [], 0.0, 0.0
    for v in values:
        last = smoothing * last + (1 - smoothing) * v
        weight = smoothing * weight + (1 - smoothing)
        out.append(last / weight)
    return np.array(out)


@pytest.mark.parametrize("smoothing", [0.0, 0.3, 0.9, 0.99])
def test_ema_matches_the_loop_definition(smoothing):
    values = np.random.default_rng(1).normal(2.0, 0.5, size=400)
    np.testing.assert_allclose(ema(values, smoothing), _ema_loop(values, smoothing), rtol=1e-12)


def test_ema_starts_at_the_first_value_and_skips_non_finite_values():
    assert ema(np.array([5.0, 5.0]), 0.9)[0] == pytest.approx(5.0)
    values = np.array([1.0, np.nan, np.inf, 3.0])
    out = ema(values, 0.5)
    assert np.isfinite(out).all()
    # A weighted mean with weight zero for the bad values: same as the good ones alone,
    # with the decay of the skipped steps applied to both numerator and denominator.
    w = np.array([0.5**3, 0.5**0]) * 0.5
    assert out[-1] == pytest.approx((1.0 * w[0] + 3.0 * w[1]) / w.sum())
    with pytest.raises(ValueError):
        ema(values, 1.0)


# -- the widget -----------------------------------------------------------------------------------


@pytest.fixture
def plots(qtbot):
    widget = TrainingPlots(dark=True)
    qtbot.addWidget(widget)
    widget.resize(500, 600)
    widget.show()
    return widget


def _feed(plots, epochs=3, steps=10, seed=0):
    rng = np.random.default_rng(seed)
    all_losses = []
    for epoch in range(epochs):
        x = epoch + (np.arange(steps) + 1) / steps
        losses = 2.0 * np.exp(-x) + rng.normal(0, 0.05, steps)
        plots.add_batches(x, {"loss": losses, "accuracy": 1 - np.exp(-x)})
        plots.add_epoch(
            epoch,
            {
                "loss": float(losses.mean()),
                "accuracy": 0.5 + epoch * 0.1,
                "val_loss": float(losses.mean() + 0.1),
                "val_accuracy": 0.45 + epoch * 0.1,
                "learning_rate": 0.01 / (epoch + 1),
            },
        )
        all_losses.append(losses)
    return np.concatenate(all_losses)


def test_points_reach_the_curves_after_a_redraw(plots, qtbot):
    losses = _feed(plots)
    with qtbot.waitSignal(plots.refreshed, timeout=2000):
        pass
    x, y = plots.drawn("loss", "batch")
    np.testing.assert_allclose(y, losses)
    assert len(x) == 30 and x[-1] == pytest.approx(3.0)
    ex, ey = plots.drawn("val_accuracy")
    np.testing.assert_allclose(ex, [1, 2, 3])
    np.testing.assert_allclose(ey, [0.45, 0.55, 0.65])
    _, smooth = plots.drawn("loss", "smoothed")
    np.testing.assert_allclose(smooth, _ema_loop(losses, plots.smoothing))
    # Metrics get their own plot; validation values share the training value's plot.
    assert plots.plot_names() == ["loss", "accuracy", "learning_rate"]


def test_learning_rate_is_drawn_as_steps_over_each_epoch(plots):
    _feed(plots, epochs=2)
    x, y = plots.series("learning_rate")
    np.testing.assert_allclose(x, [0, 1, 1, 2])
    np.testing.assert_allclose(y, [0.01, 0.01, 0.005, 0.005])


def test_redraws_are_limited_by_the_timer(plots, qtbot):
    # 2,000 batches arrive one by one, as fast as possible, with the event loop running in
    # between: the curves are redrawn at most MAX_REFRESH_HZ times a second, not once per
    # batch (a fixed count of batches, so a slow machine only takes longer).
    start = time.perf_counter()
    step = 0
    while step < 2000:
        plots.add_batches([step / 100], {"loss": [1.0 / (step + 1)]})
        step += 1
        if step % 20 == 0:
            qtbot.wait(1)
    # Every point is drawn in the end, by the timer alone.
    qtbot.waitUntil(lambda: len(plots.drawn("loss", "batch")[0]) == step, timeout=5000)
    elapsed = time.perf_counter() - start
    assert 1 <= plots.refresh_count <= elapsed * MAX_REFRESH_HZ + 3
    assert plots.refresh_count < step / 4  # not once per batch


def test_the_timer_stops_when_nothing_changes(plots, qtbot):
    _feed(plots, epochs=1)
    qtbot.waitUntil(lambda: not plots._timer.isActive(), timeout=5000)
    count = plots.refresh_count
    assert count >= 1
    qtbot.wait(3 * int(1000 / MAX_REFRESH_HZ))
    assert plots.refresh_count == count
    assert not plots._timer.isActive()


def test_clear_forgets_points_and_metric_plots(plots, qtbot):
    _feed(plots)
    plots.flush()
    plots.clear()
    assert plots.plot_names() == ["loss", "learning_rate"]
    assert plots.keys("epoch") == [] and plots.keys("batch") == []
    plots.add_batches([0.5], {"loss": [1.0]})
    plots.flush()
    np.testing.assert_allclose(plots.drawn("loss", "batch")[1], [1.0])


def test_diverged_values_do_not_break_drawing(plots, qtbot):
    plots.add_batches([0.1, 0.2, 0.3], {"loss": [1.0, np.inf, np.nan]})
    plots.add_epoch(0, {"loss": math.inf, "val_loss": math.nan, "learning_rate": 1e6})
    plots.flush()
    plots._log_box.setChecked(True)
    plots.flush()
    qtbot.wait(50)
    assert not plots.grab().isNull()
    x, y = plots.drawn("loss", "batch")
    np.testing.assert_allclose(y, [1.0])  # only drawable points reach pyqtgraph
    assert len(plots.series("loss", "batch")[0]) == 3  # the buffer keeps everything


def test_export_csv_per_epoch_and_per_batch(plots, tmp_path):
    losses = _feed(plots, epochs=2, steps=5)
    path = plots.export_csv(tmp_path / "history.csv")
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["epoch"]) for r in rows] == [1, 2]
    assert float(rows[1]["val_accuracy"]) == pytest.approx(0.55)
    assert float(rows[0]["loss"]) == pytest.approx(losses[:5].mean())
    batch = plots.export_csv(tmp_path / "batches.csv", level="batch")
    with batch.open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 10
    np.testing.assert_allclose([float(r["loss"]) for r in rows], losses)
    with pytest.raises(ValueError):
        plots.export_csv(tmp_path / "x.csv", level="step")


def test_export_png_writes_an_image(plots, tmp_path):
    from PySide6.QtGui import QImage  # noqa: PLC0415

    _feed(plots)
    path = plots.export_png(tmp_path / "curves.png", width=800)
    image = QImage(str(path))
    assert not image.isNull() and image.width() == 800
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
