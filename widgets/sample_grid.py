"""A grid of validation samples with the model's answer beside the truth, wrong ones marked.

:class:`SampleGrid` shows each sample as a tile: images (``(N, C, H, W)`` with 1 or 3
channels) as small pixmaps drawn with crisp square pixels, sequences ``(N, T, F)`` as a
sparkline, and text or table rows as a compact line of words or ``feature value`` pairs.
Under each sample: the predicted and the true label (classes by name, regression targets as
numbers) and the model's confidence. Wrong answers get a red frame. The user can show every
sample or only the wrong ones, order them by confidence or error, and restrict the grid to
one (true, predicted) pair — what clicking a confusion-matrix cell asks for.

Only the visible tiles are painted, and each image is converted to a pixmap once, so a few
thousand samples scroll smoothly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QPointF, QRect, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetrics,
    QHelpEvent,
    QImage,
    QPainter,
    QPainterPath,
    QPaintEvent,
    QPen,
    QPixmap,
)
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QToolButton,
    QToolTip,
    QVBoxLayout,
    QWidget,
)

__all__ = ["SampleGrid", "SampleSet", "image_to_qimage"]

_WRONG = QColor("#e5534b")
_RIGHT = QColor("#3fb950")


@dataclass
class SampleSet:
    """Samples with the model's answers, as the grid shows them.

    ``x`` holds the inputs in display units (un-normalised where possible), one sample per
    row; ``y_true``/``y_pred`` class indices (classification) or values (regression);
    ``confidence`` the probability of the predicted class; ``texts`` the original texts of a
    text set; ``feature_names`` the columns of a table.
    """

    x: np.ndarray
    y_true: np.ndarray
    y_pred: np.ndarray
    task: str = "classification"
    class_names: Sequence[str] | None = None
    confidence: np.ndarray | None = None
    texts: Sequence[str] | None = None
    feature_names: Sequence[str] | None = None

    def __post_init__(self) -> None:
        self.x = np.asarray(self.x)
        self.y_true = np.asarray(self.y_true)
        self.y_pred = np.asarray(self.y_pred)
        n = len(self.x)
        if len(self.y_true) != n or len(self.y_pred) != n:
            raise ValueError(
                f"{n} samples, {len(self.y_true)} labels and {len(self.y_pred)} predictions"
            )
        if self.confidence is not None:
            self.confidence = np.asarray(self.confidence, dtype=np.float64).reshape(-1)
            if len(self.confidence) != n:
                raise ValueError(f"{len(self.confidence)} confidences for {n} samples")
        if self.texts is not None and len(self.texts) != n:
            raise ValueError(f"{len(self.texts)} texts for {n} samples")

    def __len__(self) -> int:
        return len(self.x)

    @property
    def kind(self) -> str:
        """How a sample is drawn: "image", "sequence", "text" or "table"."""
        if self.texts is not None:
            return "text"
        if self.x.ndim == 4:
            return "image"
        if self.x.ndim == 3:
            return "sequence"
        return "table"

    def errors(self) -> np.ndarray:
        """Per sample: wrong (classification) or the absolute error (regression)."""
        if self.task == "classification":
            return (self.y_true.reshape(-1) != self.y_pred.reshape(-1)).astype(np.float64)
        diff = self.y_true.reshape(len(self), -1) - self.y_pred.reshape(len(self), -1)
        return np.abs(diff).max(axis=1).astype(np.float64)

    def wrong(self) -> np.ndarray:
        """Boolean mask of the samples to highlight: misclassified, or for regression an
        error well above the typical one (more than three times the median)."""
        err = self.errors()
        if self.task == "classification":
            return err > 0
        typical = float(np.median(err)) if len(err) else 0.0
        return err > max(3.0 * typical, 1e-12)

    def label(self, value) -> str:
        if self.task == "classification":
            index = int(np.asarray(value).reshape(-1)[0])
            if self.class_names is not None and 0 <= index < len(self.class_names):
                return str(self.class_names[index])
            return str(index)
        flat = np.asarray(value, dtype=np.float64).reshape(-1)
        return ", ".join(f"{v:.3g}" for v in flat[:3]) + (" ..." if len(flat) > 3 else "")


def image_to_qimage(image: np.ndarray, lo: float | None = None, hi: float | None = None) -> QImage:
    """A ``(C, H, W)`` (or ``(H, W)``) array as an 8-bit QImage: one channel grey, three RGB,
    other counts show their first channel. Values map linearly from ``[lo, hi]`` (default:
    the image's own range) to 0..255."""
    image = np.asarray(image, dtype=np.float64)
    if image.ndim == 2:
        image = image[None]
    if image.ndim != 3:
        raise ValueError(f"expected an image (C, H, W), got shape {image.shape}")
    if image.shape[0] not in (1, 3):
        image = image[:1]
    lo = float(np.min(image)) if lo is None else lo
    hi = float(np.max(image)) if hi is None else hi
    scale = 255.0 / (hi - lo) if hi > lo else 0.0
    pixels = np.clip((image - lo) * scale, 0, 255).astype(np.uint8)
    h, w = pixels.shape[1:]
    if pixels.shape[0] == 1:
        data = np.ascontiguousarray(pixels[0])
        qimage = QImage(data.data, w, h, w, QImage.Format.Format_Grayscale8)
    else:
        data = np.ascontiguousarray(np.transpose(pixels, (1, 2, 0)))
        qimage = QImage(data.data, w, h, 3 * w, QImage.Format.Format_RGB888)
    return qimage.copy()  # own the pixels: ``data`` is freed when this function returns


class _TileCanvas(QWidget):
    """Paints the tiles of the chosen samples; lives inside the grid's scroll area."""

    def __init__(self, grid: SampleGrid):
        super().__init__()
        self._grid = grid
        self.setMouseTracking(True)

    def tile_size(self) -> QSize:
        kind = self._grid.samples.kind if self._grid.samples is not None else "image"
        if kind in ("image", "sequence"):
            return QSize(self._grid.image_size + 16, self._grid.image_size + 44)
        return QSize(max(200, self.width() - 12), 48)

    def columns(self) -> int:
        tile = self.tile_size()
        return max(1, (self.width() - 8) // (tile.width() + 8))

    def tile_rect(self, position: int) -> QRect:
        tile = self.tile_size()
        cols = self.columns()
        row, col = divmod(position, cols)
        return QRect(8 + col * (tile.width() + 8), 8 + row * (tile.height() + 8), *tile.toTuple())

    def relayout(self) -> None:
        tile = self.tile_size()
        n = len(self._grid.shown)
        rows = -(-n // self.columns()) if n else 0
        self.setMinimumHeight(max(1, 8 + rows * (tile.height() + 8)))
        self.update()

    def position_at(self, point: QPointF) -> int | None:
        for position in self._visible_positions(self.rect()):
            if self.tile_rect(position).contains(point.toPoint()):
                return position
        return None

    def _visible_positions(self, area: QRect) -> range:
        tile = self.tile_size()
        cols = self.columns()
        step = tile.height() + 8
        first = max(0, (area.top() - 8) // step) * cols
        last = min(len(self._grid.shown), ((area.bottom() - 8) // step + 1) * cols)
        return range(first, last)

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        self.relayout()

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt's name
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        pal = self.palette()
        painter.fillRect(event.rect(), pal.base().color())
        samples = self._grid.samples
        if samples is None:
            return
        for position in self._visible_positions(event.rect()):
            self._paint_tile(painter, position, samples)

    def _paint_tile(self, painter: QPainter, position: int, samples: SampleSet) -> None:
        index = int(self._grid.shown[position])
        rect = QRectF(self.tile_rect(position))
        pal = self.palette()
        text = pal.text().color()
        wrong = bool(self._grid.wrong_mask[index])
        card = pal.alternateBase().color()
        painter.setPen(QPen(_WRONG if wrong else pal.mid().color(), 2 if wrong else 1))
        painter.setBrush(card)
        painter.drawRoundedRect(rect.adjusted(1, 1, -1, -1), 5, 5)
        kind = samples.kind
        font = QFont(self.font())
        font.setPointSizeF(max(7.0, font.pointSizeF() - 1))
        painter.setFont(font)
        metrics = QFontMetrics(font)
        if kind in ("image", "sequence"):
            side = self._grid.image_size
            area = QRectF(rect.left() + 8, rect.top() + 8, side, side)
            if kind == "image":
                painter.drawPixmap(area.toRect(), self._grid.pixmap(index))
            else:
                self._paint_sparkline(painter, area, samples.x[index])
            lines = [
                f"{samples.label(samples.y_pred[index])}",
                f"true {samples.label(samples.y_true[index])}",
            ]
            y = area.bottom() + 4
            dim = QColor(text)
            dim.setAlpha(150)
            for i, line in enumerate(lines):
                painter.setPen((_WRONG if wrong else text) if i == 0 else dim)
                box = QRectF(rect.left() + 4, y, rect.width() - 8, metrics.height())
                shown = metrics.elidedText(line, Qt.TextElideMode.ElideRight, int(box.width()))
                painter.drawText(box, Qt.AlignmentFlag.AlignHCenter, shown)
                y += metrics.height()
            return
        # Text and table rows: the content on the first line, the answer on the second.
        content = self._grid.row_text(index)
        answer = (
            f"predicted {samples.label(samples.y_pred[index])} · true "
            f"{samples.label(samples.y_true[index])}"
        )
        if samples.confidence is not None:
            answer += f" · {samples.confidence[index]:.0%} sure"
        box = QRectF(rect.left() + 10, rect.top() + 6, rect.width() - 20, metrics.height())
        painter.setPen(text)
        painter.drawText(
            box,
            Qt.AlignmentFlag.AlignLeft,
            metrics.elidedText(content, Qt.TextElideMode.ElideRight, int(box.width())),
        )
        painter.setPen(_WRONG if wrong else _RIGHT)
        painter.drawText(
            box.translated(0, metrics.height() + 4), Qt.AlignmentFlag.AlignLeft, answer
        )

    def _paint_sparkline(self, painter: QPainter, area: QRectF, sequence: np.ndarray) -> None:
        values = np.asarray(sequence, dtype=np.float64).reshape(len(sequence), -1)[:, 0]
        painter.fillRect(area, self.palette().base().color())
        if len(values) < 2:
            return
        lo, hi = float(values.min()), float(values.max())
        span = hi - lo if hi > lo else 1.0
        path = QPainterPath()
        for i, v in enumerate(values):
            point = QPointF(
                area.left() + area.width() * i / (len(values) - 1),
                area.bottom() - 3 - (area.height() - 6) * (v - lo) / span,
            )
            if i == 0:
                path.moveTo(point)
            else:
                path.lineTo(point)
        painter.setPen(QPen(QColor("#4c9be8"), 1.5))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawPath(path)

    def mousePressEvent(self, event) -> None:  # noqa: N802 - Qt's name
        position = self.position_at(event.position())
        if position is not None and event.button() == Qt.MouseButton.LeftButton:
            self._grid.sample_picked.emit(int(self._grid.shown[position]))
        super().mousePressEvent(event)

    def event(self, event) -> bool:
        if event.type() == event.Type.ToolTip:
            help_event: QHelpEvent = event
            position = self.position_at(QPointF(help_event.pos()))
            if position is None:
                QToolTip.hideText()
            else:
                QToolTip.showText(help_event.globalPos(), self._grid.describe(position), self)
            return True
        return super().event(event)


class SampleGrid(QWidget):
    """Validation samples with predicted vs true labels; see the module docstring."""

    #: Emitted when the shown subset changes: (shown, total, wrong in the whole set).
    counts_changed = Signal(int, int, int)
    #: Emitted when a tile is clicked: the sample's index in :attr:`samples` (the
    #: Activations panel shows what each layer makes of it).
    sample_picked = Signal(int)

    ORDERS = ("as in the data", "wrong first", "least confident first")

    def __init__(self, parent: QWidget | None = None, *, image_size: int = 56):
        super().__init__(parent)
        self.image_size = image_size
        self.samples: SampleSet | None = None
        self.shown = np.empty(0, dtype=np.int64)
        self.wrong_mask = np.empty(0, dtype=bool)
        self._pixmaps: dict[int, QPixmap] = {}
        self._range: tuple[float, float] | None = None
        self._cell: tuple[int, int] | None = None

        self._filter = QComboBox()
        self._filter.addItems(["All samples", "Wrong only"])
        self._filter.currentIndexChanged.connect(self._update_shown)
        self._order = QComboBox()
        self._order.addItems(list(self.ORDERS))
        self._order.currentIndexChanged.connect(self._update_shown)
        self._summary = QLabel("No predictions yet: train the model to see its answers here.")
        self._summary.setObjectName("sampleSummary")
        self._summary.setProperty("role", "muted")
        self._clear_cell = QToolButton()
        self._clear_cell.setText("Show all classes")
        self._clear_cell.setVisible(False)
        self._clear_cell.clicked.connect(lambda: self.set_cell_filter(None))

        self._canvas = _TileCanvas(self)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self._canvas)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self._scroll = scroll

        bar = QHBoxLayout()
        bar.setContentsMargins(4, 2, 4, 2)
        bar.addWidget(self._filter)
        bar.addWidget(self._order)
        bar.addWidget(self._clear_cell)
        bar.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addLayout(bar)
        layout.addWidget(self._summary)
        layout.addWidget(scroll, 1)

    # -- data --------------------------------------------------------------------------------------

    def set_samples(self, samples: SampleSet | None) -> None:
        self.samples = samples
        self._pixmaps = {}
        self._cell = None
        self._clear_cell.setVisible(False)
        if samples is None:
            self.wrong_mask = np.empty(0, dtype=bool)
            self._range = None
        else:
            self.wrong_mask = samples.wrong()
            finite = samples.x[np.isfinite(samples.x)] if samples.x.dtype.kind == "f" else None
            if samples.kind == "image" and finite is not None and finite.size:
                self._range = (float(finite.min()), float(finite.max()))
            else:
                self._range = None
            is_class = samples.task == "classification"
            self._order.model().item(2).setEnabled(is_class and samples.confidence is not None)
            self._order.setItemText(1, "wrong first" if is_class else "largest error first")
        self._update_shown()

    def clear(self) -> None:
        self.set_samples(None)
        self._summary.setText("No predictions yet: train the model to see its answers here.")

    def set_only_wrong(self, only: bool) -> None:
        self._filter.setCurrentIndex(1 if only else 0)

    def set_order(self, order: str) -> None:
        self._order.setCurrentIndex(self.ORDERS.index(order))

    def set_cell_filter(self, cell: tuple[int, int] | None) -> None:
        """Show only samples of true class ``cell[0]`` predicted as ``cell[1]`` (or all)."""
        self._cell = None if cell is None else (int(cell[0]), int(cell[1]))
        self._clear_cell.setVisible(self._cell is not None)
        self._update_shown()

    def _update_shown(self) -> None:
        samples = self.samples
        if samples is None:
            self.shown = np.empty(0, dtype=np.int64)
            self._canvas.relayout()
            self.counts_changed.emit(0, 0, 0)
            return
        keep = np.ones(len(samples), dtype=bool)
        if self._filter.currentIndex() == 1:
            keep &= self.wrong_mask
        if self._cell is not None and samples.task == "classification":
            keep &= (samples.y_true.reshape(-1) == self._cell[0]) & (
                samples.y_pred.reshape(-1) == self._cell[1]
            )
        shown = np.flatnonzero(keep)
        order = self._order.currentIndex()
        if order == 1:
            shown = shown[np.argsort(-samples.errors()[shown], kind="stable")]
        elif order == 2 and samples.confidence is not None:
            shown = shown[np.argsort(samples.confidence[shown], kind="stable")]
        self.shown = shown
        wrong = int(self.wrong_mask.sum())
        what = "wrong" if samples.task == "classification" else "with a large error"
        where = ""
        if self._cell is not None:
            where = (
                f" · true {samples.label(self._cell[0])}, predicted {samples.label(self._cell[1])}"
            )
        self._summary.setText(
            f"Showing {len(shown):,} of {len(samples):,} validation samples · {wrong:,} {what}"
            + where
        )
        self._canvas.relayout()
        self._scroll.verticalScrollBar().setValue(0)
        self.counts_changed.emit(len(shown), len(samples), wrong)

    # -- what the canvas asks ----------------------------------------------------------------------

    def pixmap(self, index: int) -> QPixmap:
        found = self._pixmaps.get(index)
        if found is None:
            lo, hi = self._range if self._range is not None else (None, None)
            image = image_to_qimage(self.samples.x[index], lo, hi)
            found = QPixmap.fromImage(
                image.scaled(
                    self.image_size,
                    self.image_size,
                    Qt.AspectRatioMode.KeepAspectRatio,
                    # Tiny images (8x8 digits) read best as crisp squares, not a blur.
                    Qt.TransformationMode.FastTransformation,
                )
            )
            self._pixmaps[index] = found
        return found

    def row_text(self, index: int) -> str:
        samples = self.samples
        if samples.texts is not None:
            return str(samples.texts[index])
        values = np.asarray(samples.x[index]).reshape(-1)
        names = samples.feature_names
        parts = []
        for i, v in enumerate(values[:12]):
            name = names[i] if names is not None and i < len(names) else f"x{i + 1}"
            parts.append(f"{name} {v:.3g}")
        more = f" (+{len(values) - 12} more)" if len(values) > 12 else ""
        return " · ".join(parts) + more

    def describe(self, position: int) -> str:
        samples = self.samples
        index = int(self.shown[position])
        lines = [
            f"Sample {index + 1}",
            f"Predicted: {samples.label(samples.y_pred[index])}",
            f"True: {samples.label(samples.y_true[index])}",
        ]
        if samples.confidence is not None:
            lines.append(f"Confidence: {samples.confidence[index]:.1%}")
        if samples.task != "classification":
            lines.append(f"Error: {samples.errors()[index]:.4g}")
        lines.append("Click: see what each layer outputs for it (Activations)")
        return "\n".join(lines)

    def tile_rect(self, position: int) -> QRect:
        """Where tile ``position`` (index into :attr:`shown`) sits on the canvas."""
        return self._canvas.tile_rect(position)

    @property
    def canvas(self) -> QWidget:
        return self._canvas
