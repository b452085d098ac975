"""The layer palette: every registered layer type, grouped by category and searchable.

Entries are read from :mod:`engine.graph.registry_info`, so a new layer type appears here by
registering itself. Drag an entry onto the canvas (mime type
:data:`widgets.canvas.api.LAYER_MIME`, the type name), or double-click it / press Enter to
emit :attr:`LayerPalette.layerActivated` (the canvas adds it at the view's centre). The
box below the list describes the entry under the cursor or selected.
"""

from __future__ import annotations

import html

from PySide6.QtCore import QMimeData, QSize, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QLabel,
    QLineEdit,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from engine.graph.registry_info import LayerInfo, by_category
from widgets.canvas import theme
from widgets.canvas.api import LAYER_MIME

__all__ = ["LayerPalette"]

_TYPE_ROLE = Qt.ItemDataRole.UserRole + 1


def _swatch(color: QColor, size: int = 12) -> QIcon:
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(color)
    painter.drawRoundedRect(1, 1, size - 2, size - 2, 3, 3)
    painter.end()
    return QIcon(pixmap)


def _tooltip(info: LayerInfo) -> str:
    lines = [f"<b>{html.escape(info.display_name)}</b> <i>({html.escape(info.type_name)})</i>"]
    if info.description:
        lines.append(html.escape(info.description))
    if info.params:
        names = ", ".join(html.escape(p["name"]) for p in info.params)
        lines.append(f"<span style='color:#98a2ae'>Parameters: {names}</span>")
    lines.append("<span style='color:#98a2ae'>Drag onto the canvas, or double-click.</span>")
    return "<br>".join(lines)


class _LayerTree(QTreeWidget):
    """The list itself; drags carry the layer type name, Enter chooses the current entry.

    (Not ``itemActivated``: some desktops activate on a single click, which would add a
    layer whenever a user only meant to start a drag.)
    """

    enterPressed = Signal(object)

    def keyPressEvent(self, event) -> None:  # noqa: N802 - Qt's name
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.currentItem():
            self.enterPressed.emit(self.currentItem())
            event.accept()
            return
        super().keyPressEvent(event)

    def mimeTypes(self) -> list[str]:  # noqa: N802 - Qt's name
        return [LAYER_MIME]

    def mimeData(self, items) -> QMimeData:  # noqa: N802 - Qt's name
        mime = QMimeData()
        names = [i.data(0, _TYPE_ROLE) for i in items if i.data(0, _TYPE_ROLE)]
        if names:
            mime.setData(LAYER_MIME, names[0].encode("utf-8"))
            mime.setText(names[0])
        return mime


class LayerPalette(QWidget):
    """Searchable, categorised list of layer types.

    Signals:
        layerActivated(str): a type name was double-clicked or chosen with Enter.
    """

    layerActivated = Signal(str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("LayerPalette")
        self.search = QLineEdit(self)
        self.search.setObjectName("PaletteSearch")
        self.search.setPlaceholderText("Search layers…")
        self.search.setClearButtonEnabled(True)
        self.tree = _LayerTree(self)
        self.tree.setObjectName("PaletteTree")
        self.tree.setHeaderHidden(True)
        self.tree.setRootIsDecorated(False)
        self.tree.setIndentation(10)
        self.tree.setIconSize(QSize(12, 12))
        self.tree.setDragEnabled(True)
        self.tree.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.tree.setMouseTracking(True)
        self.tree.setUniformRowHeights(True)
        self.empty = QLabel("No layer matches your search.", self)
        self.empty.setObjectName("PaletteEmpty")
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setProperty("role", "muted")
        self.empty.hide()
        self.details = QLabel(self)
        self.details.setObjectName("PaletteDetails")
        self.details.setWordWrap(True)
        self.details.setTextFormat(Qt.TextFormat.RichText)
        self.details.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.details.setMinimumHeight(76)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.setSpacing(6)
        layout.addWidget(self.search)
        layout.addWidget(self.tree, 1)
        layout.addWidget(self.empty, 1)
        layout.addWidget(self.details)

        self._items: dict[str, QTreeWidgetItem] = {}
        self._infos: dict[str, LayerInfo] = {}
        self._populate()
        self.search.textChanged.connect(self.filter)
        self.search.returnPressed.connect(self._activate_first_match)
        self.tree.itemDoubleClicked.connect(self._on_double_click)
        self.tree.enterPressed.connect(self._on_double_click)
        self.tree.currentItemChanged.connect(lambda item, _old: self._describe(item))
        self.tree.itemEntered.connect(self._describe)
        self._describe(None)

    def _populate(self) -> None:
        bold = theme.ui_font(8.5, bold=True)
        for category, infos in by_category().items():
            section = QTreeWidgetItem(self.tree, [category.upper()])
            section.setFlags(Qt.ItemFlag.ItemIsEnabled)
            section.setFont(0, bold)
            section.setForeground(0, theme.TEXT_MUTED)
            section.setData(0, _TYPE_ROLE, None)
            for info in infos:
                item = QTreeWidgetItem(section, [info.display_name])
                item.setData(0, _TYPE_ROLE, info.type_name)
                item.setIcon(0, _swatch(theme.node_color(info.type_name, info.category)))
                item.setToolTip(0, _tooltip(info))
                item.setFlags(
                    Qt.ItemFlag.ItemIsEnabled
                    | Qt.ItemFlag.ItemIsSelectable
                    | Qt.ItemFlag.ItemIsDragEnabled
                )
                self._items[info.type_name] = item
                self._infos[info.type_name] = info
            section.setExpanded(True)

    # -- reading -----------------------------------------------------------------------------------

    def type_names(self, visible_only: bool = False) -> list[str]:
        """The listed type names in palette order (those the search shows, if asked)."""
        return [t for t, item in self._items.items() if not (visible_only and item.isHidden())]

    def item_for(self, type_name: str) -> QTreeWidgetItem:
        return self._items[type_name]

    # -- searching ---------------------------------------------------------------------------------

    def filter(self, text: str) -> None:
        """Show the entries whose name, type, category or description contain every word."""
        words = text.lower().split()
        any_shown = False
        for i in range(self.tree.topLevelItemCount()):
            section = self.tree.topLevelItem(i)
            shown = 0
            for j in range(section.childCount()):
                item = section.child(j)
                info = self._infos[item.data(0, _TYPE_ROLE)]
                haystack = " ".join(
                    (info.display_name, info.type_name, info.category, info.description)
                ).lower()
                hidden = not all(w in haystack for w in words)
                item.setHidden(hidden)
                shown += not hidden
            section.setHidden(shown == 0)
            any_shown |= shown > 0
        self.tree.setVisible(any_shown)
        self.empty.setVisible(not any_shown)
        if words and any_shown:
            first = self.type_names(visible_only=True)[0]
            self.tree.setCurrentItem(self._items[first])

    def _activate_first_match(self) -> None:
        visible = self.type_names(visible_only=True)
        current = self.tree.currentItem()
        chosen = current.data(0, _TYPE_ROLE) if current is not None else None
        if chosen not in visible:
            chosen = visible[0] if visible else None
        if chosen:
            self.layerActivated.emit(chosen)

    def _on_double_click(self, item: QTreeWidgetItem, _column: int = 0) -> None:
        type_name = item.data(0, _TYPE_ROLE)
        if type_name:
            self.layerActivated.emit(type_name)

    def _describe(self, item: QTreeWidgetItem | None, _column: int = 0) -> None:
        type_name = item.data(0, _TYPE_ROLE) if item is not None else None
        info = self._infos.get(type_name) if type_name else None
        if info is None:
            self.details.setText(
                "<span style='color:#98a2ae'>Drag a layer onto the canvas, or double-click "
                "it to add it in the middle of the view.</span>"
            )
            return
        color = theme.node_color(info.type_name, info.category).name()
        self.details.setText(
            f"<b style='color:{color}'>■</b> <b>{html.escape(info.display_name)}</b>"
            f" <span style='color:#6c7580'>{html.escape(info.category)}</span><br>"
            f"<span style='color:#b7c0cc'>{html.escape(info.description)}</span>"
        )
