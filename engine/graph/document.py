"""The graph document: nodes, edges and a name, as pure data with change events.

This is the only source of truth for a graph (DESIGN.md, "The app"): the canvas draws
projections of it and subscribes to its events; undo commands call its mutation methods and
nothing else. It knows nothing of Qt and nothing of layers beyond their type names, so a
document can hold a broken graph (unknown types, dangling edges, even duplicate ids read
from a file) — saying what is wrong is the compiler's job.

Its JSON form is the ``graph`` object of a project file::

    {"nodes": [{"id": "d1", "type": "Dense", "params": {"units": 10}, "position": [0, 0]}],
     "edges": [{"source": "input", "target": "d1", "target_port": 0}]}

``GraphDocument.from_json(data).to_json() == data`` for every well-formed graph; keys this
version does not know are kept (``extra``) and written back unchanged.

A project's document also holds the block definitions its Block nodes use (``doc.blocks``,
:mod:`engine.graph.block_definition`), written as a ``"blocks"`` object beside ``nodes`` and
``edges`` — and left out when there are none, so files without blocks read and write exactly
as before. An edit inside a definition's graph is re-emitted by the document as a
``blocks_changed`` event (one document, so one undo step reverts a linked edit everywhere).

Reading also bounds the numbers (:data:`MAX_PARAM_NUMBER`, :data:`MAX_POSITION`): a
parameter of 10**300, a list of dimensions multiplying past it, or a node placed at infinity
is refused by key path here, before shape inference, memory estimates or numpy see it.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterator
from typing import Any

from engine.graph.block_definition import BLOCK, DEFINITION_KEYS, BlockDefinition, block_name_of
from engine.graph.document_parts import (
    EVENT_KINDS,
    MAX_PARAM_NUMBER,
    MAX_POSITION,
    Edge,
    GraphEvent,
    GraphFormatError,
    Node,
    RemovedNode,
    edge_from_json,
    kind_of,
    node_from_json,
)

__all__ = [
    "EVENT_KINDS",
    "MAX_PARAM_NUMBER",
    "MAX_POSITION",
    "Edge",
    "GraphDocument",
    "GraphEvent",
    "GraphFormatError",
    "Node",
    "RemovedNode",
]

_GRAPH_KEYS = ("nodes", "edges", "blocks")

Listener = Callable[[GraphEvent], None]


class GraphDocument:
    """A graph of layer nodes and edges with a name, emitting :class:`GraphEvent`s."""

    def __init__(
        self,
        name: str = "Untitled",
        nodes: list[Node] | tuple[Node, ...] = (),
        edges: list[Edge] | tuple[Edge, ...] = (),
        extra: dict[str, Any] | None = None,
        blocks: dict[str, BlockDefinition] | None = None,
    ):
        self._name = name
        self._nodes: list[Node] = list(nodes)
        self._edges: list[Edge] = list(edges)
        self.extra: dict[str, Any] = dict(extra or {})
        self._listeners: list[Listener] = []
        # Bumped by every change; caches (the compiler's, the canvas's) can compare it.
        self.revision = 0
        self._blocks: dict[str, BlockDefinition] = {}
        self._block_links: dict[str, Callable[[], None]] = {}  # name -> unsubscribe
        for definition in (blocks or {}).values():
            self._link_block(definition)

    # -- reading -----------------------------------------------------------------------------

    @property
    def name(self) -> str:
        return self._name

    @property
    def blocks(self) -> dict[str, BlockDefinition]:
        """The block definitions, by name (a copy of the mapping: change it through
        :meth:`add_block` / :meth:`remove_block`; edit a definition's ``graph`` directly)."""
        return dict(self._blocks)

    @property
    def nodes(self) -> tuple[Node, ...]:
        return tuple(self._nodes)

    @property
    def edges(self) -> tuple[Edge, ...]:
        return tuple(self._edges)

    def __len__(self) -> int:
        return len(self._nodes)

    def __iter__(self) -> Iterator[Node]:
        return iter(tuple(self._nodes))

    def __contains__(self, node_id: object) -> bool:
        return any(n.id == node_id for n in self._nodes)

    def node(self, node_id: str) -> Node:
        """The node with this id (the first one, if a file brought duplicates)."""
        for n in self._nodes:
            if n.id == node_id:
                return n
        raise KeyError(f"no node with id {node_id!r}")

    def edges_into(self, node_id: str) -> list[Edge]:
        return [e for e in self._edges if e.target == node_id]

    def edges_from(self, node_id: str) -> list[Edge]:
        return [e for e in self._edges if e.source == node_id]

    def unique_id(self, base: str) -> str:
        """``base`` made into a free node id: ``dense`` -> ``dense_1``, ``dense_2``, ..."""
        stem = re.sub(r"(?<=[a-z])([A-Z])", r"_\1", base)  # BatchNormalization -> batch_...
        stem = re.sub(r"[^0-9A-Za-z_]+", "_", stem).strip("_").lower() or "node"
        taken = {n.id for n in self._nodes}
        i = 1
        while f"{stem}_{i}" in taken:
            i += 1
        return f"{stem}_{i}"

    # -- events ------------------------------------------------------------------------------

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener(event)`` after every change; returns a function that unsubscribes."""
        self._listeners.append(listener)

        def unsubscribe() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return unsubscribe

    def _emit(self, event: GraphEvent) -> None:
        self.revision += 1
        for listener in list(self._listeners):
            listener(event)

    # -- mutations (what undo commands call) -------------------------------------------------

    def add_node(self, node: Node, index: int | None = None) -> Node:
        """Insert ``node`` (at ``index`` in the node list, default the end)."""
        if not isinstance(node.id, str) or not node.id:
            raise ValueError("a node id must be a non-empty string")
        if node.id in self:
            raise ValueError(f"a node with id {node.id!r} already exists")
        self._nodes.insert(len(self._nodes) if index is None else index, node)
        self._emit(GraphEvent("node_added", node.id, node=node))
        return node

    def create_node(
        self,
        type_name: str,
        params: dict[str, Any] | None = None,
        position: tuple[float, float] | list = (0, 0),
        node_id: str | None = None,
    ) -> Node:
        """Make a node with a fresh id derived from its type (``dense_1``) and add it."""
        node = Node(
            node_id or self.unique_id(type_name),
            type_name,
            copy.deepcopy(params or {}),
            list(position),
        )
        return self.add_node(node)

    def remove_node(self, node_id: str) -> RemovedNode:
        """Remove a node and every edge touching it; returns what to give
        :meth:`restore_node` to undo this."""
        node = self.node(node_id)
        index = self._nodes.index(node)
        touching = tuple(
            (i, e) for i, e in enumerate(self._edges) if node_id in (e.source, e.target)
        )
        for _, edge in reversed(touching):
            self._remove_edge_at(self._edges.index(edge))
        del self._nodes[index]
        self._emit(GraphEvent("node_removed", node_id, node=node))
        return RemovedNode(node, index, touching)

    def restore_node(self, removed: RemovedNode) -> None:
        """Undo :meth:`remove_node`: the node and its edges return to their old places."""
        self.add_node(removed.node, removed.index)
        for index, edge in removed.edges:
            self.add_edge(edge, index)

    def move_node(self, node_id: str, position: tuple[float, float] | list) -> None:
        node = self.node(node_id)
        old = list(node.position)
        node.position = list(position)
        self._emit(GraphEvent("node_moved", node_id, node=node, old=old, new=list(position)))

    def set_params(self, node_id: str, params: dict[str, Any]) -> dict[str, Any]:
        """Replace a node's parameters; returns the old ones (for undo)."""
        node = self.node(node_id)
        old = node.params
        node.params = copy.deepcopy(params)
        self._emit(
            GraphEvent(
                "params_changed", node_id, node=node, old=old, new=copy.deepcopy(node.params)
            )
        )
        return old

    def set_param(self, node_id: str, name: str, value: Any) -> dict[str, Any]:
        """Change one parameter (``None`` removes it, back to its default); returns the old
        parameters."""
        params = copy.deepcopy(self.node(node_id).params)
        if value is None:
            params.pop(name, None)
        else:
            params[name] = value
        return self.set_params(node_id, params)

    def rename_node(self, old_id: str, new_id: str) -> None:
        """Give a node a new id (its layer name), rewiring its edges."""
        if not isinstance(new_id, str) or not new_id:
            raise ValueError("a node id must be a non-empty string")
        if new_id == old_id:
            return
        if new_id in self:
            raise ValueError(f"a node with id {new_id!r} already exists")
        node = self.node(old_id)
        node.id = new_id
        for i, e in enumerate(self._edges):
            if old_id in (e.source, e.target):
                self._edges[i] = Edge(
                    new_id if e.source == old_id else e.source,
                    new_id if e.target == old_id else e.target,
                    e.target_port,
                    e.extra,
                )
        self._emit(GraphEvent("node_renamed", new_id, node=node, old=old_id, new=new_id))

    def add_edge(self, edge: Edge, index: int | None = None) -> Edge:
        """Insert an edge. The document accepts any edge; the compiler judges it."""
        self._edges.insert(len(self._edges) if index is None else index, edge)
        self._emit(GraphEvent("edge_added", edge.target, edge=edge))
        return edge

    def connect(self, source: str, target: str, target_port: int = 0) -> Edge:
        return self.add_edge(Edge(source, target, target_port))

    def remove_edge(self, edge: Edge) -> int:
        """Remove an edge (the first equal one); returns its index for undo."""
        try:
            index = self._edges.index(edge)
        except ValueError:
            raise KeyError(f"no edge {edge.id}") from None
        self._remove_edge_at(index)
        return index

    def _remove_edge_at(self, index: int) -> None:
        edge = self._edges.pop(index)
        self._emit(GraphEvent("edge_removed", edge.target, edge=edge))

    def rename(self, name: str) -> str:
        """Rename the graph; returns the old name."""
        old, self._name = self._name, name
        self._emit(GraphEvent("renamed", old=old, new=name))
        return old

    # -- block definitions -----------------------------------------------------------------------

    def add_block(self, definition: BlockDefinition) -> BlockDefinition:
        """Add a block definition (its name must be free)."""
        if not isinstance(definition.name, str) or not definition.name:
            raise ValueError("a block definition needs a name (non-empty text)")
        if definition.name in self._blocks:
            raise ValueError(f"a block named {definition.name!r} already exists")
        self._link_block(definition)
        self._emit(GraphEvent("blocks_changed", block=definition.name, new=definition))
        return definition

    def remove_block(self, name: str) -> BlockDefinition:
        """Remove a definition nothing uses; returns it (for undo: :meth:`add_block`)."""
        if name not in self._blocks:
            raise KeyError(f"no block named {name!r}")
        users = self.block_users(name)
        if users:
            raise ValueError(
                f"block {name!r} is still used by {', '.join(repr(u) for u in users[:5])}"
                + (" and more" if len(users) > 5 else "")
                + "; ungroup or delete those first"
            )
        definition = self._blocks.pop(name)
        self._block_links.pop(name)()
        self._emit(GraphEvent("blocks_changed", block=name, old=definition))
        return definition

    def set_block_meta(
        self, name: str, title: str | None = None, description: str | None = None
    ) -> tuple[str, str]:
        """Change a definition's title and/or description; returns the old (title, description)."""
        definition = self._blocks[name]
        old = (definition.title, definition.description)
        if title is not None:
            definition.title = title
        if description is not None:
            definition.description = description
        new = (definition.title, definition.description)
        self._emit(GraphEvent("blocks_changed", block=name, old=old, new=new))
        return old

    def copy_block(self, name: str) -> str:
        """Add an independent copy of definition ``name``; returns the copy's (new) name."""
        new_name = self.unique_block_name(name)
        self.add_block(self._blocks[name].copy(new_name))
        return new_name

    def unique_block_name(self, base: str) -> str:
        """``base`` if no definition has that name, else ``base_2``, ``base_3``, ..."""
        stem = re.sub(r"[^0-9A-Za-z_]+", "_", base).strip("_") or "block"
        if stem not in self._blocks:
            return stem
        stem = re.sub(r"_\d+$", "", stem) or stem
        i = 2
        while f"{stem}_{i}" in self._blocks:
            i += 1
        return f"{stem}_{i}"

    def block_users(self, name: str) -> list[str]:
        """Who uses definition ``name``: top-level node ids, and ``definition/node`` for uses
        inside other definitions."""
        users = [n.id for n in self._nodes if n.type == BLOCK and block_name_of(n) == name]
        for other in self._blocks.values():
            users += [
                f"{other.name}/{n.id}"
                for n in other.graph.nodes
                if n.type == BLOCK and block_name_of(n) == name
            ]
        return users

    def _link_block(self, definition: BlockDefinition) -> None:
        self._blocks[definition.name] = definition
        name = definition.name

        def relay(event: GraphEvent) -> None:
            self._emit(GraphEvent("blocks_changed", block=name, inner=event))

        self._block_links[name] = definition.graph.subscribe(relay)

    # -- JSON ----------------------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        """The ``graph`` object of a project file."""
        data: dict[str, Any] = {
            "nodes": [n.to_json() for n in self._nodes],
            "edges": [e.to_json() for e in self._edges],
        }
        if self._blocks:
            data["blocks"] = {name: d.to_json() for name, d in self._blocks.items()}
        data.update({k: copy.deepcopy(v) for k, v in self.extra.items() if k not in data})
        return data

    @classmethod
    def from_json(cls, data: Any, name: str = "Untitled") -> GraphDocument:
        """Read a ``graph`` object; raise :class:`GraphFormatError` if it is malformed.

        Only the structure is checked here (types of ids, params, positions, ports); whether
        the layer types and values make sense is the compiler's question.
        """
        if not isinstance(data, dict):
            raise GraphFormatError(
                "", f"expected an object with nodes and edges, got {kind_of(data)}"
            )
        nodes_data = data.get("nodes", [])
        edges_data = data.get("edges", [])
        if not isinstance(nodes_data, list):
            raise GraphFormatError("nodes", f"expected a list, got {kind_of(nodes_data)}")
        if not isinstance(edges_data, list):
            raise GraphFormatError("edges", f"expected a list, got {kind_of(edges_data)}")
        nodes = [node_from_json(item, f"nodes[{i}]") for i, item in enumerate(nodes_data)]
        edges = [edge_from_json(item, f"edges[{i}]") for i, item in enumerate(edges_data)]
        extra = {k: copy.deepcopy(v) for k, v in data.items() if k not in _GRAPH_KEYS}
        blocks = _blocks_from_json(data["blocks"]) if "blocks" in data else {}
        if "blocks" in data and not blocks:
            extra["blocks"] = {}  # written back as it was read
        return cls(name, nodes, edges, extra, blocks)

    def unknown_keys(self) -> list[str]:
        """Key paths this version does not understand (kept, but worth a warning)."""
        found = [k for k in self.extra]
        for i, n in enumerate(self._nodes):
            found += [f"nodes[{i}].{k}" for k in n.extra]
        for i, e in enumerate(self._edges):
            found += [f"edges[{i}].{k}" for k in e.extra]
        for name, definition in self._blocks.items():
            found += [f"blocks.{name}.{k}" for k in definition.extra]
            found += [f"blocks.{name}.graph.{k}" for k in definition.graph.unknown_keys()]
        return found

    def copy(self) -> GraphDocument:
        """An independent copy without subscribers."""
        return GraphDocument(
            self._name,
            [n.copy() for n in self._nodes],
            list(self._edges),
            copy.deepcopy(self.extra),
            {name: d.copy() for name, d in self._blocks.items()},
        )


def _blocks_from_json(data: Any) -> dict[str, BlockDefinition]:
    """The ``"blocks"`` object: definition name -> definition (structure only)."""
    if not isinstance(data, dict):
        raise GraphFormatError(
            "blocks", f"expected an object of block definitions, got {kind_of(data)}"
        )
    blocks = {}
    for name, item in data.items():
        key = f"blocks.{name}"
        if not name or not isinstance(item, dict):
            raise GraphFormatError(key, f"expected a block definition object, got {kind_of(item)}")
        texts = {k: item.get(k, "") for k in ("title", "description")}
        for k, value in texts.items():
            if not isinstance(value, str):
                raise GraphFormatError(f"{key}.{k}", f"expected text, got {kind_of(value)}")
        inputs = item.get("inputs", [])
        if not isinstance(inputs, list) or not all(isinstance(i, str) and i for i in inputs):
            raise GraphFormatError(f"{key}.inputs", "expected a list of node ids (text)")
        output = item.get("output")
        if not isinstance(output, str) or not output:
            raise GraphFormatError(f"{key}.output", "expected the id of the block's output node")
        if "graph" not in item:
            raise GraphFormatError(f"{key}.graph", "a block definition needs its graph")
        try:
            graph = GraphDocument.from_json(item["graph"], name)
        except GraphFormatError as err:
            raise GraphFormatError(_join(f"{key}.graph", err.key), err.problem) from None
        if graph.blocks:  # definitions all live at the top level; nesting is by Block nodes
            raise GraphFormatError(
                f"{key}.graph.blocks", "block definitions belong in the top-level graph"
            )
        extra = {k: copy.deepcopy(v) for k, v in item.items() if k not in DEFINITION_KEYS}
        blocks[name] = BlockDefinition(
            name, texts["title"], texts["description"], graph, list(inputs), output, extra
        )
    return blocks


def _join(prefix: str, key: str) -> str:
    if not key:
        return prefix
    return f"{prefix}{key}" if key.startswith("[") else f"{prefix}.{key}"
