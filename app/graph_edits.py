"""The edits a graph editor asks for, each as one undo command: the ``GraphEditor`` requests
(:mod:`widgets.canvas.api`) shared by every editor of a graph.

:class:`GraphEdits` turns add, delete, move, connect, set a parameter, rename, copy/paste
and duplicate into the commands of :mod:`app.commands`. It needs two things of the class
that mixes it in: ``graph`` (the :class:`~engine.graph.document.GraphDocument` edited) and
``push(command)`` (the undo stack the command goes on). The project's
:class:`app.editing.EditorDocument` edits the top-level graph; a block's inside is edited
through :class:`app.block_scope.BlockScope`, the same requests on the block definition's
graph pushed on the project's one undo stack.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from app import block_commands, commands
from engine.graph.document import Edge

__all__ = ["GraphEdits", "grid"]


class GraphEdits:
    """The edit requests of a graph editor; see the module docstring."""

    graph: Any  # the GraphDocument edited (a property of the class mixing this in)

    def push(self, command) -> None:
        raise NotImplementedError

    def add_node(
        self,
        type_name: str,
        position: Sequence[float],
        params: Mapping[str, Any] | None = None,
    ) -> str:
        """Add a layer at ``position`` (its top-left corner); returns its new id. ``params``
        default to the type's required parameters with their defaults."""
        if params is None:
            params = _default_params(type_name)
        command = commands.AddNode(self.graph, type_name, grid(position), params)
        self.push(command)
        return command.node_id

    def remove_items(self, node_ids: Iterable[str], edges: Iterable[Edge] = ()) -> None:
        command = commands.RemoveItems(self.graph, node_ids, edges)
        if command.count:
            self.push(command)

    def move_nodes(self, positions: Mapping[str, Sequence[float]], text: str | None = None) -> None:
        """Move nodes (``id -> new top-left``) as one undo step (named ``text`` in the Edit
        menu); unchanged ones are skipped."""
        moved = {
            node_id: grid(pos)
            for node_id, pos in positions.items()
            if node_id in self.graph and list(self.graph.node(node_id).position) != grid(pos)
        }
        if moved:
            self.push(commands.MoveNodes(self.graph, moved, text=text))

    def connect_ports(self, source: str, target: str, port: int = 0) -> None:
        """Connect ``source`` to input ``port`` of ``target`` (replacing what was there)."""
        if Edge(source, target, port) in self.graph.edges:
            return
        self.push(commands.Connect(self.graph, source, target, port))

    def reconnect_edge(self, edge: Edge, target: str, port: int = 0) -> None:
        """Move an edge's end to input ``port`` of ``target`` (one undo step)."""
        if edge not in self.graph.edges or (edge.target, edge.target_port) == (target, port):
            return
        self.push(commands.MoveEdge(self.graph, edge, target, port))

    def disconnect_edge(self, edge: Edge) -> None:
        if edge in self.graph.edges:
            self.push(commands.Disconnect(self.graph, edge))

    def set_params(self, node_id: str, params: Mapping[str, Any]) -> None:
        if dict(params) != self.graph.node(node_id).params:
            self.push(commands.SetParams(self.graph, node_id, params))

    def set_param(self, node_id: str, name: str, value: Any) -> None:
        """Set one parameter; ``None`` removes it (back to the type's default)."""
        params = copy.deepcopy(self.graph.node(node_id).params)
        if value is None:
            params.pop(name, None)
        else:
            params[name] = value
        if params != self.graph.node(node_id).params:
            self.push(commands.SetParams(self.graph, node_id, params, changed=name))

    def node_id_problem(self, new_id: str, old_id: str | None = None) -> str | None:
        """Why ``new_id`` cannot name a layer, or ``None`` (for the inspector's name field)."""
        return commands.node_id_problem(self.graph, new_id, old_id)

    def rename_node(self, old_id: str, new_id: str) -> None:
        """Rename a layer; ``ValueError`` with a user-facing message when the name is taken
        or not allowed."""
        if new_id == old_id:
            return
        problem = self.node_id_problem(new_id, old_id)
        if problem:
            raise ValueError(problem)
        self.push(commands.RenameNode(self.graph, old_id, new_id))

    def rename_project(self, name: str) -> None:
        name = name.strip()
        if name and name != self.graph.name:
            self.push(commands.RenameGraph(self.graph, name))

    @property
    def blocks_root(self):
        """The project's document, which holds the block definitions (a block's inside
        is edited through an editor that says so)."""
        return self.graph

    def copy_nodes(self, node_ids: Iterable[str]) -> dict[str, Any]:
        """Clipboard data for these nodes and the edges among them (with the definitions
        of the blocks among them, so they paste into another project)."""
        ids = list(node_ids)
        data = commands.nodes_to_clip(self.graph, ids)
        chosen = set(ids)
        blocks = block_commands.clip_blocks(
            self.blocks_root, (n for n in self.graph.nodes if n.id in chosen)
        )
        if blocks:
            data["blocks"] = blocks
        return data

    def paste_nodes(
        self, data: Any, offset: Sequence[float] = (0, 0), verb: str = "Paste"
    ) -> list[str]:
        """Paste clipboard data moved by ``offset``; returns the new ids. ``ValueError`` with
        a clear message when the data is not LayerCanvas layers."""
        if isinstance(data, str | bytes):
            try:
                data = json.loads(data)
            except (ValueError, RecursionError):
                raise ValueError("the clipboard holds no LayerCanvas layers") from None
        data, definitions = block_commands.clip_definitions(self.blocks_root, data)
        command = commands.PasteNodes(self.graph, data, grid(offset), verb=verb)
        if not command.created:
            return []
        if definitions:
            command = block_commands.PasteWithBlocks(self.blocks_root, definitions, command)
        self.push(command)
        return list(command.created.values())

    def duplicate_nodes(self, node_ids: Iterable[str], offset=(40, 40)) -> list[str]:
        ids = list(node_ids)
        if not ids:
            return []
        return self.paste_nodes(self.copy_nodes(ids), offset, verb="Duplicate")


def _default_params(type_name: str) -> dict[str, Any]:
    from engine.graph.registry_info import default_params  # noqa: PLC0415

    try:
        return default_params(type_name)
    except KeyError:
        return {}


def grid(position: Sequence[float], step: int = 10) -> list[int]:
    """Positions are stored on a 10-unit grid: files stay tidy and nodes line up."""
    return [int(round(float(v) / step) * step) for v in position]
