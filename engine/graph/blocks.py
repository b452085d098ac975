"""Reusable blocks: grouping a selection into one Block node and ungrouping it again.

The definitions themselves are pure data (:mod:`engine.graph.block_definition`, re-exported
here); the document holds them (``doc.blocks``). This module plans the two structural edits
the app offers, as pure functions, so that its undo commands only replay a plan:

- :func:`plan_group` — the selected nodes become a new definition and one Block node in
  their place, wired with the ports the selection's outside edges need;
- :func:`plan_ungroup` — a Block node is replaced by copies of its definition's nodes,
  with their original ids where those are free and positions relative to the block node.

Grouping then ungrouping restores the graph exactly: the same ids, params and edges, with
positions back where they were. :func:`apply_group` and :func:`apply_ungroup` perform a
plan on a document (what the undo commands' ``redo`` does); a plan records everything its
command needs to undo it.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.graph.block_definition import (
    BLOCK,
    BLOCK_INPUT,
    BlockDefinition,
    block_name_of,
)
from engine.graph.document import Edge, GraphDocument, Node

__all__ = [
    "BLOCK",
    "BLOCK_INPUT",
    "BlockDefinition",
    "BlockError",
    "GroupPlan",
    "UngroupPlan",
    "apply_group",
    "apply_ungroup",
    "plan_group",
    "plan_ungroup",
]

# Where a block's input-port nodes sit inside its definition, left of the leftmost node.
_PORT_OFFSET_X = 220.0


class BlockError(ValueError):
    """A selection cannot be grouped, or a node cannot be ungrouped; the message says why."""


@dataclass(frozen=True)
class GroupPlan:
    """What grouping changes. Apply in this order: add ``definition`` to the top-level
    document, remove ``remove_nodes`` (which takes ``remove_edges`` with them), add
    ``block_node`` at ``block_index`` and then ``add_edges``."""

    definition: BlockDefinition
    remove_nodes: tuple[str, ...]
    remove_edges: tuple[Edge, ...]  # every edge touching a removed node, in document order
    block_node: Node
    block_index: int  # where the block node goes in the node list (after the removals)
    add_edges: tuple[Edge, ...]


@dataclass(frozen=True)
class UngroupPlan:
    """What ungrouping changes: remove ``block_node`` (and ``remove_edges``), add
    ``add_nodes`` at ``node_index`` and ``add_edges``; then remove the definition named
    ``remove_definition`` when this was its last use (``None`` otherwise)."""

    block_node: Node
    remove_edges: tuple[Edge, ...]
    add_nodes: tuple[Node, ...]
    node_index: int
    add_edges: tuple[Edge, ...]
    remove_definition: str | None
    renamed: dict[str, str]  # inner id -> id in the graph, where the inner id was taken


def plan_group(
    doc: GraphDocument,
    node_ids,
    name: str,
    title: str,
    root: GraphDocument | None = None,
    description: str = "",
) -> GroupPlan:
    """Plan grouping ``node_ids`` of ``doc`` into a new definition named after ``name``
    (made unique in ``root``, the project's document, which is ``doc`` unless grouping
    inside a definition). Raises :class:`BlockError` for a selection that cannot become one
    block: nothing selected, an Input or block input port among it, or outgoing edges
    that leave from more than one node."""
    root = doc if root is None else root
    selected = list(dict.fromkeys(node_ids))
    if not selected:
        raise BlockError("select the layers to group first")
    missing = [n for n in selected if n not in doc]
    if missing:
        raise BlockError(f"there is no node {missing[0]!r} to group")
    chosen = set(selected)
    nodes = [n for n in doc.nodes if n.id in chosen]  # document order
    for node in nodes:
        if node.type in ("Input", BLOCK_INPUT):
            raise BlockError(
                f"'{node.id}' is an {node.type}: data enters a block through its ports, so "
                "leave the Input out of the selection"
            )
    edges = doc.edges
    incoming = [e for e in edges if e.target in chosen and e.source not in chosen]
    outgoing = [e for e in edges if e.source in chosen and e.target not in chosen]
    inside = [e for e in edges if e.source in chosen and e.target in chosen]
    crossing_in, kept_inside = set(incoming), set(inside)
    output = _output_node(nodes, outgoing, inside)

    # One port per distinct outside source, in the order of the sources in the document.
    order = {n.id: i for i, n in enumerate(doc.nodes)}
    sources = sorted({e.source for e in incoming}, key=lambda s: order.get(s, len(order)))
    taken = set(chosen)
    port_ids = []
    for i in range(len(sources)):
        port_ids.append(_free_id("x" if len(sources) == 1 else f"x{i + 1}", taken))
        taken.add(port_ids[-1])

    left = min(n.position[0] for n in nodes)
    top = min(n.position[1] for n in nodes)
    inner_nodes = []
    for port_id, source in zip(port_ids, sources, strict=True):
        first = next(e.target for e in incoming if e.source == source)
        y = doc.node(first).position[1] - top
        inner_nodes.append(Node(port_id, BLOCK_INPUT, {}, [-_PORT_OFFSET_X, y]))
    for node in nodes:
        copy = node.copy()
        copy.position = [node.position[0] - left, node.position[1] - top]
        inner_nodes.append(copy)
    port_of = dict(zip(sources, port_ids, strict=True))
    inner_edges = [
        Edge(port_of[e.source], e.target, e.target_port, e.extra) if e in crossing_in else e
        for e in edges
        if e in crossing_in or e in kept_inside
    ]
    block_name = root.unique_block_name(name)
    definition = BlockDefinition(
        block_name,
        title or block_name,
        description,
        GraphDocument(block_name, inner_nodes, inner_edges),
        port_ids,
        output,
    )

    block_id = _free_id(block_name, {n.id for n in doc.nodes if n.id not in chosen})
    block_node = Node(block_id, BLOCK, {"block": block_name}, [left, top])
    first_index = min(order[n] for n in chosen)
    block_index = sum(1 for n in doc.nodes[:first_index] if n.id not in chosen)
    add_edges = [Edge(s, block_id, i) for i, s in enumerate(sources)]
    add_edges += [Edge(block_id, e.target, e.target_port, e.extra) for e in outgoing]
    removed = tuple(e for e in edges if e.source in chosen or e.target in chosen)
    return GroupPlan(
        definition,
        tuple(n.id for n in nodes),
        removed,
        block_node,
        block_index,
        tuple(add_edges),
    )


def _output_node(nodes: list[Node], outgoing: list[Edge], inside: list[Edge]) -> str:
    sources = list(dict.fromkeys(e.source for e in outgoing))
    if len(sources) > 1:
        raise BlockError(
            "a block has one output, but edges leave the selection from "
            + ", ".join(f"'{s}'" for s in sources)
            + ": add the layers that merge them to the selection, or select fewer"
        )
    feeding = {e.source for e in inside} | set(sources)
    sinks = [n.id for n in nodes if n.id not in feeding]
    ends = list(dict.fromkeys(sources + sinks))
    if len(ends) != 1:
        raise BlockError(
            "a block has one output, but the selection ends in "
            + ", ".join(f"'{s}'" for s in ends)
            + ": select layers that end in a single one"
        )
    return ends[0]


def _free_id(base: str, taken: set[str]) -> str:
    if base not in taken:
        return base
    i = 2
    while f"{base}_{i}" in taken:
        i += 1
    return f"{base}_{i}"


def plan_ungroup(
    doc: GraphDocument, node_id: str, root: GraphDocument | None = None
) -> UngroupPlan:
    """Plan replacing Block node ``node_id`` of ``doc`` by its definition's layers (from
    ``root``, the project's document; ``doc`` itself unless ungrouping inside a definition).
    Inner ids are kept where free, else prefixed with the block's id."""
    root = doc if root is None else root
    if node_id not in doc:
        raise BlockError(f"there is no node {node_id!r} to ungroup")
    block = doc.node(node_id)
    if block.type != BLOCK:
        raise BlockError(f"'{node_id}' is a {block.type}, not a block: only blocks ungroup")
    name = block_name_of(block)
    definition = root.blocks.get(name) if name else None
    if definition is None:
        raise BlockError(f"block '{node_id}' uses the block {name!r}, which this project lacks")
    inner = definition.graph
    ports = {port_id: i for i, port_id in enumerate(definition.inputs)}
    if definition.output in ports or definition.output not in inner:
        raise BlockError(f"block {name!r} has no output layer to ungroup into")

    taken = {n.id for n in doc.nodes if n.id != node_id}
    renamed: dict[str, str] = {}
    ids: dict[str, str] = {}
    add_nodes = []
    for node in inner.nodes:
        if node.type == BLOCK_INPUT:
            continue
        new_id = node.id if node.id not in taken else _free_id(f"{node_id}_{node.id}", taken)
        if new_id != node.id:
            renamed[node.id] = new_id
        taken.add(new_id)
        ids[node.id] = new_id
        copy = node.copy()
        copy.id = new_id
        copy.position = [block.position[0] + node.position[0], block.position[1] + node.position[1]]
        add_nodes.append(copy)

    feeds = {e.target_port: e.source for e in doc.edges_into(node_id)}
    add_edges = []
    for e in inner.edges:
        if e.target not in ids:
            continue
        if e.source in ports:
            source = feeds.get(ports[e.source])
            if source is None:
                continue  # the port was not connected: the layer's input stays open
        elif e.source in ids:
            source = ids[e.source]
        else:
            continue
        add_edges.append(Edge(source, ids[e.target], e.target_port, e.extra))
    add_edges += [
        Edge(ids[definition.output], e.target, e.target_port, e.extra)
        for e in doc.edges_from(node_id)
    ]
    home = next((d.name for d in root.blocks.values() if d.graph is doc), None)
    own = node_id if doc is root else f"{home}/{node_id}"
    last_use = root.block_users(name) == [own]
    touching = tuple(e for e in doc.edges if node_id in (e.source, e.target))
    return UngroupPlan(
        block,
        touching,
        tuple(add_nodes),
        [n.id for n in doc.nodes].index(node_id),
        tuple(add_edges),
        name if last_use else None,
        renamed,
    )


def apply_group(plan: GroupPlan, doc: GraphDocument, root: GraphDocument | None = None) -> None:
    """Perform ``plan`` on ``doc`` (the definition goes to ``root``, by default ``doc``)."""
    root = doc if root is None else root
    root.add_block(plan.definition)
    for node_id in plan.remove_nodes:
        doc.remove_node(node_id)
    doc.add_node(plan.block_node.copy(), plan.block_index)
    for edge in plan.add_edges:
        doc.add_edge(edge)


def apply_ungroup(plan: UngroupPlan, doc: GraphDocument, root: GraphDocument | None = None) -> None:
    """Perform ``plan`` on ``doc`` (an unused definition is removed from ``root``)."""
    root = doc if root is None else root
    doc.remove_node(plan.block_node.id)
    for offset, node in enumerate(plan.add_nodes):
        doc.add_node(node.copy(), plan.node_index + offset)
    for edge in plan.add_edges:
        doc.add_edge(edge)
    if plan.remove_definition is not None:
        root.remove_block(plan.remove_definition)
