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

Reading also bounds the numbers (:data:`MAX_PARAM_NUMBER`, :data:`MAX_POSITION`): a
parameter of 10**300, a list of dimensions multiplying past it, or a node placed at infinity
is refused by key path here, before shape inference, memory estimates or numpy see it.
"""

from __future__ import annotations

import copy
import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "EVENT_KINDS",
    "Edge",
    "GraphDocument",
    "GraphEvent",
    "GraphFormatError",
    "Node",
    "RemovedNode",
]

#: What a subscriber can be told (``GraphEvent.kind``).
EVENT_KINDS = (
    "node_added",
    "node_removed",
    "node_moved",
    "node_renamed",
    "params_changed",
    "edge_added",
    "edge_removed",
    "renamed",
)

#: The largest magnitude of a number in a node's params, or of the product of a list of them
#: (a shape): 2**53, the largest integer every JSON reader keeps exact; no count comes near.
MAX_PARAM_NUMBER = 2**53
#: Canvas coordinates beyond this are refused (the canvas cannot show them anyway).
MAX_POSITION = 1e9

_NODE_KEYS = ("id", "type", "params", "position")
_EDGE_KEYS = ("source", "target", "target_port")
_GRAPH_KEYS = ("nodes", "edges")


class GraphFormatError(ValueError):
    """The JSON of a graph is malformed; ``key`` says where (``nodes[2].params``)."""

    def __init__(self, key: str, problem: str):
        super().__init__(f"{key}: {problem}" if key else problem)
        self.key = key
        self.problem = problem


@dataclass(eq=False)
class Node:
    """One layer on the canvas.

    ``params`` are the values the user set, as written in the file (defaults are not filled
    in, so files stay short and a changed default reaches old files). ``position`` is the
    canvas position ``[x, y]`` of the node's top-left corner. ``extra`` keeps keys this
    version does not know.
    """

    id: str
    type: str
    params: dict[str, Any] = field(default_factory=dict)
    position: list = field(default_factory=lambda: [0, 0])
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        data = {
            "id": self.id,
            "type": self.type,
            "params": copy.deepcopy(self.params),
            "position": list(self.position),
        }
        data.update(copy.deepcopy(self.extra))
        return data

    def copy(self) -> Node:
        return Node(
            self.id,
            self.type,
            copy.deepcopy(self.params),
            list(self.position),
            copy.deepcopy(self.extra),
        )


@dataclass(frozen=True)
class Edge:
    """A connection from ``source``'s output to input port ``target_port`` of ``target``."""

    source: str
    target: str
    target_port: int = 0
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def id(self) -> str:
        """A stable name for diagnostics and the canvas: ``"conv1->flat:0"``."""
        return f"{self.source}->{self.target}:{self.target_port}"

    def to_json(self) -> dict[str, Any]:
        data = {"source": self.source, "target": self.target, "target_port": self.target_port}
        data.update(copy.deepcopy(self.extra))
        return data


@dataclass(frozen=True)
class GraphEvent:
    """A change to a document. ``old``/``new`` carry the before/after value where useful
    (positions, params, names)."""

    kind: str
    node_id: str | None = None
    node: Node | None = None
    edge: Edge | None = None
    old: Any = None
    new: Any = None


@dataclass(frozen=True)
class RemovedNode:
    """What :meth:`GraphDocument.remove_node` took out, so an undo can put it back exactly."""

    node: Node
    index: int
    edges: tuple[tuple[int, Edge], ...]  # (position in the edge list, edge), ascending


Listener = Callable[[GraphEvent], None]


class GraphDocument:
    """A graph of layer nodes and edges with a name, emitting :class:`GraphEvent`s."""

    def __init__(
        self,
        name: str = "Untitled",
        nodes: list[Node] | tuple[Node, ...] = (),
        edges: list[Edge] | tuple[Edge, ...] = (),
        extra: dict[str, Any] | None = None,
    ):
        self._name = name
        self._nodes: list[Node] = list(nodes)
        self._edges: list[Edge] = list(edges)
        self.extra: dict[str, Any] = dict(extra or {})
        self._listeners: list[Listener] = []
        # Bumped by every change; caches (the compiler's, the canvas's) can compare it.
        self.revision = 0

    # -- reading -----------------------------------------------------------------------------

    @property
    def name(self) -> str:
        return self._name

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

    # -- JSON ----------------------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        """The ``graph`` object of a project file."""
        data: dict[str, Any] = {
            "nodes": [n.to_json() for n in self._nodes],
            "edges": [e.to_json() for e in self._edges],
        }
        data.update(copy.deepcopy(self.extra))
        return data

    @classmethod
    def from_json(cls, data: Any, name: str = "Untitled") -> GraphDocument:
        """Read a ``graph`` object; raise :class:`GraphFormatError` if it is malformed.

        Only the structure is checked here (types of ids, params, positions, ports); whether
        the layer types and values make sense is the compiler's question.
        """
        if not isinstance(data, dict):
            raise GraphFormatError(
                "", f"expected an object with nodes and edges, got {_kind(data)}"
            )
        nodes_data = data.get("nodes", [])
        edges_data = data.get("edges", [])
        if not isinstance(nodes_data, list):
            raise GraphFormatError("nodes", f"expected a list, got {_kind(nodes_data)}")
        if not isinstance(edges_data, list):
            raise GraphFormatError("edges", f"expected a list, got {_kind(edges_data)}")
        nodes = [_node_from_json(item, f"nodes[{i}]") for i, item in enumerate(nodes_data)]
        edges = [_edge_from_json(item, f"edges[{i}]") for i, item in enumerate(edges_data)]
        extra = {k: copy.deepcopy(v) for k, v in data.items() if k not in _GRAPH_KEYS}
        return cls(name, nodes, edges, extra)

    def unknown_keys(self) -> list[str]:
        """Key paths this version does not understand (kept, but worth a warning)."""
        found = [k for k in self.extra]
        for i, n in enumerate(self._nodes):
            found += [f"nodes[{i}].{k}" for k in n.extra]
        for i, e in enumerate(self._edges):
            found += [f"edges[{i}].{k}" for k in e.extra]
        return found

    def copy(self) -> GraphDocument:
        """An independent copy without subscribers."""
        return GraphDocument(
            self._name,
            [n.copy() for n in self._nodes],
            list(self._edges),
            copy.deepcopy(self.extra),
        )


def _kind(value: Any) -> str:
    names = {dict: "an object", list: "a list", str: "text", bool: "true/false", type(None): "null"}
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f"the number {value!r}"
    return names.get(type(value), type(value).__name__)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value == value


def _node_from_json(item: Any, key: str) -> Node:
    if not isinstance(item, dict):
        raise GraphFormatError(key, f"expected a node object, got {_kind(item)}")
    node_id = item.get("id")
    if not isinstance(node_id, str) or not node_id:
        raise GraphFormatError(f"{key}.id", "every node needs an id (non-empty text)")
    type_name = item.get("type")
    if not isinstance(type_name, str) or not type_name:
        raise GraphFormatError(f"{key}.type", f"node {node_id!r} needs a layer type (text)")
    params = item.get("params", {})
    if not isinstance(params, dict):
        raise GraphFormatError(f"{key}.params", f"expected an object, got {_kind(params)}")
    for name, value in params.items():
        _check_param_numbers(value, f"{key}.params.{name}", node_id)
    position = item.get("position", [0, 0])
    if (
        not isinstance(position, list)
        or len(position) != 2
        or not all(_is_number(v) for v in position)
    ):
        raise GraphFormatError(f"{key}.position", "expected two numbers [x, y]")
    if not all(math.isfinite(v) and abs(v) <= MAX_POSITION for v in position):
        raise GraphFormatError(
            f"{key}.position",
            f"node {node_id!r} is placed at {position}; positions are finite numbers of at "
            f"most {MAX_POSITION:.0e} in size",
        )
    extra = {k: copy.deepcopy(v) for k, v in item.items() if k not in _NODE_KEYS}
    return Node(node_id, type_name, copy.deepcopy(params), list(position), extra)


def _too_large(value: Any) -> bool:
    return _is_number(value) and math.isfinite(value) and abs(value) > MAX_PARAM_NUMBER


def _check_param_numbers(value: Any, key: str, node_id: str) -> None:
    """Refuse a number, or a list of numbers' product, beyond :data:`MAX_PARAM_NUMBER`.

    Python numbers only, so nothing here can overflow; nested lists and objects are followed.
    """
    stack = [(value, key)]
    while stack:
        item, where = stack.pop()
        if _too_large(item):
            raise GraphFormatError(
                where,
                f"{item!r} is too large for a parameter of node {node_id!r}; parameters are "
                f"at most {MAX_PARAM_NUMBER} (2**53) in size",
            )
        if isinstance(item, list):
            numbers = [v for v in item if _is_number(v) and math.isfinite(v)]
            if len(numbers) > 1 and not any(_too_large(v) for v in numbers):
                product = 1.0
                for v in numbers:
                    product *= abs(float(v))  # floats: at worst inf, never an exception
                if product > MAX_PARAM_NUMBER:
                    shown = str(item) if len(item) <= 8 else f"({len(item)} numbers)"
                    raise GraphFormatError(
                        where,
                        f"the values {shown} of node {node_id!r} multiply to about "
                        f"{product:.3g}, more than 2**53: no layer can hold that many values",
                    )
            stack.extend(reversed([(v, f"{where}[{i}]") for i, v in enumerate(item)]))
        elif isinstance(item, dict):
            stack.extend(reversed([(v, f"{where}.{k}") for k, v in item.items()]))


def _edge_from_json(item: Any, key: str) -> Edge:
    if not isinstance(item, dict):
        raise GraphFormatError(key, f"expected an edge object, got {_kind(item)}")
    for end in ("source", "target"):
        if not isinstance(item.get(end), str) or not item.get(end):
            raise GraphFormatError(f"{key}.{end}", "expected a node id (non-empty text)")
    port = item.get("target_port", 0)
    if isinstance(port, bool) or not isinstance(port, int):
        raise GraphFormatError(
            f"{key}.target_port", f"expected an input port number, got {_kind(port)}"
        )
    extra = {k: copy.deepcopy(v) for k, v in item.items() if k not in _EDGE_KEYS}
    return Edge(item["source"], item["target"], port, extra)
