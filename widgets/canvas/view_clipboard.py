"""Copy, cut, paste and duplicate for the canvas view (a mixin of
:class:`widgets.canvas.view.GraphView`, kept apart so each module stays small).

The clipboard holds :data:`widgets.canvas.api.NODES_MIME` JSON (and the same text, so
layers can be pasted between windows or into a text editor); a paste lands under the mouse,
or beside what is in the middle of the view.
"""

from __future__ import annotations

import json

from PySide6.QtCore import QMimeData, QPointF
from PySide6.QtWidgets import QApplication

from widgets.canvas import theme
from widgets.canvas.api import NODES_MIME

__all__ = ["ClipboardMixin"]


def _layers(n: int) -> str:
    return f"{n} layer" + ("" if n == 1 else "s")


class ClipboardMixin:
    """Needs ``editor``, ``graph_scene``, ``statusMessage``, ``delete_selection`` and
    ``free_spot_near`` from the view."""

    def copy_selection(self) -> bool:
        nodes = self.graph_scene.selected_node_ids()
        if self.editor is None or not nodes:
            return False
        data = self.editor.copy_nodes(nodes)
        text = json.dumps(data, indent=1)
        mime = QMimeData()
        mime.setData(NODES_MIME, text.encode("utf-8"))
        mime.setText(text)
        QApplication.clipboard().setMimeData(mime)
        self.statusMessage.emit(f"Copied {_layers(len(nodes))}")
        return True

    def cut_selection(self) -> None:
        if self.copy_selection():
            self.delete_selection()

    def paste(self) -> None:
        """Paste copied layers under the mouse (or at the view's centre) with fresh ids."""
        if self.editor is None:
            return
        mime = QApplication.clipboard().mimeData()
        if mime is None:
            return
        if mime.hasFormat(NODES_MIME):
            raw = bytes(mime.data(NODES_MIME)).decode("utf-8", errors="replace")
        elif mime.hasText():
            raw = mime.text()
        else:
            self.statusMessage.emit("Nothing to paste: the clipboard holds no layers")
            return
        try:
            data = json.loads(raw)
            nodes = data["nodes"]
            xs = [float(n["position"][0]) for n in nodes]
            ys = [float(n["position"][1]) for n in nodes]
        except (ValueError, KeyError, TypeError, IndexError, RecursionError):
            self.statusMessage.emit("Nothing to paste: the clipboard holds no layers")
            return
        if not nodes:
            return
        target = self._paste_point()
        offset = (target.x() - min(xs), target.y() - min(ys))
        try:
            created = self.editor.paste_nodes(data, offset)
        except ValueError as err:
            self.statusMessage.emit(f"Cannot paste: {err}")
            return
        self.graph_scene.select_nodes(created)
        self.statusMessage.emit(f"Pasted {_layers(len(created))}")

    def duplicate_selection(self) -> None:
        nodes = self.graph_scene.selected_node_ids()
        if self.editor is None or not nodes:
            return
        created = self.editor.duplicate_nodes(nodes, (theme.PASTE_OFFSET, theme.PASTE_OFFSET))
        self.graph_scene.select_nodes(created)

    def _paste_point(self) -> QPointF:
        cursor = self.mapFromGlobal(self.cursor().pos())
        if self.viewport().rect().contains(cursor):
            return self.mapToScene(cursor) - QPointF(theme.NODE_WIDTH / 2, theme.NODE_HEIGHT / 2)
        return self.free_spot_near(self.mapToScene(self.viewport().rect().center()))
