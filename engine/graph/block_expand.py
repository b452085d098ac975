"""Expanding block uses into the layers they stand for: one flat graph for the compiler.

:func:`expand_blocks` replaces every Block node by its definition's nodes, with ids
``<block node id>.<inner id>`` (nested blocks: ``b1.b2.conv``); BlockInput nodes disappear
and their edges are rewired to whatever feeds the block's port, and the edges leaving the
block leave from its output node. The checker, the model builder, the summary, the memory
estimate and the ONNX export all work on this flat graph, so a block compiles to exactly the
model its expanded form would. Its nodes share their ``params`` with the document's (it is
rebuilt on every check): it is for reading, never for editing.

Nothing here raises on a bad block. A use that cannot be expanded — its definition is
missing, contains itself, is malformed, or would expand past :data:`MAX_FLAT_NODES` — stays
in the flat graph as a broken ``Block`` node with a diagnostic of its own (so what follows it
is "unknown", not a cascade of errors); wrong port wiring is a diagnostic on the block node.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from engine.graph.block_definition import BLOCK, BLOCK_INPUT, BlockDefinition, block_name_of
from engine.graph.diagnostics import ERROR, Diagnostic
from engine.graph.document import Edge, GraphDocument, Node

__all__ = [
    "MAX_BLOCK_DEPTH",
    "MAX_FLAT_NODES",
    "ExpandedGraph",
    "definition_problem",
    "expand_blocks",
    "has_blocks",
]

#: A project whose blocks expand to more layers than this is refused (a hostile file can nest
#: a block that uses another twice, thirty levels deep: 2**30 layers).
MAX_FLAT_NODES = 50_000
#: Blocks nest at most this deep.
MAX_BLOCK_DEPTH = 32


@dataclass
class ExpandedGraph:
    """The flat graph and how its parts map back to the document.

    ``origin`` maps each flat node id that came out of a block to the top-level Block node
    it belongs to; ``members`` is the reverse (block id -> its flat node ids, nested ones
    included); ``outputs`` maps each expanded top-level block to the flat id of its output
    node and ``ports`` to the flat ids feeding its ports (``None`` where unconnected);
    ``edge_origin`` maps flat edge ids that stand for a top-level edge to that edge's id;
    ``problems`` are the blocks' own diagnostics, on flat node ids.
    """

    flat: GraphDocument
    origin: dict[str, str] = field(default_factory=dict)
    members: dict[str, list[str]] = field(default_factory=dict)
    outputs: dict[str, str] = field(default_factory=dict)
    ports: dict[str, list[str | None]] = field(default_factory=dict)
    edge_origin: dict[str, str] = field(default_factory=dict)
    problems: list[Diagnostic] = field(default_factory=list)
    port_problems: set[str] = field(default_factory=set)  # blocks with a port diagnostic

    def inner_path(self, flat_id: str) -> str | None:
        """``"conv1"`` for ``"res1.conv1"`` (``"b2.conv"`` for ``"b1.b2.conv"``); ``None``
        for a node that is not inside a block."""
        top = self.origin.get(flat_id)
        return None if top is None or top == flat_id else flat_id[len(top) + 1 :]


def has_blocks(doc: GraphDocument) -> bool:
    """Whether ``doc`` needs expanding (it has definitions or block nodes); cheap."""
    return bool(doc.blocks) or any(n.type in (BLOCK, BLOCK_INPUT) for n in doc.nodes)


def expand_blocks(doc: GraphDocument) -> ExpandedGraph:
    """The flat graph of ``doc`` with every Block node expanded (see the module doc)."""
    return _Expander(doc).run()


_TOO_MANY = (
    "block_too_large",
    f"the project's blocks expand to more than {MAX_FLAT_NODES:,} layers",
    "use fewer blocks",
)


class _Expander:
    def __init__(self, doc: GraphDocument):
        self.doc = doc
        self.blocks = doc.blocks
        self.nodes: list[Node] = []
        self.edges: list[Edge] = []
        self.result = ExpandedGraph(GraphDocument(doc.name))
        self.definition_problems: dict[str, str | None] = {}
        self.sizes: dict[str, int] = {}
        self.budget = MAX_FLAT_NODES  # flat layers the top level's blocks may still add

    def run(self) -> ExpandedGraph:
        self.expand(self.doc, "", {}, (), None)
        self.result.flat = GraphDocument(self.doc.name, self.nodes, self.edges)
        for flat_id, top in self.result.origin.items():
            if flat_id != top:
                self.result.members.setdefault(top, []).append(flat_id)
        return self.result

    def problem(self, code: str, message: str, fix: str | None, node_id: str) -> None:
        self.result.problems.append(Diagnostic(ERROR, code, message, fix, (node_id,)))

    # Deciding whether a use expands (the same answer every time it is asked) ----------------

    def definition_for(self, node: Node, stack: tuple[str, ...]):
        """``(definition, None)`` when ``node`` expands, else ``(None, (code, message, fix))``."""
        name = block_name_of(node)
        label = f"block '{node.id}'"
        if name is None:
            return None, ("parameter", f"{label} does not say which block it uses", "set block")
        extra = sorted(set(node.params) - {"block"})
        if extra:
            return None, (
                "parameter",
                f"{label} takes only the parameter 'block', not {', '.join(extra)}",
                f"remove {', '.join(extra)}",
            )
        definition = self.blocks.get(name)
        if definition is None:
            return None, (
                "block_unknown",
                f"{label} uses the block '{name}', which this project does not define",
                "insert the block again from the Blocks palette, or delete this node",
            )
        if name in stack:
            loop = " -> ".join((*stack[stack.index(name) :], name))
            return None, (
                "block_recursive",
                f"block '{name}' contains itself ({loop}), so it can never be built",
                "remove the inner use of the block",
            )
        if len(stack) >= MAX_BLOCK_DEPTH:
            return None, (
                "block_too_deep",
                f"{label} nests blocks more than {MAX_BLOCK_DEPTH} levels deep",
                "ungroup some of the inner blocks",
            )
        if name not in self.definition_problems:
            self.definition_problems[name] = definition_problem(definition)
        broken = self.definition_problems[name]
        if broken is not None:
            return None, ("block_definition", f"block '{name}': {broken}", "edit inside the block")
        size = self.size_of(name, ())
        if size > MAX_FLAT_NODES:
            return None, (
                "block_too_large",
                f"{label} expands to more than {MAX_FLAT_NODES:,} layers",
                "use fewer nested copies",
            )
        return definition, None

    def size_of(self, name: str, stack: tuple[str, ...]) -> int:
        """Flat layers one use of ``name`` expands to (capped; a loop counts as one)."""
        if name in self.sizes:
            return self.sizes[name]
        definition = self.blocks.get(name)
        if definition is None or name in stack or len(stack) > MAX_BLOCK_DEPTH:
            return 1
        total = 0
        for node in definition.graph.nodes:
            if node.type == BLOCK:
                inner = block_name_of(node)
                total += self.size_of(inner, (*stack, name)) if inner else 1
            elif node.type != BLOCK_INPUT:
                total += 1
            if total > MAX_FLAT_NODES:
                break
        self.sizes[name] = total = min(total, MAX_FLAT_NODES + 1)
        return total

    def output_of(self, flat_id: str, definition: BlockDefinition, stack) -> str:
        """The flat id of the node whose output a use of ``definition`` at ``flat_id`` gives."""
        inner = definition.graph.node(definition.output)
        inner_id = f"{flat_id}.{inner.id}"
        if inner.type != BLOCK:
            return inner_id
        nested, _ = self.definition_for(inner, (*stack, definition.name))
        return (
            inner_id
            if nested is None
            else self.output_of(inner_id, nested, (*stack, definition.name))
        )

    # Expanding ------------------------------------------------------------------------------

    def expand(self, graph: GraphDocument, prefix: str, ports, stack, top: str | None) -> None:
        """Add ``graph``'s nodes and edges, ids prefixed; ``ports`` maps its BlockInput ids to
        ``(flat source or None, top-level edge id or None)``."""
        plans: dict[str, BlockDefinition] = {}
        out: dict[str, str | None] = {}
        for node in graph.nodes:
            flat_id = prefix + node.id
            if node.type == BLOCK_INPUT and stack:
                out[node.id] = ports.get(node.id, (None, None))[0]
                continue
            if node.type == BLOCK and node.id not in plans:
                definition, why = self.definition_for(node, stack)
                if definition is not None and stack == ():  # the budget is the whole project's
                    size = self.size_of(definition.name, ())
                    if size > self.budget:
                        definition, why = None, _TOO_MANY
                    else:
                        self.budget -= size
                if definition is not None:
                    plans[node.id] = definition
                    out[node.id] = self.output_of(flat_id, definition, stack)
                    continue
                self.problem(*why, flat_id)
            elif node.type == BLOCK_INPUT:
                self.problem(
                    "block_input_outside",
                    f"'{node.id}' is a block input port, which belongs inside a block",
                    "delete it, or group the layers it feeds into a block",
                    flat_id,
                )
            out.setdefault(node.id, flat_id)
            # Shares params with the document (not copied: expanding runs on every check);
            # the flat graph is read, never edited.
            self.nodes.append(Node(flat_id, node.type, node.params, node.position, node.extra))
            self.result.origin[flat_id] = top if top is not None else flat_id

        incoming: dict[str, list[Edge]] = defaultdict(list)
        for edge in graph.edges:
            if edge.target in plans:
                incoming[edge.target].append(edge)
        for node_id, definition in plans.items():
            flat_id = prefix + node_id
            block_top = top if top is not None else flat_id
            feeds = self.port_feeds(prefix, node_id, definition, incoming[node_id], out, ports, top)
            if top is None:
                self.result.outputs[flat_id] = out[node_id]
                self.result.ports[flat_id] = [src for src, _ in feeds]
            inner_ports = dict(zip(definition.inputs, feeds, strict=True))
            self.expand(
                definition.graph, flat_id + ".", inner_ports, (*stack, definition.name), block_top
            )

        for edge in graph.edges:
            if edge.target in plans:
                continue  # rewired to the inner layers by the port map
            source, via = out.get(edge.source, prefix + edge.source), None
            if edge.source in ports and stack:
                source, via = ports[edge.source]
            if source is None:
                continue  # an unconnected port: reported on the block
            flat = Edge(source, prefix + edge.target, edge.target_port, edge.extra)
            self.edges.append(flat)
            origin = edge.id if top is None else via
            if origin is not None:
                self.result.edge_origin[flat.id] = origin

    def port_feeds(self, prefix, node_id, definition, edges, out, ports, top):
        """``(flat source, top-level edge id)`` for each port of a use, reporting wrong wiring."""
        flat_id = prefix + node_id
        count = definition.port_count
        by_port: dict[int, list[Edge]] = defaultdict(list)
        for e in edges:
            by_port[e.target_port].append(e)
        label = f"block '{flat_id}' ({definition.title or definition.name})"
        feeds = []
        for port in range(count):
            found = by_port.get(port, [])
            if not found:
                self.problem(
                    "unconnected_port",
                    f"input {port} of {label} is not connected",
                    f"connect a layer's output to input {port}",
                    flat_id,
                )
                self.result.port_problems.add(top or flat_id)
                feeds.append((None, None))
                continue
            if len(found) > 1:
                self.problem(
                    "port_conflict",
                    f"input {port} of {label} has {len(found)} edges; a port takes one",
                    "delete all but one, or merge them first with Add or Concatenate",
                    flat_id,
                )
            edge = found[0]
            source = out.get(edge.source, prefix + edge.source)
            via = edge.id if top is None else None
            if edge.source in ports and top is not None:
                source, via = ports[edge.source]
            feeds.append((source, via))
        extra = sorted(p for p in by_port if p >= count or p < 0)
        if extra:
            self.problem(
                "port_out_of_range",
                f"{label} has {count} input port(s), but edges target port(s) "
                + ", ".join(str(p) for p in extra),
                "connect them to the block's ports, numbered from 0",
                flat_id,
            )
        return feeds


def definition_problem(definition: BlockDefinition) -> str | None:
    """What makes a definition unusable as it stands, or ``None``."""
    graph = definition.graph
    ids = [n.id for n in graph.nodes]
    if len(set(ids)) != len(ids):
        twice = sorted({i for i in ids if ids.count(i) > 1})
        return f"two of its layers have the id '{twice[0]}'"
    types = {n.id: n.type for n in graph.nodes}
    for port in definition.inputs:
        if types.get(port) != BLOCK_INPUT:
            return f"its input port '{port}' is not a block input node"
    if len(set(definition.inputs)) != len(definition.inputs):
        return "it lists an input port twice"
    unlisted = [i for i, t in types.items() if t == BLOCK_INPUT and i not in definition.inputs]
    if unlisted:
        return f"the block input '{unlisted[0]}' is not one of its ports"
    if definition.output not in types:
        return f"its output layer '{definition.output}' does not exist"
    if types[definition.output] == BLOCK_INPUT:
        return "its output is one of its input ports; put a layer between them"
    inputs = [i for i, t in types.items() if t == "Input"]
    if inputs:
        return f"'{inputs[0]}' is an Input; data enters a block through its input ports"
    feeding = {e.source for e in graph.edges}
    dead = [i for i in ids if i not in feeding and i != definition.output]
    if dead:
        return (
            f"the output of '{dead[0]}' goes nowhere; connect it, or delete it "
            f"(a block's only output is '{definition.output}')"
        )
    return None
