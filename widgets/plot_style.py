"""The look of LayerCanvas's plots: colours for dark and light themes, how log keys are
named and grouped (``val_loss`` belongs to the loss plot), and the axis styling every
pyqtgraph plot of the app shares (the training curves, the schedule preview).
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtGui import QFont

__all__ = [
    "REGULARIZATION_KEYS",
    "base_name",
    "is_loss",
    "is_regularization",
    "label",
    "plot_colors",
    "style_plot",
    "title",
]

# Qualitative colours that stay apart on dark and light backgrounds (train, val, extra).
_DARK = {
    "background": "#1e2127",
    "foreground": "#aab2bf",
    "grid": 0.18,
    "series": ["#4c9be8", "#f5a623", "#5cc98b", "#c678dd", "#e06c75", "#56b6c2", "#d19a66"],
}
_LIGHT = {
    "background": "#ffffff",
    "foreground": "#3c4048",
    "grid": 0.25,
    "series": ["#1f6fd1", "#e07b00", "#1e9e5a", "#8e44ad", "#c0392b", "#138d90", "#a0522d"],
}


def plot_colors(dark: bool) -> dict:
    """Background, foreground and series colours of the plots for a dark or light theme."""
    return _DARK if dark else _LIGHT


#: Log keys of the weight penalties (kernel/bias/activity regularizers), drawn apart from
#: the data loss.
REGULARIZATION_KEYS = ("regularization_loss",)


def style_plot(plot: pg.PlotItem, colors: dict) -> None:
    """Axes, ticks and grid in the theme's colours; no menu or auto-range button."""
    fg = colors["foreground"]
    font = QFont()
    font.setPointSize(8)
    for side in ("left", "bottom"):
        axis = plot.getAxis(side)
        axis.setPen(pg.mkPen(fg, width=1))
        axis.setTextPen(pg.mkPen(fg))
        axis.setTickFont(font)
    plot.showGrid(x=True, y=True, alpha=colors["grid"])
    plot.setMenuEnabled(False)
    plot.hideButtons()


def base_name(key: str) -> str:
    return key[4:] if key.startswith("val_") else key


def is_loss(key: str) -> bool:
    return base_name(key).endswith("loss")


def is_regularization(key: str) -> bool:
    return base_name(key) in REGULARIZATION_KEYS


def label(key: str) -> str:
    return key.replace("_", " ")


def title(name: str) -> str:
    text = name.replace("_", " ")
    return text[:1].upper() + text[1:]
