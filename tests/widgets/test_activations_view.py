"""The Activations panel on its own: which picture each output rank gets, what it holds,
its colour scale and statistics, and the plain message when there is nothing to show."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("PySide6")

from PySide6.QtGui import QColor  # noqa: E402

from widgets.activation_plots import LUT, to_image  # noqa: E402
from widgets.activations_view import ActivationsView, output_kind  # noqa: E402


@pytest.fixture
def view(qtbot):
    v = ActivationsView()
    qtbot.addWidget(v)
    v.resize(380, 600)
    v.show()
    qtbot.waitExposed(v)
    return v


def test_each_rank_gets_its_picture(view):
    rng = np.random.default_rng(0)
    maps = rng.normal(size=(6, 5, 7)).astype(np.float32)
    view.show_output("c", "Conv2D", maps, "sample 1")
    assert view.plot is view.maps and view.maps.count == 6
    assert view.title.text() == "c · Conv2D · output 6 × 5 × 7"
    # One scale for all maps: the extremes over every map, whichever map holds them.
    assert (view.maps.lo, view.maps.hi) == (float(maps.min()), float(maps.max()))
    assert "shared by all 6 maps" in view.colour_bar.note
    rect = view.maps.tile_rect(5)
    assert rect.width() > rect.height()  # 5 x 7 maps keep their aspect
    view.show_output("d", "Dense", np.array([1.0, 0.0, -2.0]), "sample 1")
    assert view.plot is view.bars and view.kind == "vector"
    assert view.stats.zeros == pytest.approx(1 / 3) and view.stats.min == -2.0
    view.show_output("l", "LSTM", np.zeros((4, 3)), "sample 1")
    assert view.plot is view.sequence
    view.show_output("x", "Conv3D", np.ones((2, 2, 2, 2)), "sample 1")
    assert view.kind == "flat" and view.bars.values.shape == (16,)
    assert output_kind((5,)) == "vector" and output_kind((2, 3)) == "sequence"


def test_colours_follow_the_scale(view):
    image = to_image(np.array([[0.0, 5.0, 10.0]]), 0.0, 10.0)
    assert QColor(image.pixel(0, 0)).rgb() == LUT[0]
    assert QColor(image.pixel(2, 0)).rgb() == LUT[255]
    flat = to_image(np.array([[3.0, 3.0]]), 3.0, 3.0)  # a constant map: mid colour
    assert QColor(flat.pixel(0, 0)).rgb() == LUT[128]


def test_nothing_to_show_is_said_plainly(view):
    view.show_output("d", "Dense", np.ones(3), "sample 1")
    view.show_message("No trained model yet.")
    assert view.plot is view.message and view.values is None
    assert view.message.text() == "No trained model yet." and not view.colour_bar.isVisible()
