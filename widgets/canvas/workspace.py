"""The editing widgets wired together: palette | canvas | inspector over problems.

:func:`link_widgets` makes the connections any arrangement needs (selection -> inspector,
palette double-click -> add at the view's centre, problem click -> focus the node);
:class:`EditorWorkspace` is one ready arrangement in splitters, for a window that does not
want docks of its own.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QSplitter, QWidget

from widgets.canvas.view import GraphView

__all__ = ["EditorWorkspace", "link_widgets"]


def link_widgets(view: GraphView, palette=None, inspector=None, diagnostics=None) -> None:
    """Connect the canvas to the palette, inspector and problems panel (any may be None)."""
    if inspector is not None:
        view.graph_scene.selectedNodesChanged.connect(inspector.show_nodes)
    if palette is not None:
        palette.layerActivated.connect(view.add_layer_at_center)
    if diagnostics is not None:
        diagnostics.nodeActivated.connect(view.focus_node)


class EditorWorkspace(QSplitter):
    """Palette on the left, the canvas in the middle, inspector above problems on the right."""

    def __init__(self, editor=None, parent: QWidget | None = None):
        super().__init__(Qt.Orientation.Horizontal, parent)
        from widgets.diagnostics_panel import DiagnosticsPanel  # noqa: PLC0415
        from widgets.inspector import Inspector  # noqa: PLC0415
        from widgets.palette import LayerPalette  # noqa: PLC0415

        self.setObjectName("EditorWorkspace")
        self.palette = LayerPalette()
        self.view = GraphView()
        self.inspector = Inspector()
        self.diagnostics = DiagnosticsPanel()
        right = QSplitter(Qt.Orientation.Vertical)
        right.addWidget(self.inspector)
        right.addWidget(self.diagnostics)
        right.setStretchFactor(0, 3)
        right.setStretchFactor(1, 1)
        right.setSizes([560, 260])
        self.addWidget(self.palette)
        self.addWidget(self.view)
        self.addWidget(right)
        self.setStretchFactor(1, 1)
        self.setSizes([210, 900, 300])
        link_widgets(self.view, self.palette, self.inspector, self.diagnostics)
        self.set_editor(editor)

    def set_editor(self, editor) -> None:
        self.view.set_editor(editor)
        self.inspector.set_editor(editor)
        self.diagnostics.set_editor(editor)
