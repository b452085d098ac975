"""A block definition: a small graph with input ports and one output, reusable as one node.

A definition is pure data. Inside its ``graph`` each input port is a node of type
:data:`BLOCK_INPUT` (no params; its shape is whatever feeds the block), ``inputs`` lists
those nodes' ids in port order, and ``output`` is the id of the inner node whose output is
the block's output. A use of the definition is a node ``{"type": "Block", "params":
{"block": name}}`` in the project's graph (or in another definition: blocks nest); every use
naming the same definition is linked to it.

Its JSON form is one entry of the graph's ``"blocks"`` object (the name is the key)::

    "residual_basic": {"title": "Residual block", "description": "...", "inputs": ["x"],
                       "output": "relu_out", "graph": {"nodes": [...], "edges": [...]}}

Reading it is :meth:`engine.graph.document.GraphDocument.from_json`'s job (a definition's
graph is a document); whether the ports make sense is the checker's question.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from engine.graph.document import GraphDocument

__all__ = ["BLOCK", "BLOCK_INPUT", "DEFINITION_KEYS", "BlockDefinition", "block_name_of"]

#: The node type of a block use, and of an input port inside a definition.
BLOCK, BLOCK_INPUT = "Block", "BlockInput"
#: The keys of a definition's JSON; others are kept in ``extra``.
DEFINITION_KEYS = ("title", "description", "inputs", "output", "graph")


@dataclass(eq=False)
class BlockDefinition:
    """One reusable block: ``name`` (its key in ``doc.blocks``), a ``title`` shown on its
    card, a one-paragraph ``description``, its ``graph``, the ids of its ``BlockInput``
    nodes in port order (``inputs``) and the id of its ``output`` node."""

    name: str
    title: str
    description: str
    graph: GraphDocument
    inputs: list[str]
    output: str
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def port_count(self) -> int:
        """Input ports a use of this block has."""
        return len(self.inputs)

    def uses(self) -> list[str]:
        """The definition names its graph's Block nodes use, in node order (repeats removed)."""
        names = (block_name_of(n) for n in self.graph.nodes if n.type == BLOCK)
        return list(dict.fromkeys(n for n in names if n is not None))

    def to_json(self) -> dict[str, Any]:
        """The definition's entry in the graph's ``"blocks"`` object (without its name)."""
        data = {
            "title": self.title,
            "description": self.description,
            "inputs": list(self.inputs),
            "output": self.output,
            "graph": self.graph.to_json(),
        }
        data.update(copy.deepcopy(self.extra))
        return data

    def copy(self, name: str | None = None) -> BlockDefinition:
        """An independent copy (its graph without subscribers), renamed when ``name`` is given."""
        return BlockDefinition(
            self.name if name is None else name,
            self.title,
            self.description,
            self.graph.copy(),
            list(self.inputs),
            self.output,
            copy.deepcopy(self.extra),
        )

    def same_content(self, other: BlockDefinition) -> bool:
        """Whether ``other`` is the same block apart from its name (for linking on insert)."""
        return self.to_json() == other.to_json()


def block_name_of(node) -> str | None:
    """The definition a Block node uses, or ``None`` when its ``block`` param is not text."""
    name = node.params.get("block")
    return name if isinstance(name, str) and name else None
