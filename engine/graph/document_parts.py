"""The pieces a graph document is made of — nodes, edges, change events — and reading them
from JSON with every number bounded.

:mod:`engine.graph.document` builds the document from these and re-exports them; they sit
here so that the document module stays one job (the document and its mutations) and the
block definitions (:mod:`engine.graph.block_definition`) can use them without a cycle.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "EVENT_KINDS",
    "MAX_PARAM_NUMBER",
    "MAX_POSITION",
    "Edge",
    "GraphEvent",
    "GraphFormatError",
    "Node",
    "RemovedNode",
    "edge_from_json",
    "kind_of",
    "node_from_json",
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
    "blocks_changed",
)

#: The largest magnitude of a number in a node's params, or of the product of a list of them
#: (a shape): 2**53, the largest integer every JSON reader keeps exact; no count comes near.
MAX_PARAM_NUMBER = 2**53
#: Canvas coordinates beyond this are refused (the canvas cannot show them anyway).
MAX_POSITION = 1e9

_NODE_KEYS = ("id", "type", "params", "position")
_EDGE_KEYS = ("source", "target", "target_port")


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
    (positions, params, names).

    ``blocks_changed`` names the block definition in ``block``: ``old``/``new`` are the
    definition before/after when one is added or removed, ``(title, description)`` pairs for
    :meth:`~engine.graph.document.GraphDocument.set_block_meta`, and ``inner`` is the event
    of the definition's own graph when something inside it was edited.
    """

    kind: str
    node_id: str | None = None
    node: Node | None = None
    edge: Edge | None = None
    old: Any = None
    new: Any = None
    block: str | None = None
    inner: GraphEvent | None = None


@dataclass(frozen=True)
class RemovedNode:
    """What :meth:`GraphDocument.remove_node` took out, so an undo can put it back exactly."""

    node: Node
    index: int
    edges: tuple[tuple[int, Edge], ...]  # (position in the edge list, edge), ascending


def kind_of(value: Any) -> str:
    names = {dict: "an object", list: "a list", str: "text", bool: "true/false", type(None): "null"}
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f"the number {value!r}"
    return names.get(type(value), type(value).__name__)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value == value


def node_from_json(item: Any, key: str) -> Node:
    if not isinstance(item, dict):
        raise GraphFormatError(key, f"expected a node object, got {kind_of(item)}")
    node_id = item.get("id")
    if not isinstance(node_id, str) or not node_id:
        raise GraphFormatError(f"{key}.id", "every node needs an id (non-empty text)")
    type_name = item.get("type")
    if not isinstance(type_name, str) or not type_name:
        raise GraphFormatError(f"{key}.type", f"node {node_id!r} needs a layer type (text)")
    params = item.get("params", {})
    if not isinstance(params, dict):
        raise GraphFormatError(f"{key}.params", f"expected an object, got {kind_of(params)}")
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


def edge_from_json(item: Any, key: str) -> Edge:
    if not isinstance(item, dict):
        raise GraphFormatError(key, f"expected an edge object, got {kind_of(item)}")
    for end in ("source", "target"):
        if not isinstance(item.get(end), str) or not item.get(end):
            raise GraphFormatError(f"{key}.{end}", "expected a node id (non-empty text)")
    port = item.get("target_port", 0)
    if isinstance(port, bool) or not isinstance(port, int):
        raise GraphFormatError(
            f"{key}.target_port", f"expected an input port number, got {kind_of(port)}"
        )
    extra = {k: copy.deepcopy(v) for k, v in item.items() if k not in _EDGE_KEYS}
    return Edge(item["source"], item["target"], port, extra)
