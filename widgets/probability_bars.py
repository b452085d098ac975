"""A bar chart of class probabilities with the class names beneath, the top class
highlighted: the live prediction beside the sketch pad."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPainter, QPaintEvent
from PySide6.QtWidgets import QSizePolicy, QWidget

__all__ = ["ProbabilityBars"]


class ProbabilityBars(QWidget):
    """Vertical bars of class probabilities with the class names beneath; the top class is
    highlighted."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._probs: np.ndarray | None = None
        self._names: list[str] = []
        self.setMinimumSize(200, 120)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def set_probabilities(self, probs: np.ndarray | None, names: Sequence[str] = ()) -> None:
        self._probs = None if probs is None else np.asarray(probs, dtype=np.float64)
        n = 0 if self._probs is None else len(self._probs)
        names = [str(s) for s in names]
        self._names = names if len(names) == n else [str(i) for i in range(n)]
        self.update()

    def probabilities(self) -> np.ndarray | None:
        return None if self._probs is None else self._probs.copy()

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt's name
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        pal = self.palette()
        painter.fillRect(self.rect(), pal.window().color())
        text = pal.windowText().color()
        if self._probs is None or not len(self._probs):
            painter.setPen(QColor(text.red(), text.green(), text.blue(), 150))
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "No prediction yet")
            return
        probs = self._probs
        metrics = QFontMetricsF(self.font())
        label_h = metrics.height() + 4
        value_h = metrics.height() + 2
        n = len(probs)
        area = QRectF(4, value_h + 2, self.width() - 8, self.height() - label_h - value_h - 4)
        slot = area.width() / n
        bar_w = max(3.0, slot * 0.7)
        best = int(np.argmax(probs))
        small = QFont(self.font())
        small.setPointSizeF(max(6.5, self.font().pointSizeF() - 1.5))
        for i, p in enumerate(probs):
            x = area.left() + i * slot + (slot - bar_w) / 2
            track = QRectF(x, area.top(), bar_w, area.height())
            painter.fillRect(track, QColor(128, 128, 128, 40))
            h = area.height() * float(np.clip(p, 0.0, 1.0))
            color = QColor("#3d8bfd") if i == best else QColor("#7d8590")
            painter.fillRect(QRectF(x, area.bottom() - h, bar_w, h), color)
            painter.setPen(text)
            painter.setFont(self.font())
            name = metrics.elidedText(self._names[i], Qt.TextElideMode.ElideRight, slot)
            painter.drawText(
                QRectF(area.left() + i * slot, area.bottom() + 2, slot, label_h),
                Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop,
                name,
            )
            if p >= 0.005 and slot >= 22:
                painter.setFont(small)
                painter.drawText(
                    QRectF(area.left() + i * slot, area.bottom() - h - value_h, slot, value_h),
                    Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignBottom,
                    f"{p:.0%}",
                )
