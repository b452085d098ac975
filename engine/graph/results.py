"""What a check of a graph returns: per-node reports, every diagnostic, the memory estimate,
and the exception a document with errors raises when asked to become a model.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from engine.graph.diagnostics import ERROR, WARNING, Diagnostic
from engine.graph.document import Edge
from engine.graph.memory import MemoryEstimate

__all__ = ["BROKEN", "OK", "UNKNOWN", "CheckResult", "GraphError", "NodeReport", "Shape"]

Shape = tuple[int, ...]

#: Node status values in :class:`NodeReport`.
OK, BROKEN, UNKNOWN = "ok", "error", "unknown"


@dataclass(frozen=True)
class NodeReport:
    """What the canvas shows on one node.

    ``output_shape``, ``param_count`` and ``flops`` are ``None`` when they cannot be known:
    the node itself is broken (``status == "error"``) or something upstream is
    (``status == "unknown"``). Shapes exclude the batch dimension.
    """

    node_id: str
    type_name: str
    status: str
    input_shapes: tuple[Shape, ...] = ()
    output_shape: Shape | None = None
    param_count: int | None = None
    flops: int | None = None
    trainable_count: int | None = None  # the parameters that train (for the memory estimate)


@dataclass
class CheckResult:
    """Everything the compiler found out about a document."""

    diagnostics: list[Diagnostic]
    nodes: dict[str, NodeReport]
    order: list[str]  # runnable nodes, inputs before the layers that use them
    inputs: list[str]  # Input nodes that feed something, in document order
    outputs: list[str]  # nodes with no outgoing edge (not Inputs), in document order
    incoming: dict[str, list[Edge]] = field(default_factory=dict)  # valid edges, by port
    # Bytes a training step needs (weights, gradients, optimizer state, activations at the
    # batch size), from the nodes whose shapes are known; see engine.graph.memory.
    memory: MemoryEstimate | None = None
    # For a document with blocks: the check of its expanded graph, and the expansion
    # (engine.graph.block_expand.ExpandedGraph) that maps flat ids back; None without blocks.
    flat: CheckResult | None = None
    expanded: Any = None

    @property
    def ok(self) -> bool:
        """True when the graph can be built and trained (warnings allowed)."""
        return not self.errors

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == ERROR]

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == WARNING]

    def for_node(self, node_id: str) -> list[Diagnostic]:
        return [d for d in self.diagnostics if node_id in d.node_ids]

    @property
    def total_params(self) -> int:
        return sum(r.param_count or 0 for r in self.nodes.values())

    @property
    def total_flops(self) -> int:
        return sum(r.flops or 0 for r in self.nodes.values())


class GraphError(ValueError):
    """A document with errors was asked to become a model; ``result`` holds every diagnostic."""

    def __init__(self, result: CheckResult):
        errors = result.errors
        first = errors[0].text() if errors else "the graph is invalid"
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        super().__init__(first + more)
        self.result = result
