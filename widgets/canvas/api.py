"""What the editing widgets need from the application: the :class:`GraphEditor` protocol.

The canvas, palette, inspector and problems panel never change a document themselves
(DESIGN.md, "The app"). They are given an *editor* — in LayerCanvas the app's
``app.editing.EditorDocument`` — that owns the document and turns each request below into
an undo command. Anything with these members works (tests may pass a fake); widgets only
read ``graph`` and the check results, and call the request methods.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol

from engine.graph.compiler import CheckResult
from engine.graph.diagnostics import Diagnostic
from engine.graph.document import Edge, GraphDocument

__all__ = ["LAYER_MIME", "NODES_MIME", "GraphEditor", "disconnect_quietly"]

#: Drag-and-drop payload of a palette entry: the layer type name, UTF-8.
LAYER_MIME = "application/x-layercanvas-layer"
#: Clipboard payload of copied nodes: JSON (``{"format": "layercanvas-nodes", ...}``).
NODES_MIME = "application/x-layercanvas-nodes"


class GraphEditor(Protocol):
    """An open graph the widgets show, and the edits they may ask for.

    Signals (Qt ``Signal`` attributes): ``checked(CheckResult)`` after every re-check,
    ``diagnosticsChanged(list[Diagnostic])`` with every diagnostic of the project, and
    ``graphChanged(GraphEvent)`` relaying each document event.
    """

    @property
    def graph(self) -> GraphDocument: ...

    @property
    def check_result(self) -> CheckResult: ...

    @property
    def diagnostics(self) -> list[Diagnostic]: ...

    def add_node(
        self, type_name: str, position: Sequence[float], params: Mapping[str, Any] | None = None
    ) -> str: ...

    def remove_items(self, node_ids: Iterable[str], edges: Iterable[Edge] = ()) -> None: ...

    def move_nodes(
        self, positions: Mapping[str, Sequence[float]], text: str | None = None
    ) -> None: ...

    def connect_ports(self, source: str, target: str, port: int = 0) -> None: ...

    def disconnect_edge(self, edge: Edge) -> None: ...

    def reconnect_edge(self, edge: Edge, target: str, port: int = 0) -> None: ...

    def set_param(self, node_id: str, name: str, value: Any) -> None: ...

    def node_id_problem(self, new_id: str, old_id: str | None = None) -> str | None: ...

    def rename_node(self, old_id: str, new_id: str) -> None: ...

    def copy_nodes(self, node_ids: Iterable[str]) -> dict[str, Any]: ...

    def paste_nodes(self, data: Any, offset: Sequence[float] = (0, 0)) -> list[str]: ...

    def duplicate_nodes(self, node_ids: Iterable[str], offset=(40, 40)) -> list[str]: ...


def disconnect_quietly(signal, slot) -> None:
    """Disconnect ``slot`` from an editor's signal, also when the editor is already gone
    (widgets switch editors when a project is closed and another opened)."""
    with contextlib.suppress(RuntimeError, TypeError), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        signal.disconnect(slot)
