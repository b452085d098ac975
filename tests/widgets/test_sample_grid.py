"""The sample grid: images as pixmaps, filters and orders, wrong answers framed in red."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("PySide6")

from widgets.sample_grid import SampleGrid, SampleSet, image_to_qimage  # noqa: E402


def _digits_like(n=40, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.random((n, 1, 8, 8)).astype(np.float32)
    y = rng.integers(0, 10, n)
    pred = y.copy()
    wrong = rng.choice(n, 7, replace=False)
    pred[wrong] = (y[wrong] + 1) % 10
    conf = rng.random(n)
    return SampleSet(x, y, pred, class_names=[f"d{i}" for i in range(10)], confidence=conf)


def test_sample_set_checks_lengths_and_knows_its_kind():
    with pytest.raises(ValueError, match="3 samples, 2 labels"):
        SampleSet(np.zeros((3, 2)), np.zeros(2), np.zeros(3))
    with pytest.raises(ValueError, match="texts"):
        SampleSet(np.zeros((2, 4)), [0, 1], [0, 1], texts=["a"])
    assert SampleSet(np.zeros((2, 1, 4, 4)), [0, 1], [0, 1]).kind == "image"
    assert SampleSet(np.zeros((2, 5, 1)), [0, 1], [0, 1]).kind == "sequence"
    assert SampleSet(np.zeros((2, 5)), [0, 1], [0, 1]).kind == "table"
    assert SampleSet(np.zeros((2, 5)), [0, 1], [0, 1], texts=["a", "b"]).kind == "text"


def test_regression_highlights_errors_far_above_the_typical_one():
    y = np.zeros((6, 1))
    pred = np.array([[0.1], [-0.1], [0.12], [0.09], [1.5], [-0.11]])
    samples = SampleSet(np.zeros((6, 2)), y, pred, task="regression")
    np.testing.assert_allclose(samples.errors(), np.abs(pred[:, 0]))
    np.testing.assert_array_equal(samples.wrong(), [False, False, False, False, True, False])
    assert samples.label(pred[4]) == "1.5"


def test_grey_and_rgb_images_become_the_right_pixels():
    grey = np.array([[[0.0, 0.5], [1.0, 0.25]]])
    image = image_to_qimage(grey, 0.0, 1.0)
    assert (image.width(), image.height()) == (2, 2)
    assert [image.pixelColor(x, y).red() for y in range(2) for x in range(2)] == [0, 127, 255, 63]
    rgb = np.zeros((3, 1, 1))
    rgb[2] = 1.0  # blue channel only
    color = image_to_qimage(rgb, 0.0, 1.0).pixelColor(0, 0)
    assert (color.red(), color.green(), color.blue()) == (0, 0, 255)
    with pytest.raises(ValueError):
        image_to_qimage(np.zeros(5))


@pytest.fixture
def grid(qtbot):
    widget = SampleGrid()
    qtbot.addWidget(widget)
    widget.resize(520, 420)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def test_filters_and_orders(grid, qtbot):
    samples = _digits_like()
    wrong = np.flatnonzero(samples.y_true != samples.y_pred)
    with qtbot.waitSignal(grid.counts_changed) as blocker:
        grid.set_samples(samples)
    assert blocker.args == [40, 40, 7]
    np.testing.assert_array_equal(grid.shown, np.arange(40))

    grid.set_only_wrong(True)
    np.testing.assert_array_equal(grid.shown, wrong)
    grid.set_only_wrong(False)

    grid.set_order("wrong first")
    assert set(grid.shown[:7]) == set(wrong)
    grid.set_order("least confident first")
    np.testing.assert_array_equal(grid.shown, np.argsort(samples.confidence, kind="stable"))

    i = int(wrong[0])
    cell = (int(samples.y_true[i]), int(samples.y_pred[i]))
    grid.set_order("as in the data")
    grid.set_cell_filter(cell)
    expected = np.flatnonzero((samples.y_true == cell[0]) & (samples.y_pred == cell[1]))
    np.testing.assert_array_equal(grid.shown, expected)
    assert "true d" in grid._summary.text()
    grid.set_cell_filter(None)
    assert len(grid.shown) == 40


def test_wrong_tiles_get_a_red_frame(grid, qtbot):
    samples = _digits_like()
    grid.set_samples(samples)
    qtbot.wait(20)
    image = grid.canvas.grab().toImage()
    ratio = image.width() / grid.canvas.width()

    def frame_color(position):
        rect = grid.tile_rect(position)
        return image.pixelColor(
            int((rect.left() + rect.width() / 2) * ratio), int((rect.top() + 1.5) * ratio)
        )

    visible = [p for p in range(len(grid.shown)) if grid.tile_rect(p).bottom() < 400]
    wrong = [p for p in visible if samples.y_true[p] != samples.y_pred[p]]
    right = [p for p in visible if samples.y_true[p] == samples.y_pred[p]]
    assert wrong and right
    for p in wrong:
        c = frame_color(p)
        assert c.red() > 150 and c.red() > c.green() + 60
    for p in right[:5]:
        c = frame_color(p)
        assert abs(c.red() - c.green()) < 40


def test_images_are_cached_pixmaps_of_the_tile_size(grid):
    grid.set_samples(_digits_like())
    first = grid.pixmap(3)
    assert grid.pixmap(3) is first
    assert first.width() == grid.image_size


def test_table_and_text_rows(grid):
    x = np.array([[5.1, 3.5], [6.2, 2.9]])
    grid.set_samples(SampleSet(x, [0, 1], [0, 0], class_names=["a", "b"], feature_names=["w", "h"]))
    assert grid.row_text(0) == "w 5.1 · h 3.5"
    assert "Predicted: a" in grid.describe(1) and "True: b" in grid.describe(1)
    grid.set_samples(SampleSet(np.zeros((1, 3)), [1], [1], texts=["not bad at all"]))
    assert grid.row_text(0) == "not bad at all"
    assert not grid.canvas.grab().isNull()
    grid.clear()
    assert grid.samples is None and len(grid.shown) == 0
