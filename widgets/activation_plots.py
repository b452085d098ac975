"""The pictures of the Activations view: one painted widget for each kind of layer output.

* :class:`MapGrid` — a (C, H, W) output as C small images, one per channel, all on one
  shared colour scale (the min and max over every map), so maps can be compared;
* :class:`BarStrip` — a vector (units,) as bars around zero, with a heat strip beneath;
* :class:`SequenceHeatMap` — a (T, F) output as a heat map, time steps down, units across.

Colours come from :data:`LUT` (dark blue → teal → yellow, readable in print and by most
colour-blind readers); :class:`ColourBar` shows the scale a picture uses.
"""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QImage, QLinearGradient, QPainter, QPalette, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

__all__ = ["LUT", "BarStrip", "ColourBar", "MapGrid", "SequenceHeatMap", "to_image"]

_ANCHORS = [  # a viridis-like ramp, from low to high
    (0.00, (68, 1, 84)),
    (0.25, (59, 82, 139)),
    (0.50, (33, 145, 140)),
    (0.75, (94, 201, 98)),
    (1.00, (253, 231, 37)),
]


def _lut() -> list[int]:
    stops = np.array([a[0] for a in _ANCHORS])
    rgb = np.array([a[1] for a in _ANCHORS], dtype=np.float64)
    t = np.linspace(0.0, 1.0, 256)
    channels = [np.interp(t, stops, rgb[:, i]).round().astype(int) for i in range(3)]
    return [QColor(int(r), int(g), int(b)).rgb() for r, g, b in zip(*channels)]


LUT = _lut()


def _text(widget: QWidget) -> QColor:
    return widget.palette().color(QPalette.ColorRole.WindowText)


def _muted(widget: QWidget) -> QColor:
    color = QColor(_text(widget))
    color.setAlphaF(0.6)  # the theme's text, faded: readable on light and dark themes
    return color


def to_image(values: np.ndarray, lo: float, hi: float) -> QImage:
    """A 2-D array as an indexed image on the scale ``lo`` → ``hi`` (equal: mid colour)."""
    a = np.asarray(values, dtype=np.float64)
    span = hi - lo
    scaled = np.full(a.shape, 0.5) if span <= 0 else (a - lo) / span
    index = np.clip(np.nan_to_num(scaled, nan=0.0) * 255.0 + 0.5, 0, 255).astype(np.uint8)
    index = np.ascontiguousarray(index)
    h, w = index.shape
    image = QImage(index.data, w, h, w, QImage.Format.Format_Indexed8)
    image.setColorTable(LUT)
    return image.copy()  # own the pixels: ``index`` goes away with this frame


def _scale(values: np.ndarray) -> tuple[float, float]:
    finite = values[np.isfinite(values)]
    if not finite.size:
        return 0.0, 1.0
    return float(finite.min()), float(finite.max())


class _Plot(QWidget):
    """A painted picture with a height for its width (it sits in a scroll area)."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.values = np.zeros(0)
        self.lo, self.hi = 0.0, 1.0
        policy = QSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        policy.setHeightForWidth(True)
        self.setSizePolicy(policy)

    def set_values(self, values: np.ndarray) -> None:
        self.values = np.asarray(values, dtype=np.float64)
        self.lo, self.hi = _scale(self.values)
        self.updateGeometry()
        self.setMinimumHeight(self.heightForWidth(max(self.width(), 200)))
        self.update()

    def hasHeightForWidth(self) -> bool:  # noqa: N802 - Qt's name
        return True

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        self.setMinimumHeight(self.heightForWidth(event.size().width()))
        super().resizeEvent(event)

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        return QSize(360, self.heightForWidth(360))


class MapGrid(_Plot):
    """Feature maps (C, H, W): one tile per channel, numbered, on one shared scale."""

    GAP = 6
    LABEL = 14

    @property
    def count(self) -> int:
        return int(self.values.shape[0]) if self.values.ndim == 3 else 0

    def tile_side(self) -> int:
        if self.values.ndim != 3:
            return 48
        h, w = self.values.shape[1:]
        # Small maps are drawn as crisp blocks of at least 5 px per value, up to 96 px a tile.
        return int(min(96, max(52, 6 * max(h, w))))

    def columns(self, width: int) -> int:
        return max(1, (width - self.GAP) // (self.tile_side() + self.GAP))

    def heightForWidth(self, width: int) -> int:  # noqa: N802 - Qt's name
        rows = math.ceil(self.count / self.columns(width)) if self.count else 0
        return self.GAP + rows * (self.tile_side() + self.LABEL + self.GAP)

    def tile_rect(self, channel: int) -> QRectF:
        side, cols = self.tile_side(), self.columns(self.width())
        row, col = divmod(channel, cols)
        x = self.GAP + col * (side + self.GAP)
        y = self.GAP + row * (side + self.LABEL + self.GAP)
        h, w = self.values.shape[1:]
        if h >= w:
            return QRectF(x, y, side * w / h, side)
        return QRectF(x, y, side, side * h / w)

    def image(self, channel: int) -> QImage:
        return to_image(self.values[channel], self.lo, self.hi)

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt's name
        painter = QPainter(self)
        font = QFont(self.font())
        font.setPointSizeF(max(7.0, font.pointSizeF() * 0.8))
        painter.setFont(font)
        for c in range(self.count):
            rect = self.tile_rect(c)
            if not rect.intersects(QRectF(event.rect())):
                continue
            painter.drawImage(rect, self.image(c))
            painter.setPen(QPen(QColor("#3a3f47"), 1))
            painter.drawRect(rect)
            painter.setPen(_muted(self))
            label = QRectF(rect.left(), rect.bottom() + 1, rect.width(), self.LABEL)
            painter.drawText(label, Qt.AlignmentFlag.AlignCenter, str(c))
        painter.end()


class BarStrip(_Plot):
    """A vector: one bar per unit from zero, unit numbers beneath, and a heat strip."""

    PLOT_H = 150
    STRIP_H = 16

    def heightForWidth(self, width: int) -> int:  # noqa: N802 - Qt's name
        return self.PLOT_H + self.STRIP_H + 40

    def _frame(self) -> QRectF:
        return QRectF(48, 8, max(20.0, self.width() - 60), self.PLOT_H)

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt's name
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        values = np.nan_to_num(self.values.reshape(-1))
        n = len(values)
        frame = self._frame()
        lo, hi = min(self.lo, 0.0), max(self.hi, 0.0)
        if hi == lo:
            hi = lo + 1.0

        def y_of(v: float) -> float:
            return frame.bottom() - (v - lo) / (hi - lo) * frame.height()

        font = QFont(self.font())
        font.setPointSizeF(max(7.0, font.pointSizeF() * 0.8))
        painter.setFont(font)
        painter.setPen(_muted(self))
        for v in (hi, 0.0, lo) if lo < 0 < hi else (hi, lo):
            y = y_of(v)
            painter.drawText(
                QRectF(0, y - 8, 44, 16),
                Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                f"{v:.3g}",
            )
        painter.setPen(QPen(QColor("#4a5060"), 1))
        zero = y_of(0.0)
        painter.drawLine(frame.left(), zero, frame.right(), zero)
        step = frame.width() / max(n, 1)
        span = self.hi - self.lo
        for i, v in enumerate(values):
            t = 0.5 if span <= 0 else (v - self.lo) / span
            color = QColor.fromRgb(LUT[int(np.clip(t * 255 + 0.5, 0, 255))])
            top, bottom = sorted((y_of(float(v)), zero))
            bar = QRectF(frame.left() + i * step, top, max(1.0, step * 0.8), bottom - top)
            painter.fillRect(bar, color)
        strip = QRectF(frame.left(), frame.bottom() + 6, frame.width(), self.STRIP_H)
        if n:
            painter.drawImage(strip, to_image(values[None, :], self.lo, self.hi))
        painter.setPen(_muted(self))
        ticks = sorted({0, n // 4, n // 2, (3 * n) // 4, n - 1}) if n > 8 else range(n)
        for i in ticks:
            x = frame.left() + (i + 0.4) * step
            painter.drawText(
                QRectF(x - 20, strip.bottom() + 2, 40, 14), Qt.AlignmentFlag.AlignCenter, str(i)
            )
        painter.drawText(QRectF(0, strip.bottom() + 2, 44, 14), Qt.AlignmentFlag.AlignRight, "unit")
        painter.end()


class SequenceHeatMap(_Plot):
    """A sequence (T, F): time steps down, units across, on one colour scale."""

    LEFT = 48
    TOP = 18

    def cell(self, width: int) -> float:
        t, f = self.values.shape if self.values.ndim == 2 else (1, 1)
        return float(np.clip((width - self.LEFT - 8) / max(f, 1), 3.0, 28.0))

    def heightForWidth(self, width: int) -> int:  # noqa: N802 - Qt's name
        t = self.values.shape[0] if self.values.ndim == 2 else 1
        return int(self.TOP + t * self.cell(width) + 24)

    def map_rect(self) -> QRectF:
        t, f = self.values.shape
        c = self.cell(self.width())
        return QRectF(self.LEFT, self.TOP, f * c, t * c)

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt's name
        if self.values.ndim != 2:
            return
        painter = QPainter(self)
        t, f = self.values.shape
        rect = self.map_rect()
        painter.drawImage(rect, to_image(self.values, self.lo, self.hi))
        painter.setPen(QPen(QColor("#3a3f47"), 1))
        painter.drawRect(rect)
        font = QFont(self.font())
        font.setPointSizeF(max(7.0, font.pointSizeF() * 0.8))
        painter.setFont(font)
        painter.setPen(_muted(self))
        c = rect.height() / t
        for i in sorted({0, t // 2, t - 1}):
            painter.drawText(
                QRectF(0, rect.top() + i * c, self.LEFT - 6, c),
                Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                f"t{i}",
            )
        cw = rect.width() / f
        for j in sorted({0, f // 2, f - 1}):
            painter.drawText(
                QRectF(rect.left() + j * cw - 14, 0, cw + 28, self.TOP - 2),
                Qt.AlignmentFlag.AlignCenter,
                str(j),
            )
        painter.drawText(
            QRectF(rect.left(), rect.bottom() + 4, rect.width(), 16),
            Qt.AlignmentFlag.AlignLeft,
            "time step ↓   unit →",
        )
        painter.end()


class ColourBar(QWidget):
    """The colour scale of the picture above: low value, gradient, high value, and a note."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.lo, self.hi, self.note = 0.0, 1.0, ""
        self.setFixedHeight(34)

    def set_scale(self, lo: float, hi: float, note: str) -> None:
        self.lo, self.hi, self.note = lo, hi, note
        self.update()

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt's name
        painter = QPainter(self)
        font = QFont(self.font())
        font.setPointSizeF(max(7.0, font.pointSizeF() * 0.85))
        painter.setFont(font)
        bar = QRectF(64, 4, min(220.0, max(60.0, self.width() - 140)), 12)
        gradient = QLinearGradient(bar.topLeft(), bar.topRight())
        for stop, (r, g, b) in _ANCHORS:
            gradient.setColorAt(stop, QColor(r, g, b))
        painter.fillRect(bar, gradient)
        painter.setPen(_text(self))
        painter.drawText(
            QRectF(0, 0, 60, 20),
            Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
            f"{self.lo:.3g}",
        )
        painter.drawText(
            QRectF(bar.right() + 6, 0, 80, 20),
            Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
            f"{self.hi:.3g}",
        )
        painter.setPen(_muted(self))
        painter.drawText(
            QRectF(8, 18, self.width() - 16, 16), Qt.AlignmentFlag.AlignLeft, self.note
        )
        painter.end()
