"""The layer palette: every registered layer type, grouped by category and searchable.

Entries are read from :mod:`engine.graph.registry_info`, so a new layer type appears here by
registering itself. Drag an entry onto the canvas (mime type
:data:`widgets.canvas.api.LAYER_MIME`, the type name), or double-click it / press Enter to
emit :attr:`LayerPalette.layerActivated` (the canvas adds it at the view's centre). The
box below the list describes the entry under the cursor or selected.

A last section, "Blocks", lists the block library the app gives :meth:`LayerPalette.set_blocks`
(shipped blocks and the user's own): dragging one carries its file
(:data:`widgets.canvas.block_item.BLOCK_MIME`), double-clicking emits
:attr:`LayerPalette.blockActivated`.
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
from widgets.canvas.block_item import BLOCK_COLOR, BLOCK_MIME

__all__ = ["LayerPalette"]

_TYPE_ROLE = Qt.ItemDataRole.UserRole + 1
_BLOCK_ROLE = Qt.ItemDataRole.UserRole + 2  # a block entry's library file (text)


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
        return [LAYER_MIME]  # (a drag-only list: what a drag carries is mimeData's choice)

    def mimeData(self, items) -> QMimeData:  # noqa: N802 - Qt's name
        mime = QMimeData()
        blocks = [i.data(0, _BLOCK_ROLE) for i in items if i.data(0, _BLOCK_ROLE)]
        if blocks:
            mime.setData(BLOCK_MIME, blocks[0].encode("utf-8"))
            return mime
        names = [i.data(0, _TYPE_ROLE) for i in items if i.data(0, _TYPE_ROLE)]
        if names:
            mime.setData(LAYER_MIME, names[0].encode("utf-8"))
            mime.setText(names[0])
        return mime


class LayerPalette(QWidget):
    """Searchable, categorised list of layer types.

    Signals:
        layerActivated(str): a type name was double-clicked or chosen with Enter.
        blockActivated(str): a block's library file was double-clicked or chosen.
    """

    layerActivated = Signal(str)
    blockActivated = Signal(str)

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
        self._blocks: dict[str, object] = {}  # library file -> its LibraryEntry
        self._block_section: QTreeWidgetItem | None = None
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

    def set_blocks(self, entries) -> None:
        """List the block library (``engine.graph.block_library.LibraryEntry`` items: name,
        title, description, source "shipped" | "user", path) under "Blocks"."""
        if self._block_section is not None:
            self.tree.takeTopLevelItem(self.tree.indexOfTopLevelItem(self._block_section))
        self._blocks = {str(e.path): e for e in entries}
        section = QTreeWidgetItem(self.tree, ["BLOCKS"])
        section.setFlags(Qt.ItemFlag.ItemIsEnabled)
        section.setFont(0, theme.ui_font(8.5, bold=True))
        section.setForeground(0, theme.TEXT_MUTED)
        for path, entry in self._blocks.items():
            label = entry.title + ("" if entry.source == "shipped" else "  (yours)")
            item = QTreeWidgetItem(section, [label])
            item.setData(0, _BLOCK_ROLE, path)
            item.setIcon(0, _swatch(BLOCK_COLOR))
            item.setToolTip(0, _block_tooltip(entry))
            item.setFlags(
                Qt.ItemFlag.ItemIsEnabled
                | Qt.ItemFlag.ItemIsSelectable
                | Qt.ItemFlag.ItemIsDragEnabled
            )
        section.setExpanded(True)
        self._block_section = section
        self.filter(self.search.text())

    def block_item(self, name: str) -> QTreeWidgetItem:
        """The entry of the library block called ``name`` (its definition name)."""
        for i in range(self._block_section.childCount() if self._block_section else 0):
            item = self._block_section.child(i)
            if self._blocks[item.data(0, _BLOCK_ROLE)].name == name:
                return item
        raise KeyError(name)

    def block_path(self, name: str) -> str:
        """The library file of the block called ``name``."""
        return self.block_item(name).data(0, _BLOCK_ROLE)

    def block_names(self) -> list[str]:
        return [entry.name for entry in self._blocks.values()]

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
                block = self._blocks.get(item.data(0, _BLOCK_ROLE))
                if block is not None:
                    fields = ("block", block.name, block.title, block.description)
                else:
                    info = self._infos[item.data(0, _TYPE_ROLE)]
                    fields = (info.display_name, info.type_name, info.category, info.description)
                haystack = " ".join(fields).lower()
                hidden = not all(w in haystack for w in words)
                item.setHidden(hidden)
                shown += not hidden
            section.setHidden(shown == 0)
            any_shown |= shown > 0
        self.tree.setVisible(any_shown)
        self.empty.setVisible(not any_shown)
        if words and any_shown:
            self.tree.setCurrentItem(self._first_visible())

    def _first_visible(self) -> QTreeWidgetItem | None:
        for i in range(self.tree.topLevelItemCount()):
            section = self.tree.topLevelItem(i)
            for j in range(section.childCount() if not section.isHidden() else 0):
                if not section.child(j).isHidden():
                    return section.child(j)
        return None

    def _activate_first_match(self) -> None:
        visible = self.type_names(visible_only=True)
        current = self.tree.currentItem()
        if current is not None and current.data(0, _BLOCK_ROLE) and not current.isHidden():
            self.blockActivated.emit(current.data(0, _BLOCK_ROLE))
            return
        chosen = current.data(0, _TYPE_ROLE) if current is not None else None
        if chosen not in visible:
            chosen = visible[0] if visible else None
        if chosen:
            self.layerActivated.emit(chosen)

    def _on_double_click(self, item: QTreeWidgetItem, _column: int = 0) -> None:
        if item.data(0, _BLOCK_ROLE):
            self.blockActivated.emit(item.data(0, _BLOCK_ROLE))
            return
        type_name = item.data(0, _TYPE_ROLE)
        if type_name:
            self.layerActivated.emit(type_name)

    def _describe(self, item: QTreeWidgetItem | None, _column: int = 0) -> None:
        type_name = item.data(0, _TYPE_ROLE) if item is not None else None
        info = self._infos.get(type_name) if type_name else None
        block = self._blocks.get(item.data(0, _BLOCK_ROLE)) if item is not None else None
        if block is not None:
            where = "shipped with LayerCanvas" if block.source == "shipped" else "your library"
            self.details.setText(
                f"<b style='color:{BLOCK_COLOR.name()}'>■</b> <b>{html.escape(block.title)}"
                f"</b> <span style='color:#6c7580'>Block · {where}</span><br>"
                f"<span style='color:#b7c0cc'>{html.escape(block.description)}</span>"
            )
            return
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


def _block_tooltip(entry) -> str:
    lines = [f"<b>{html.escape(entry.title)}</b> <i>(block {html.escape(entry.name)})</i>"]
    if entry.description:
        lines.append(html.escape(entry.description))
    lines.append(
        "<span style='color:#98a2ae'>Drag onto the canvas, or double-click: one node that "
        "stands for the block's layers.</span>"
    )
    return "<br>".join(lines)
