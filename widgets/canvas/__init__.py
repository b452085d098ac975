"""The node-editor canvas: a scene that projects a graph document, its view, and the node,
port and edge items, plus the theme they share.

Public API::

    GraphScene(editor=None)        selectedNodesChanged(list), statusMessage(str)
    GraphView(scene=None)          zoom/pan/fit, drop target, edit_actions(), focus_node(id)
    link_widgets(view, palette, inspector, diagnostics)
    EditorWorkspace(editor=None)   palette | canvas | inspector over problems
    LAYER_MIME, NODES_MIME         drag-and-drop and clipboard payload types

``editor`` is anything following :class:`widgets.canvas.api.GraphEditor` (the app's
``EditorDocument``).
"""

from widgets.canvas.api import LAYER_MIME, NODES_MIME, GraphEditor
from widgets.canvas.edge_item import EdgeItem
from widgets.canvas.node_item import NodeItem
from widgets.canvas.port_item import PortItem
from widgets.canvas.scene import GraphScene
from widgets.canvas.view import GraphView
from widgets.canvas.workspace import EditorWorkspace, link_widgets

__all__ = [
    "LAYER_MIME",
    "NODES_MIME",
    "EdgeItem",
    "EditorWorkspace",
    "GraphEditor",
    "GraphScene",
    "GraphView",
    "NodeItem",
    "PortItem",
    "link_widgets",
]
