"""Draw a sample with the mouse and watch a trained image model classify it live.

:class:`SketchPad` is a square canvas that records strokes as white ink on black (the
digits' convention), both as pixels (for the screen) and as polylines. To become a model
input the drawing is *re-drawn* (:meth:`SketchPad.framed_ink`) the way the training images
were made: the strokes' centre lines are scaled, aspect kept, to fill the frame and centred,
and drawn with a pen of a fixed share of the frame (:data:`STROKE_FRACTION`), so a digit
drawn small or large, with any pen, comes out with the thickness the digits have. Each
input pixel is then the share of ink in its block (:func:`downsample`) — how the UCI 8x8
digits were computed from 32x32 bitmaps (counts of set pixels in 4x4 blocks, which the
built-in set scales to [0, 1]).

:class:`SketchPredictor` puts the pad beside a bar chart of the class probabilities and a
preview of the downsampled input. It calls a ``predict`` function the owner supplies (the
trained model with its normalisation) at most every :data:`PREDICT_INTERVAL_MS` while the
user draws. It is for image models, ``(C, H, W)`` inputs with 1 or 3 channels; the owner
checks :func:`supports` before offering it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import (
    QColor,
    QFont,
    QImage,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPen,
    QPixmap,
)
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from widgets.probability_bars import ProbabilityBars

__all__ = [
    "PREDICT_INTERVAL_MS",
    "ProbabilityBars",
    "SketchPad",
    "SketchPredictor",
    "as_probabilities",
    "downsample",
    "frame_strokes",
    "supports",
    "to_input",
]

PREDICT_INTERVAL_MS = 60
#: Pen width as a share of the frame: about the stroke thickness of the UCI digits (7 of
#: their 32 bitmap pixels). Drawn digits are recognised best from 0.16 to 0.24.
STROKE_FRACTION = 0.22


def supports(input_shape: Sequence[int] | None) -> bool:
    """Whether a model with this input shape (no batch axis) takes drawings: an image
    ``(C, H, W)`` with 1 or 3 channels, at least 4 pixels a side."""
    if input_shape is None or len(input_shape) != 3:
        return False
    c, h, w = (int(d) for d in input_shape)
    return c in (1, 3) and h >= 4 and w >= 4


def downsample(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """Area-average ``image`` (H, W) to ``(height, width)``: each output pixel is the mean of
    the input pixels it covers (fractional coverage at block edges is weighted)."""
    image = np.asarray(image, dtype=np.float64)

    def weights(n_in: int, n_out: int) -> np.ndarray:
        # w[i, j] = overlap of output cell i with input pixel j, rows normalised to 1.
        edges = np.linspace(0.0, n_in, n_out + 1)
        lo, hi = edges[:-1, None], edges[1:, None]
        j = np.arange(n_in)[None, :]
        overlap = np.clip(np.minimum(hi, j + 1) - np.maximum(lo, j), 0.0, None)
        return overlap / overlap.sum(axis=1, keepdims=True)

    return weights(image.shape[0], height) @ image @ weights(image.shape[1], width).T


Stroke = tuple[bool, list[tuple[float, float]]]  # (erase?, points of the polyline)


def frame_strokes(
    strokes: Sequence[Stroke],
    height: int,
    width: int,
    stroke: float = STROKE_FRACTION,
    eraser: float = 2.0,
) -> np.ndarray:
    """Re-draw ``strokes`` into a ``height`` x ``width`` frame, as floats in [0, 1] (1 = ink).

    The ink strokes' centre lines are scaled (aspect kept) and centred so that, drawn with
    a pen ``stroke`` times the frame's shorter side wide, the drawing just fills the frame.
    Eraser strokes are drawn over them in black, ``eraser`` times as wide. So position,
    size and the pen used on screen do not matter, only the shape.
    """
    ink = [p for erase, points in strokes if not erase for p in points]
    frame = QImage(width, height, QImage.Format.Format_Grayscale8)
    frame.fill(0)
    if not ink:
        return np.zeros((height, width))
    xs = np.array([p[0] for p in ink], dtype=np.float64)
    ys = np.array([p[1] for p in ink], dtype=np.float64)
    pen = stroke * min(height, width)
    span_x, span_y = xs.max() - xs.min(), ys.max() - ys.min()
    ratio = max(span_x / max(width - pen, 1e-9), span_y / max(height - pen, 1e-9))
    scale = 1.0 / ratio if ratio > 0 else 1.0  # a single dot keeps scale 1
    mid_x, mid_y = (xs.max() + xs.min()) / 2, (ys.max() + ys.min()) / 2

    def place(point: tuple[float, float]) -> QPointF:
        return QPointF(
            width / 2 + (point[0] - mid_x) * scale, height / 2 + (point[1] - mid_y) * scale
        )

    painter = QPainter(frame)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    for erase, points in strokes:
        if not points:
            continue
        painter.setPen(
            _pen(
                QColor(0, 0, 0) if erase else QColor(255, 255, 255),
                pen * (eraser if erase else 1.0),
            )
        )
        placed = [place(p) for p in points]
        if len(placed) == 1:
            painter.drawPoint(placed[0])  # a round pen's dot (a zero-length line is nothing)
        else:
            for a, b in zip(placed, placed[1:]):
                painter.drawLine(a, b)
    painter.end()
    return _gray_array(frame)


def to_input(framed: np.ndarray, input_shape: Sequence[int]) -> np.ndarray:
    """A framed drawing as one model input ``(C, H, W)``, float32 in [0, 1]: each pixel the
    share of ink in its block (:func:`downsample`); grey repeated over 3 channels."""
    c, h, w = (int(d) for d in input_shape)
    small = downsample(framed, h, w)
    return np.repeat(small[None], c, axis=0).astype(np.float32)


def _pen(color: QColor, width: float) -> QPen:
    return QPen(
        color, width, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap, Qt.PenJoinStyle.RoundJoin
    )


def _gray_array(image: QImage) -> np.ndarray:
    stride = image.bytesPerLine()
    data = np.frombuffer(image.constBits(), dtype=np.uint8, count=stride * image.height())
    rows = data.reshape(image.height(), stride)[:, : image.width()]
    return rows.astype(np.float64) / 255.0


def as_probabilities(output: np.ndarray) -> np.ndarray:
    """One sample's model output as class probabilities: kept if it already is a
    distribution, a single sigmoid unit becomes ``[1 - p, p]``, logits go through softmax."""
    out = np.asarray(output, dtype=np.float64).reshape(-1)
    if len(out) == 1:
        p = float(out[0])
        if not 0.0 <= p <= 1.0:
            p = 1.0 / (1.0 + np.exp(-p))
        return np.array([1.0 - p, p])
    if (out >= 0).all() and abs(out.sum() - 1.0) < 1e-3:
        return out
    shifted = np.exp(out - out.max())
    return shifted / shifted.sum()


class SketchPad(QWidget):
    """A square drawing surface: left button draws, right button erases; ``changed`` is
    emitted as strokes grow and ``stroke_finished`` when the button is released."""

    changed = Signal()
    stroke_finished = Signal()

    def __init__(self, parent: QWidget | None = None, *, resolution: int = 224):
        super().__init__(parent)
        self._resolution = resolution
        self._image = QImage(resolution, resolution, QImage.Format.Format_Grayscale8)
        self._image.fill(0)
        self._last: QPointF | None = None
        self._erasing = False
        self.strokes: list[Stroke] = []  # in pad coordinates, for framed_ink
        self.pen_width = resolution / 11.0  # a stroke about as thick as a pen on paper
        self.setMinimumSize(160, 160)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setCursor(Qt.CursorShape.CrossCursor)
        self.setToolTip("Draw with the left mouse button; the right button erases")

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        return QSize(220, 220)

    def hasHeightForWidth(self) -> bool:  # noqa: N802 - Qt's name
        return True

    def heightForWidth(self, width: int) -> int:  # noqa: N802 - Qt's name
        return width

    @property
    def resolution(self) -> int:
        return self._resolution

    def clear(self) -> None:
        self._image.fill(0)
        self.strokes = []
        self.update()
        self.changed.emit()

    def is_empty(self) -> bool:
        return not self.ink().any()

    def ink(self) -> np.ndarray:
        """The drawing as ``(resolution, resolution)`` floats in [0, 1] (1 = ink)."""
        return _gray_array(self._image)

    def framed_ink(self, height: int, width: int) -> np.ndarray:
        """The drawing re-drawn to fill a ``height`` x ``width`` frame at the training
        images' stroke thickness (:func:`frame_strokes`); empty when nothing is drawn."""
        if self.is_empty():
            return np.zeros((height, width))
        return frame_strokes(self.strokes, height, width)

    def draw_stroke(self, points: Sequence[tuple[float, float]], erase: bool = False) -> None:
        """Draw a polyline given in pad coordinates (0..resolution), as the mouse would."""
        if not points:
            return
        self.strokes.append((erase, [(float(x), float(y)) for x, y in points]))
        previous = QPointF(*points[0])
        self._paint_segment(previous, previous, erase)
        for x, y in points[1:]:
            point = QPointF(x, y)
            self._paint_segment(previous, point, erase)
            previous = point
        self.update()
        self.changed.emit()
        self.stroke_finished.emit()

    # -- mouse -------------------------------------------------------------------------------------

    def _square(self) -> QRectF:
        side = min(self.width(), self.height()) - 2
        return QRectF((self.width() - side) / 2, (self.height() - side) / 2, side, side)

    def _to_image(self, pos: QPointF) -> QPointF:
        square = self._square()
        scale = self._resolution / square.width()
        return QPointF((pos.x() - square.left()) * scale, (pos.y() - square.top()) * scale)

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt's name
        if event.button() in (Qt.MouseButton.LeftButton, Qt.MouseButton.RightButton):
            self._erasing = event.button() == Qt.MouseButton.RightButton
            self._last = self._to_image(event.position())
            self.strokes.append((self._erasing, [(self._last.x(), self._last.y())]))
            self._paint_segment(self._last, self._last, self._erasing)
            self.update()
            self.changed.emit()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt's name
        if self._last is None:
            return
        point = self._to_image(event.position())
        self.strokes[-1][1].append((point.x(), point.y()))
        self._paint_segment(self._last, point, self._erasing)
        self._last = point
        self.update()
        self.changed.emit()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt's name
        if self._last is not None:
            self._last = None
            self.stroke_finished.emit()

    def _paint_segment(self, a: QPointF, b: QPointF, erase: bool) -> None:
        painter = QPainter(self._image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        width = self.pen_width * (2.0 if erase else 1.0)
        painter.setPen(_pen(QColor(0, 0, 0) if erase else QColor(255, 255, 255), width))
        if a == b:
            painter.drawPoint(a)
        else:
            painter.drawLine(a, b)
        painter.end()

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt's name
        painter = QPainter(self)
        painter.fillRect(self.rect(), self.palette().window().color())
        square = self._square()
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        painter.drawImage(square, self._image)
        painter.setPen(QPen(self.palette().mid().color(), 1))
        painter.drawRect(square)
        if self.is_empty():
            painter.setPen(QColor(160, 160, 160))
            painter.drawText(square, Qt.AlignmentFlag.AlignCenter, "Draw here")


class SketchPredictor(QWidget):
    """The pad, what the model sees, and its live prediction; see the module docstring.

    ``set_model(predict, input_shape, class_names)`` arms it: ``predict`` takes a batch
    ``(1, C, H, W)`` of inputs in [0, 1] (the owner applies the model's normalisation) and
    returns the model's output for it. ``set_model(None, ...)`` disarms it with a message.
    """

    predicted = Signal(object)  # the probabilities (numpy array)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._predict: Callable[[np.ndarray], np.ndarray] | None = None
        self._input_shape: tuple[int, ...] | None = None
        self._names: list[str] = []
        self.last_input: np.ndarray | None = None

        self.pad = SketchPad()
        self.bars = ProbabilityBars()
        self._preview = QLabel()
        self._preview.setFixedSize(72, 72)
        self._preview.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._preview.setToolTip("What the model sees: your drawing at its input size")
        self._answer = QLabel()
        self._answer.setObjectName("sketchAnswer")
        answer_font = QFont(self.font())
        answer_font.setPointSizeF(answer_font.pointSizeF() * 1.6)
        answer_font.setBold(True)
        self._answer.setFont(answer_font)
        self._status = QLabel()
        self._status.setWordWrap(True)
        self._status.setProperty("role", "muted")
        self._clear = QPushButton("Clear")
        self._clear.clicked.connect(self.pad.clear)

        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(PREDICT_INTERVAL_MS)
        self._timer.timeout.connect(self.predict_now)
        self.pad.changed.connect(self._schedule)
        self.pad.stroke_finished.connect(self.predict_now)

        side = QVBoxLayout()
        side.addWidget(QLabel("Model input"))
        side.addWidget(self._preview)
        side.addWidget(self._answer)
        side.addStretch(1)
        side.addWidget(self._clear)
        top = QHBoxLayout()
        top.addWidget(self.pad, 1)
        top.addLayout(side)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addLayout(top, 3)
        layout.addWidget(self.bars, 2)
        layout.addWidget(self._status)
        self.set_model(None, None, ())

    @property
    def armed(self) -> bool:
        return self._predict is not None

    def set_model(
        self,
        predict: Callable[[np.ndarray], np.ndarray] | None,
        input_shape: Sequence[int] | None,
        class_names: Sequence[str] = (),
        message: str | None = None,
    ) -> None:
        """Arm the pad with a model (``predict`` None disarms it, showing ``message``)."""
        if predict is not None and not supports(input_shape):
            raise ValueError(f"drawing needs an image input (C, H, W), got {input_shape}")
        self._predict = predict
        self._input_shape = tuple(int(d) for d in input_shape) if predict is not None else None
        self._names = [str(n) for n in class_names]
        self.pad.setEnabled(predict is not None)
        self._clear.setEnabled(predict is not None)
        self.bars.set_probabilities(None)
        self._answer.setText("")
        if predict is None:
            self._status.setText(message or "Train an image classifier, then draw here to test it.")
        else:
            c, h, w = self._input_shape
            self._status.setText(
                f"Draw a sample; it is scaled to the model's {h}x{w} input like the training "
                "images, and the prediction updates as you draw."
            )
        self._update_preview(None)
        if predict is not None and not self.pad.is_empty():
            self.predict_now()

    def _schedule(self) -> None:
        if self._predict is not None and not self._timer.isActive():
            self._timer.start()

    def predict_now(self) -> np.ndarray | None:
        """Run the model on the drawing now; returns the probabilities (None if disarmed or
        the pad is empty)."""
        self._timer.stop()
        if self._predict is None or self._input_shape is None:
            return None
        if self.pad.is_empty():
            self.bars.set_probabilities(None)
            self._answer.setText("")
            self._update_preview(None)
            return None
        c, h, w = self._input_shape
        k = max(4, 128 // max(h, w))  # draw finely, then average blocks of k x k pixels
        x = to_input(self.pad.framed_ink(h * k, w * k), self._input_shape)
        self.last_input = x
        self._update_preview(x)
        try:
            output = np.asarray(self._predict(x[None]))
        except Exception as err:  # noqa: BLE001 - shown to the user, never a traceback
            self._status.setText(f"The model could not predict this drawing: {err}")
            return None
        probs = as_probabilities(output[0] if output.ndim > 1 else output)
        names = (
            self._names if len(self._names) == len(probs) else [str(i) for i in range(len(probs))]
        )
        self.bars.set_probabilities(probs, names)
        best = int(np.argmax(probs))
        self._answer.setText(f"{names[best]}  {probs[best]:.0%}")
        self.predicted.emit(probs)
        return probs

    def _update_preview(self, x: np.ndarray | None) -> None:
        if x is None:
            self._preview.setPixmap(QPixmap())
            self._preview.setText("-")
            return
        pixels = np.clip(x[0] * 255.0, 0, 255).astype(np.uint8)
        h, w = pixels.shape
        data = np.ascontiguousarray(pixels)
        image = QImage(data.data, w, h, w, QImage.Format.Format_Grayscale8).copy()
        self._preview.setPixmap(
            QPixmap.fromImage(image).scaled(
                self._preview.size(),
                Qt.AspectRatioMode.KeepAspectRatio,
                Qt.TransformationMode.FastTransformation,
            )
        )
