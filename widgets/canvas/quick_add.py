"""The quick-add box: Tab (or typing on the empty canvas) opens a search field at the
cursor; arrows pick among the layer types that fuzzily match, Enter adds the chosen one,
Esc cancels.

A match is a subsequence of the query's letters in the display name or type name;
contiguous runs and a match at a word start rank higher, so "bn" finds BatchNormalization
and "conv2" finds Conv2D first.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QPointF, Qt, Signal
from PySide6.QtWidgets import QFrame, QLabel, QLineEdit, QListWidget, QListWidgetItem, QVBoxLayout

from widgets.canvas import theme

__all__ = ["QuickAddBox", "fuzzy_score"]

_TYPE_ROLE = Qt.ItemDataRole.UserRole
_ROWS = 9


def fuzzy_score(query: str, text: str) -> float | None:
    """How well ``query`` matches ``text`` (higher is better), ``None`` if its letters are
    not all in ``text`` in order."""
    q = query.lower().replace(" ", "")
    if not q:
        return 0.0
    t = text.lower()
    if q in t:  # a contiguous hit beats any scattered one; at the start beats inside
        return 100.0 - t.index(q) - len(t) * 0.01
    score, pos, run = 0.0, 0, 0
    for ch in q:
        found = t.find(ch, pos)
        if found < 0:
            return None
        run = run + 1 if found == pos else 0
        word_start = found == 0 or not text[found - 1].isalnum() or text[found].isupper()
        score += 1.0 + run + (2.0 if word_start else 0.0) - (found - pos) * 0.05
        pos = found + 1
    return score - len(t) * 0.01


class QuickAddBox(QFrame):
    """A search popup inside the canvas view. ``chosen(type_name, scene_pos)`` when Enter
    picks a layer type; it hides itself on Enter, Esc, or when it loses focus."""

    chosen = Signal(str, QPointF)
    closed = Signal()

    def __init__(self, parent):
        super().__init__(parent)
        from engine.graph.registry_info import all_layer_info  # noqa: PLC0415

        self.setObjectName("QuickAddBox")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setStyleSheet(
            f"#QuickAddBox {{ background: {theme.NODE_BODY.name()}; border: 1px solid"
            f" {theme.SELECTION.name()}; border-radius: 6px; }}"
            f"QLineEdit {{ padding: 4px 6px; border: 1px solid {theme.NODE_BORDER.name()};"
            f" border-radius: 4px; background: {theme.CANVAS.name()};"
            f" color: {theme.TEXT.name()}; }}"
            f"QListWidget {{ border: none; background: {theme.NODE_BODY.name()};"
            f" color: {theme.TEXT.name()}; }}"
            f"QListWidget::item:selected {{ background: {theme.SELECTION.name()}; color: white; }}"
        )
        self._infos = all_layer_info()
        self._scene_pos = QPointF()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.setSpacing(4)
        self.field = QLineEdit()
        self.field.setPlaceholderText("Add a layer…")
        self.field.textChanged.connect(self._refilter)
        self.field.installEventFilter(self)
        self.results = QListWidget()
        self.results.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.results.itemClicked.connect(lambda _item: self.accept())
        self.hint = QLabel("↑↓ choose · Enter add · Esc cancel")
        self.hint.setStyleSheet(f"color: {theme.TEXT_FAINT.name()}; font-size: 8pt;")
        layout.addWidget(self.field)
        layout.addWidget(self.results)
        layout.addWidget(self.hint)
        self.setFixedWidth(300)
        self.hide()

    def open_at(self, view_pos, scene_pos: QPointF, text: str = "") -> None:
        """Show the box with its top-left at ``view_pos`` (kept inside the view), for a
        layer to be added at ``scene_pos``."""
        self._scene_pos = QPointF(scene_pos)
        self.field.setText(text)
        self._refilter(text)
        self.adjustSize()
        area = self.parentWidget().rect()
        x = min(max(0, view_pos.x()), max(0, area.width() - self.width()))
        y = min(max(0, view_pos.y()), max(0, area.height() - self.height()))
        self.move(x, y)
        self.show()
        self.raise_()
        self.field.setFocus()

    def matches(self) -> list[str]:
        """The type names listed, best first."""
        return [self.results.item(i).data(_TYPE_ROLE) for i in range(self.results.count())]

    def _refilter(self, text: str) -> None:
        scored = []
        for rank, info in enumerate(self._infos):
            scores = (fuzzy_score(text, info.display_name), fuzzy_score(text, info.type_name))
            best = max((s for s in scores if s is not None), default=None)
            if best is not None:
                scored.append((-best, rank, info))
        scored.sort(key=lambda s: (s[0], s[1]))
        self.results.clear()
        for _, _, info in scored:
            item = QListWidgetItem(f"{info.display_name}    ·  {info.category}")
            item.setData(_TYPE_ROLE, info.type_name)
            item.setToolTip(info.description)
            self.results.addItem(item)
        if self.results.count():
            self.results.setCurrentRow(0)
        row_h = max(self.results.sizeHintForRow(0), 20) if self.results.count() else 20
        self.results.setFixedHeight(row_h * min(_ROWS, max(1, self.results.count())) + 4)

    def accept(self) -> None:
        item = self.results.currentItem()
        if item is None:
            return
        type_name = item.data(_TYPE_ROLE)
        self.cancel()
        self.chosen.emit(type_name, self._scene_pos)

    def cancel(self) -> None:
        if self.isVisible():
            self.hide()
            self.closed.emit()

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 - Qt's name
        if watched is self.field and event.type() == QEvent.Type.KeyPress:
            key = event.key()
            if key in (Qt.Key.Key_Down, Qt.Key.Key_Up):
                step = 1 if key == Qt.Key.Key_Down else -1
                count = self.results.count()
                if count:
                    self.results.setCurrentRow((self.results.currentRow() + step) % count)
                return True
            if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
                self.accept()
                return True
            if key == Qt.Key.Key_Escape:
                self.cancel()
                return True
        if (
            watched is self.field
            and event.type() == QEvent.Type.FocusOut
            and event.reason() != Qt.FocusReason.PopupFocusReason
        ):
            self.cancel()  # clicking elsewhere on the canvas cancels, as a menu would
        return super().eventFilter(watched, event)
