"""Diagnostics: what the compiler says about a graph, in a user's words.

A :class:`Diagnostic` is plain data (no exception): the canvas paints the nodes and edges it
names, the problems panel lists its message and suggested fix, and the command line prints
it. The compiler returns all of them at once, never only the first.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Diagnostic", "ERROR", "WARNING", "CODES"]

ERROR = "error"
WARNING = "warning"

#: Every kind of diagnostic the compiler emits (``Diagnostic.code``), for filters and tests.
CODES = (
    "duplicate_id",  # two nodes share an id
    "unknown_type",  # a node's type is not a registered layer type
    "parameter",  # a parameter value is missing, of the wrong type, or out of range
    "dangling_edge",  # an edge names a node that does not exist
    "port_out_of_range",  # an edge targets a port the layer does not have
    "port_conflict",  # two edges lead into the same input port
    "unconnected_port",  # an input port has no edge
    "too_few_inputs",  # a variadic layer (Add, Concatenate) has fewer inputs than it needs
    "too_many_inputs",  # more edges lead into a layer than it has ports
    "cycle",  # the edges form a loop
    "shape",  # a layer cannot accept the shape it receives
    "no_input",  # the graph has no Input node
    "no_output",  # nothing but Input nodes: no layer produces an output
    "unused_input",  # an Input node feeds nothing
    "unreachable",  # a node no Input reaches
    "internal",  # a layer type failed in an unexpected way while being checked
    "memory",  # training the model needs more memory than this machine has
    "training",  # a project's training settings (loss, optimizer, metrics, ...) are wrong
    "dataset",  # a project's dataset choice is missing or wrong
    "block_unknown",  # a Block node names a definition the project lacks
    "block_recursive",  # a block definition contains itself
    "block_definition",  # a block definition is malformed (ports, output, dead ends)
    "block_too_deep",  # blocks nest deeper than engine.graph.block_expand allows
    "block_too_large",  # blocks expand to more layers than engine.graph.block_expand allows
    "block_input_outside",  # a BlockInput node outside a block definition
)


@dataclass(frozen=True)
class Diagnostic:
    """One problem in a graph.

    Attributes:
        severity: ``"error"`` (the graph cannot be trained) or ``"warning"``.
        code: the kind of problem, one of :data:`CODES`.
        message: what is wrong, in the user's words.
        fix: a suggested remedy, or ``None`` where there is no obvious one.
        node_ids: the nodes it concerns (the canvas highlights them).
        edge_ids: the edges it concerns (see :attr:`engine.graph.document.Edge.id`).
        param: the parameter it concerns, for ``code == "parameter"``.
        key: where in a project file it points (``graph.nodes[2].params.units``), filled
            in by :meth:`engine.graph.project.Project.check`; ``None`` for a bare graph.
    """

    severity: str
    code: str
    message: str
    fix: str | None = None
    node_ids: tuple[str, ...] = ()
    edge_ids: tuple[str, ...] = ()
    param: str | None = None
    key: str | None = None

    @property
    def is_error(self) -> bool:
        return self.severity == ERROR

    def text(self) -> str:
        """One line: the message and, where there is one, the fix after a colon."""
        return self.message if not self.fix else f"{self.message}: {self.fix}"

    def __str__(self) -> str:
        return f"{self.severity}: {self.text()}"

    def to_json(self) -> dict:
        data = {
            "severity": self.severity,
            "code": self.code,
            "message": self.message,
            "fix": self.fix,
            "node_ids": list(self.node_ids),
            "edge_ids": list(self.edge_ids),
        }
        if self.param is not None:
            data["param"] = self.param
        if self.key is not None:
            data["key"] = self.key
        return data
