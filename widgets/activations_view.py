"""The Activations panel: what one node of the network outputs for one sample.

It only shows what it is given (``app.activations_controller`` decides which node, which
sample and which weights): a title naming the node, a line naming the sample and the
weights, the statistics (min, max, mean, fraction of zeros) and a picture chosen by the
output's rank without the batch axis:

* (C, H, W) feature maps → an image grid, one tile per channel, **one colour scale shared
  by all maps** (so a weak map looks weak next to a strong one);
* (units,) → bars around zero and a heat strip;
* (T, F) sequences → a time × unit heat map;
* anything else → its values flattened, as bars.

When there is nothing to show it says why in plain words (:meth:`show_message`).
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QScrollArea, QStackedWidget, QVBoxLayout, QWidget

from engine.models.inspect import TensorStats, tensor_stats
from widgets.activation_plots import BarStrip, ColourBar, MapGrid, SequenceHeatMap

__all__ = ["ActivationsView", "output_kind"]


def output_kind(shape: tuple[int, ...]) -> str:
    """How an output of this per-sample shape is drawn: maps, vector, sequence or flat."""
    if len(shape) == 3:
        return "maps"
    if len(shape) == 1:
        return "vector"
    if len(shape) == 2:
        return "sequence"
    return "flat"


def _dims(shape) -> str:
    return " × ".join(str(int(d)) for d in shape)


class ActivationsView(QWidget):
    """See the module docstring. ``values``, ``kind`` and ``stats`` hold what is shown."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.values: np.ndarray | None = None
        self.kind: str | None = None
        self.stats: TensorStats | None = None
        self.node_id: str | None = None

        self.title = QLabel()
        self.title.setObjectName("activationsTitle")
        font = self.title.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.1)
        self.title.setFont(font)
        self.source = QLabel()
        self.source.setWordWrap(True)
        self.source.setProperty("role", "muted")
        self.stats_label = QLabel()
        self.stats_label.setObjectName("activationsStats")
        self.stats_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.maps = MapGrid()
        self.bars = BarStrip()
        self.sequence = SequenceHeatMap()
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.message.setProperty("role", "muted")
        self.message.setMargin(16)
        self._stack = QStackedWidget()
        for widget in (self.message, self.maps, self.bars, self.sequence):
            self._stack.addWidget(widget)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self._stack)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        self.colour_bar = ColourBar()

        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 6)
        layout.setSpacing(3)
        layout.addWidget(self.title)
        layout.addWidget(self.source)
        layout.addWidget(self.stats_label)
        layout.addWidget(self.colour_bar)
        layout.addWidget(scroll, 1)
        self.show_message(
            "Pick a validation sample (click one in Training ▸ Samples) or draw on the "
            "sketchpad, then click a node on the canvas to see what it outputs."
        )

    @property
    def plot(self) -> QWidget:
        """The picture now shown (the message label when there is none)."""
        return self._stack.currentWidget()

    def show_message(self, text: str, title: str = "Activations") -> None:
        """Nothing to draw: say why (and keep no stale picture)."""
        self.values = self.kind = self.stats = self.node_id = None
        self.title.setText(title)
        self.source.setText("")
        self.stats_label.setText("")
        self.message.setText(text)
        self._stack.setCurrentWidget(self.message)
        self.colour_bar.setVisible(False)

    def show_output(self, node_id: str, layer_type: str, values: np.ndarray, source: str) -> None:
        """Show ``values`` (one sample's output, no batch axis) of node ``node_id``."""
        values = np.asarray(values)
        self.node_id = node_id
        self.values = values
        self.kind = output_kind(values.shape)
        self.stats = tensor_stats(values)
        self.title.setText(f"{node_id} · {layer_type} · output {_dims(values.shape)}")
        self.source.setText(source)
        self.stats_label.setText(self.stats.text())
        if self.kind == "maps":
            plot, note = self.maps, f"colour scale shared by all {values.shape[0]} maps"
            plot.set_values(values)
        elif self.kind == "sequence":
            plot, note = self.sequence, "one colour scale for the whole sequence"
            plot.set_values(values)
        else:
            plot = self.bars
            note = "bar height and colour: the unit's value"
            if self.kind == "flat":
                note = f"{_dims(values.shape)} values, shown flattened"
            plot.set_values(values.reshape(-1))
        self._stack.setCurrentWidget(plot)
        self.colour_bar.set_scale(plot.lo, plot.hi, note)
        self.colour_bar.setVisible(True)
