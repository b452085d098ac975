"""The canvas's look in one place: colours (per layer category), fonts and sizes, and the
application style sheet (``resources/style/layercanvas.qss``) with its matching palette.

Everything that paints reads its colours and sizes from here, so the style sheet and the
canvas stay one dark theme.
"""

from __future__ import annotations

import zlib
from pathlib import Path

from PySide6.QtGui import QColor, QFont, QPalette

__all__ = [
    "STYLESHEET_PATH",
    "apply_style",
    "category_color",
    "node_color",
    "stylesheet",
    "ui_font",
]

STYLESHEET_PATH = Path(__file__).resolve().parents[2] / "resources" / "style" / "layercanvas.qss"

# -- colours ---------------------------------------------------------------------------------------

CANVAS = QColor("#17191d")
GRID_MINOR = QColor("#1f2226")
GRID_MAJOR = QColor("#272b31")

NODE_BODY = QColor("#262a30")
NODE_HEADER = QColor("#2d3239")
NODE_BORDER = QColor("#3a4049")
NODE_BORDER_HOVER = QColor("#5b6674")
SELECTION = QColor("#4aa3ff")
TEXT = QColor("#e6e9ed")
TEXT_MUTED = QColor("#98a2ae")
TEXT_FAINT = QColor("#6c7580")

ERROR = QColor("#f25f5c")
WARNING = QColor("#f0ad4e")
OK = QColor("#3fb97a")

EDGE = QColor("#6f7a88")
EDGE_HOVER = QColor("#b4becb")
PORT_FILL = QColor("#1c1f24")
PORT_RING = QColor("#8a95a3")
PORT_COMPATIBLE = QColor("#7cc4ff")

#: Band colour of each palette category (``LayerInfo.category``).
CATEGORY_COLORS = {
    "Core": QColor("#4c8df6"),
    "Convolution": QColor("#9b6cf0"),
    "Pooling": QColor("#22b5a4"),
    "Recurrent": QColor("#f08a4b"),
    "Attention": QColor("#e5c07b"),
    "Normalization": QColor("#d9b13b"),
    "Regularization": QColor("#8f9bb3"),
    "Activation": QColor("#ef5d8c"),
    "Merging": QColor("#55b96a"),
    "Merge": QColor("#55b96a"),
    "Reshaping": QColor("#45b3e0"),
    "Embedding": QColor("#c678dd"),
}
#: Input nodes stand out from the other Core layers: data enters there.
INPUT_COLOR = QColor("#34c38f")
UNKNOWN_COLOR = QColor("#7a828c")
_SPARE_COLORS = ("#e06c75", "#98c379", "#61afef", "#d19a66", "#56b6c2", "#c678dd")


def category_color(category: str | None) -> QColor:
    """The band colour of a category; a stable spare colour for categories added later."""
    if not category:
        return QColor(UNKNOWN_COLOR)
    color = CATEGORY_COLORS.get(category)
    if color is None:
        color = QColor(_SPARE_COLORS[zlib.crc32(category.encode()) % len(_SPARE_COLORS)])
    return QColor(color)


def node_color(type_name: str, category: str | None) -> QColor:
    return QColor(INPUT_COLOR) if type_name == "Input" else category_color(category)


# -- sizes -----------------------------------------------------------------------------------------

NODE_WIDTH = 176.0
NODE_HEIGHT = 74.0
NODE_RADIUS = 7.0
BAND_WIDTH = 5.0
PORT_RADIUS = 5.5
PORT_HIT_RADIUS = 9.0
PORT_SPACING = 16.0  # least distance between two input ports of one card
PORT_SNAP_DISTANCE = 22.0  # scene units within which a dragged edge snaps to a port
EDGE_WIDTH = 2.0
SNAP = 10  # node positions snap to this grid while dragged (and are stored on it)
GRID_STEP = 20
GRID_MAJOR_EVERY = 5
PASTE_OFFSET = 40
MIN_ZOOM = 0.15
MAX_ZOOM = 3.0

# -- fonts -----------------------------------------------------------------------------------------

_FAMILIES = ["Inter", "Segoe UI", "SF Pro Text", "Helvetica Neue", "Cantarell", "DejaVu Sans"]


def ui_font(point_size: float = 9.0, bold: bool = False) -> QFont:
    font = QFont()
    font.setFamilies(_FAMILIES)
    font.setPointSizeF(point_size)
    font.setBold(bold)
    font.setHintingPreference(QFont.HintingPreference.PreferNoHinting)
    return font


def mono_font(point_size: float = 8.5) -> QFont:
    font = QFont()
    font.setFamilies(["JetBrains Mono", "Cascadia Mono", "Menlo", "Consolas", "DejaVu Sans Mono"])
    font.setStyleHint(QFont.StyleHint.Monospace)
    font.setPointSizeF(point_size)
    return font


# -- application style -----------------------------------------------------------------------------


def stylesheet() -> str:
    """The application style sheet's text ("" if the file is missing, e.g. in a stripped
    install: the palette alone still gives a coherent dark look)."""
    try:
        text = STYLESHEET_PATH.read_text(encoding="utf-8")
    except OSError:
        return ""
    # Qt resolves url() against the working directory; point it at the sheet's own folder.
    return text.replace("@STYLE_DIR@", STYLESHEET_PATH.parent.as_posix())


def dark_palette() -> QPalette:
    palette = QPalette()
    roles = {
        QPalette.ColorRole.Window: "#1f2227",
        QPalette.ColorRole.WindowText: "#dfe3e8",
        QPalette.ColorRole.Base: "#191b1f",
        QPalette.ColorRole.AlternateBase: "#22252a",
        QPalette.ColorRole.ToolTipBase: "#2b2f36",
        QPalette.ColorRole.ToolTipText: "#e6e9ed",
        QPalette.ColorRole.PlaceholderText: "#6c7580",
        QPalette.ColorRole.Text: "#dfe3e8",
        QPalette.ColorRole.Button: "#2a2e34",
        QPalette.ColorRole.ButtonText: "#dfe3e8",
        QPalette.ColorRole.BrightText: "#ffffff",
        QPalette.ColorRole.Highlight: "#2f6fb3",
        QPalette.ColorRole.HighlightedText: "#ffffff",
        QPalette.ColorRole.Link: "#6cb6ff",
        QPalette.ColorRole.Mid: "#3a4049",
        QPalette.ColorRole.Dark: "#141619",
        QPalette.ColorRole.Light: "#3a4049",
    }
    for role, color in roles.items():
        palette.setColor(role, QColor(color))
    for role in (
        QPalette.ColorRole.Text,
        QPalette.ColorRole.WindowText,
        QPalette.ColorRole.ButtonText,
    ):
        palette.setColor(QPalette.ColorGroup.Disabled, role, QColor("#6c7580"))
    return palette


def apply_style(app) -> None:
    """Give a ``QApplication`` LayerCanvas's look: Fusion, the dark palette, the UI font
    and the style sheet."""
    app.setStyle("Fusion")
    app.setPalette(dark_palette())
    app.setFont(ui_font(9.5))
    app.setStyleSheet(stylesheet())
