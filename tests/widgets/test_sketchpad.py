"""The sketchpad: drawing with the mouse, scaling like the digits were, live predictions."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("PySide6")

from widgets.sketchpad import (  # noqa: E402
    STROKE_FRACTION,
    SketchPad,
    SketchPredictor,
    as_probabilities,
    downsample,
    frame_strokes,
    supports,
    to_input,
)

# -- the numerics ---------------------------------------------------------------------------------


def test_downsample_is_the_block_mean_for_whole_blocks():
    image = np.random.default_rng(0).random((32, 32))
    expected = image.reshape(8, 4, 8, 4).mean(axis=(1, 3))  # the UCI digits' 4x4 blocks
    np.testing.assert_allclose(downsample(image, 8, 8), expected)


def test_downsample_keeps_the_mean_for_fractional_blocks():
    image = np.random.default_rng(1).random((30, 45))
    small = downsample(image, 7, 8)
    assert small.shape == (7, 8)
    # Area averaging: every input pixel's ink is spread over the cells it covers.
    assert small.mean() == pytest.approx(image.mean())


def _frame(strokes, size=64, **kwargs):
    return frame_strokes([(False, pts) for pts in strokes], size, size, **kwargs)


def _ink_box(frame):
    rows = np.flatnonzero(frame.max(axis=1) > 0.5)
    cols = np.flatnonzero(frame.max(axis=0) > 0.5)
    return rows[0], rows[-1], cols[0], cols[-1]


def test_framing_fills_the_frame_and_centres_the_drawing():
    frame = _frame([[(100, 20), (100, 180)]])  # a vertical stroke
    top, bottom, left, right = _ink_box(frame)
    assert top <= 1 and bottom >= 62  # the longer side fills the frame
    assert abs((left + right) / 2 - 31.5) <= 1  # centred across
    # The pen is STROKE_FRACTION of the frame wide, however it was drawn.
    assert right - left + 1 == pytest.approx(STROKE_FRACTION * 64, abs=2)


def test_position_size_and_screen_pen_do_not_matter():
    shape = [(0.3, 0.2), (0.7, 0.2), (0.45, 0.85)]  # a 7
    big = _frame([[(40 + 150 * x, 10 + 150 * y) for x, y in shape]])
    small = _frame([[(150 + 30 * x, 160 + 30 * y) for x, y in shape]])
    np.testing.assert_allclose(big, small, atol=0.02)
    assert 0.1 < big.mean() < 0.5


def test_the_eraser_removes_ink_and_an_empty_drawing_stays_empty():
    line = [(20.0, 100.0), (200.0, 100.0)]
    erased = frame_strokes([(False, line), (True, [(110.0, 100.0)])], 64, 64)
    kept = frame_strokes([(False, line)], 64, 64)
    assert erased[32, 30:34].max() == 0.0 and kept[32, 30:34].min() > 0.9
    assert not frame_strokes([(True, line)], 16, 16).any()
    assert not frame_strokes([], 16, 16).any()


def test_to_input_averages_blocks_into_the_model_input():
    framed = np.kron(np.eye(8), np.ones((4, 4)))  # 32 x 32, blocks of ink on the diagonal
    x = to_input(framed, (1, 8, 8))
    assert x.shape == (1, 8, 8) and x.dtype == np.float32
    np.testing.assert_allclose(x[0], np.eye(8))
    np.testing.assert_allclose(to_input(framed, (3, 8, 8))[2], np.eye(8))


def test_outputs_become_probabilities():
    probs = np.array([0.2, 0.8])
    np.testing.assert_allclose(as_probabilities(probs), probs)
    logits = np.array([1.0, 2.0, 3.0])
    expected = np.exp(logits) / np.exp(logits).sum()
    np.testing.assert_allclose(as_probabilities(logits), expected)
    np.testing.assert_allclose(as_probabilities(np.array([0.9])), [0.1, 0.9])
    np.testing.assert_allclose(as_probabilities(np.array([0.0])), [1.0, 0.0])
    p = 1 / (1 + np.exp(-3.0))
    np.testing.assert_allclose(as_probabilities(np.array([3.0])), [1 - p, p])


def test_supports_image_inputs_only():
    assert supports((1, 8, 8)) and supports((3, 32, 32))
    assert not supports((4,)) and not supports((10, 1)) and not supports((2, 8, 8))
    assert not supports(None)


# -- the widgets ----------------------------------------------------------------------------------


@pytest.fixture
def pad(qtbot):
    widget = SketchPad(resolution=112)
    qtbot.addWidget(widget)
    widget.resize(224, 224)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def _drag(qtbot, widget, points, button):
    from PySide6.QtCore import QPoint  # noqa: PLC0415

    qtbot.mousePress(widget, button, pos=QPoint(*points[0]))
    for x, y in points[1:]:
        qtbot.mouseMove(widget, QPoint(x, y))
    qtbot.mouseRelease(widget, button, pos=QPoint(*points[-1]))


def test_the_mouse_draws_and_the_right_button_erases(pad, qtbot):
    from PySide6.QtCore import Qt  # noqa: PLC0415

    assert pad.is_empty()
    with qtbot.waitSignal(pad.stroke_finished):
        _drag(qtbot, pad, [(60, 112), (112, 112), (160, 112)], Qt.MouseButton.LeftButton)
    ink = pad.ink()
    assert ink.shape == (112, 112)
    # A horizontal stroke through the middle: ink on the middle row, none at the top.
    assert ink[56, 30:80].min() > 0.9 and ink[:20].max() == 0.0
    _drag(qtbot, pad, [(60, 112), (112, 112), (160, 112)], Qt.MouseButton.RightButton)
    assert pad.ink()[56, 35:75].max() == 0.0
    pad.draw_stroke([(10, 10), (50, 50)])
    assert not pad.is_empty() and len(pad.strokes) == 3
    assert pad.strokes[1][0] is True  # the right-button stroke was an eraser
    framed = pad.framed_ink(32, 32)
    assert framed.shape == (32, 32) and framed.max() > 0.9
    pad.clear()
    assert pad.is_empty() and pad.strokes == [] and not pad.framed_ink(8, 8).any()


def test_the_predictor_feeds_the_model_and_shows_its_answer(qtbot):
    seen = []

    def predict(batch):
        seen.append(batch)
        logits = np.zeros((len(batch), 3))
        logits[:, 2] = 4.0
        return logits

    widget = SketchPredictor()
    qtbot.addWidget(widget)
    widget.resize(420, 420)
    widget.show()
    assert not widget.armed and not widget.pad.isEnabled()
    widget.set_model(predict, (1, 8, 8), ["a", "b", "c"])
    assert widget.armed and widget.pad.isEnabled()
    with qtbot.waitSignal(widget.predicted) as blocker:
        widget.pad.draw_stroke([(60, 40), (60, 180)])
    assert seen[-1].shape == (1, 1, 8, 8)
    assert seen[-1].min() >= 0.0 and seen[-1].max() <= 1.0
    probs = blocker.args[0]
    assert int(np.argmax(probs)) == 2 and probs.sum() == pytest.approx(1.0)
    np.testing.assert_allclose(widget.bars.probabilities(), probs)
    assert widget._answer.text().startswith("c")
    widget.pad.clear()
    assert widget.predict_now() is None
    widget.set_model(None, None, (), "not an image model")
    assert not widget.armed and "not an image model" in widget._status.text()
    with pytest.raises(ValueError, match="image input"):
        widget.set_model(predict, (4,), ["x"])


def test_a_failing_model_is_reported_not_raised(qtbot):
    def broken(_batch):
        raise RuntimeError("the model is busy")

    widget = SketchPredictor()
    qtbot.addWidget(widget)
    widget.set_model(broken, (1, 8, 8), [])
    widget.pad.draw_stroke([(60, 40), (60, 180)])
    assert widget.predict_now() is None
    assert "could not predict" in widget._status.text()
