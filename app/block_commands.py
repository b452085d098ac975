"""Undo commands for blocks: group, ungroup, insert a block, make a linked use independent.

Each command replays a plan of :mod:`engine.graph.blocks` (or builds a small one) as steps
that each change the document once and remember what undoes them exactly: removed nodes
come back at their list index with their edges at theirs, a removed definition comes back
as the very same object (so commands made later on its graph, such as an edit inside the
block, still find it after an undo and a redo). Steps undo in reverse order.

``doc`` is the graph the nodes are in — the project's, or a definition's graph when the
canvas shows the inside of a block — and ``root`` the project's document, which holds
every definition (``root.blocks``). They are the same object at the top level.

Saving a block to the library is not an edit of the project, so it is a function here
(:func:`save_to_library`), not an undo step.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Sequence
from pathlib import Path

from PySide6.QtGui import QUndoCommand

from app.commands import RemoveNode, RenameNode, SetParams
from engine.graph.block_definition import BLOCK, BlockDefinition
from engine.graph.blocks import BlockError, plan_group, plan_ungroup
from engine.graph.document import Edge, GraphDocument, Node

__all__ = [
    "BlockError",
    "CopyBlock",
    "GroupNodes",
    "InsertBlock",
    "PasteWithBlocks",
    "RenameInBlock",
    "SetBlockTitle",
    "UngroupNode",
    "clip_blocks",
    "clip_definitions",
    "group_title",
    "save_to_library",
]


class _Steps(QUndoCommand):
    """One undo step made of several (as :class:`app.commands.RemoveItems`): redo runs the
    steps in order, undo undoes them in reverse, so every recorded list index is valid."""

    def __init__(self, text: str):
        super().__init__()
        self.steps: list = []
        self.setText(text)

    def redo(self) -> None:
        for step in self.steps:
            step.redo()

    def undo(self) -> None:
        for step in reversed(self.steps):
            step.undo()


class _AddDefinition:
    def __init__(self, root: GraphDocument, definition: BlockDefinition):
        self.root, self.definition = root, definition

    def redo(self) -> None:
        self.root.add_block(self.definition)

    def undo(self) -> None:
        self.root.remove_block(self.definition.name)


class _RemoveDefinition:
    def __init__(self, root: GraphDocument, name: str):
        self.root, self.name = root, name
        self.definition: BlockDefinition | None = None

    def redo(self) -> None:
        self.definition = self.root.remove_block(self.name)

    def undo(self) -> None:
        self.root.add_block(self.definition)


class _AddNode:
    def __init__(self, doc: GraphDocument, node: Node, index: int | None = None):
        self.doc, self.node, self.index = doc, node.copy(), index

    def redo(self) -> None:
        self.doc.add_node(self.node.copy(), self.index)

    def undo(self) -> None:
        self.doc.remove_node(self.node.id)


class _AddEdge:
    def __init__(self, doc: GraphDocument, edge: Edge, index: int | None = None):
        self.doc, self.edge, self.index = doc, edge, index

    def redo(self) -> None:
        self.doc.add_edge(self.edge, self.index)

    def undo(self) -> None:
        self.doc.remove_edge(self.edge)


def _edges_at(doc: GraphDocument, removed: Sequence[Edge], added: Sequence[Edge]) -> list:
    """Steps adding ``added`` where the first of ``removed`` was in the edge list, so that
    grouping then ungrouping gives back the very same list (not the edges moved last)."""
    start = doc.edges.index(removed[0]) if removed else len(doc.edges) - len(removed)
    return [_AddEdge(doc, edge, start + i) for i, edge in enumerate(added)]


def group_title(doc: GraphDocument, node_ids: Iterable[str]) -> str:
    """A title for a new group from its layers' types: ``Conv2D → BatchNormalization → ReLU``,
    or ``Conv2D … Dense (5 layers)`` for a longer selection."""
    chosen = set(node_ids)
    types = [n.type for n in doc.nodes if n.id in chosen]
    if not types:
        return "Block"
    if len(types) <= 3:
        return " → ".join(types)
    return f"{types[0]} … {types[-1]} ({len(types)} layers)"


class GroupNodes(_Steps):
    """The selected nodes become a new definition and one Block node in their place.

    Raises :class:`engine.graph.blocks.BlockError` (a message for the user) when the
    selection cannot be one block. ``block_id`` is the new node's id."""

    def __init__(
        self,
        doc: GraphDocument,
        node_ids: Iterable[str],
        root: GraphDocument | None = None,
        name: str = "block",
        title: str | None = None,
    ):
        root = doc if root is None else root
        ids = list(node_ids)
        plan = plan_group(doc, ids, name, title or group_title(doc, ids), root=root)
        count = len(plan.remove_nodes)
        super().__init__(f"Group {count} layer{'' if count == 1 else 's'} into a block")
        self.plan = plan
        self.block_id = plan.block_node.id
        self.steps.append(_AddDefinition(root, plan.definition))
        self.steps += [RemoveNode(doc, node_id) for node_id in plan.remove_nodes]
        self.steps.append(_AddNode(doc, plan.block_node, plan.block_index))
        self.steps += _edges_at(doc, plan.remove_edges, plan.add_edges)
        home = _home(root, doc)
        if home is not None and home.output in plan.remove_nodes:
            # Grouped inside a block, around its output: the new block node is its output.
            self.steps.append(_SetPorts(root, home, home.inputs, self.block_id))


class UngroupNode(_Steps):
    """A Block node is replaced by its definition's layers; the definition goes too when
    this was its last use. ``node_ids`` are the layers put back."""

    def __init__(self, doc: GraphDocument, node_id: str, root: GraphDocument | None = None):
        root = doc if root is None else root
        plan = plan_ungroup(doc, node_id, root=root)
        super().__init__(f"Ungroup '{node_id}'")
        self.plan = plan
        self.node_ids = [n.id for n in plan.add_nodes]
        self.steps.append(RemoveNode(doc, node_id))
        self.steps += [
            _AddNode(doc, node, plan.node_index + offset)
            for offset, node in enumerate(plan.add_nodes)
        ]
        self.steps += _edges_at(doc, plan.remove_edges, plan.add_edges)
        home = _home(root, doc)
        if home is not None and home.output == node_id:
            # Ungrouped inside a block, its output: the layer that was that block's output.
            inner = root.blocks[plan.block_node.params["block"]].output
            self.steps.append(_SetPorts(root, home, home.inputs, plan.renamed.get(inner, inner)))
        if plan.remove_definition is not None:
            self.steps.append(_RemoveDefinition(root, plan.remove_definition))


class InsertBlock(_Steps):
    """Add a Block node using ``name`` at ``position``, first adding ``definitions`` (the
    block's own and those it uses inside) that the project does not have yet."""

    def __init__(
        self,
        doc: GraphDocument,
        name: str,
        position: Sequence[float],
        definitions: Iterable[BlockDefinition] = (),
        root: GraphDocument | None = None,
        title: str | None = None,
    ):
        root = doc if root is None else root
        node_id = doc.unique_id(name)
        super().__init__(f"Insert block '{title or name}'")
        self.node_id = node_id
        self.steps += [_AddDefinition(root, d) for d in definitions]
        node = Node(node_id, BLOCK, {"block": name}, list(position))
        self.steps.append(_AddNode(doc, node))


class CopyBlock(_Steps):
    """Make a linked use independent: a copy of its definition under a new name
    (``residual_basic_2``), used by this node only. ``new_name`` is the copy's name."""

    def __init__(self, doc: GraphDocument, node_id: str, root: GraphDocument | None = None):
        root = doc if root is None else root
        node = doc.node(node_id)
        name = node.params.get("block")
        if node.type != BLOCK or name not in root.blocks:
            raise BlockError(f"'{node_id}' is not a block of this project")
        super().__init__(f"Make '{node_id}' an independent copy")
        self.new_name = root.unique_block_name(name)
        definition = root.blocks[name].copy(self.new_name)
        params = copy.deepcopy(node.params)
        params["block"] = self.new_name
        self.steps.append(_AddDefinition(root, definition))
        self.steps.append(SetParams(doc, node_id, params))


class RenameInBlock(_Steps):
    """Rename a node inside definition ``name`` of ``root``; the definition's port list and
    output follow (they name its nodes by id)."""

    def __init__(self, root: GraphDocument, name: str, old_id: str, new_id: str):
        super().__init__(f"Rename '{old_id}' to '{new_id}'")
        definition = root.blocks[name]
        self.steps.append(RenameNode(definition.graph, old_id, new_id))
        inputs = [new_id if i == old_id else i for i in definition.inputs]
        output = new_id if definition.output == old_id else definition.output
        self.steps.append(_SetPorts(root, definition, inputs, output))


class _SetPorts:
    """Set a definition's ``inputs`` and ``output`` (node ids of its graph)."""

    def __init__(self, root: GraphDocument, definition: BlockDefinition, inputs, output: str):
        self.root, self.definition = root, definition
        self.new = (list(inputs), output)
        self.old = (list(definition.inputs), definition.output)

    def _set(self, ports) -> None:
        self.definition.inputs, self.definition.output = list(ports[0]), ports[1]
        # An event after the change: whatever was checked during the step before is checked
        # again (set_block_meta with nothing to set only announces the definition).
        self.root.set_block_meta(self.definition.name)

    def redo(self) -> None:
        self._set(self.new)

    def undo(self) -> None:
        self._set(self.old)


def _home(root: GraphDocument, doc: GraphDocument) -> BlockDefinition | None:
    """The definition whose graph ``doc`` is (``None`` for the project's own graph)."""
    return next((d for d in root.blocks.values() if d.graph is doc), None)


class SetBlockTitle(QUndoCommand):
    """Change the title a block's cards show (every use of the definition)."""

    def __init__(self, root: GraphDocument, name: str, title: str):
        super().__init__()
        self.root, self.name, self.new = root, name, title
        self.old = root.blocks[name].title
        self.setText(f"Rename block '{self.old}' to '{title}'")

    def redo(self) -> None:
        self.root.set_block_meta(self.name, title=self.new)

    def undo(self) -> None:
        self.root.set_block_meta(self.name, title=self.old)


class PasteWithBlocks(_Steps):
    """Paste layers (``app.commands.PasteNodes``) after adding the block definitions
    their Block nodes use that the project lacks (see :func:`clip_definitions`)."""

    def __init__(self, root: GraphDocument, definitions: Iterable[BlockDefinition], paste):
        super().__init__(paste.text())
        self.created = paste.created
        self.steps += [_AddDefinition(root, d) for d in definitions]
        self.steps.append(paste)


def clip_blocks(root: GraphDocument, nodes: Iterable[Node]) -> dict:
    """The definitions copied Block nodes use (and those used inside them), as JSON for
    the clipboard, so that they paste into another project too."""
    from engine.graph.block_library import dependencies_of  # noqa: PLC0415

    found: dict = {}
    for node in nodes:
        name = node.params.get("block") if node.type == BLOCK else None
        if isinstance(name, str) and name in root.blocks and name not in found:
            found[name] = root.blocks[name]
            found.update(dependencies_of(name, root))
    return {name: d.to_json() for name, d in found.items()}


def clip_definitions(root: GraphDocument, data: dict) -> tuple[dict, list[BlockDefinition]]:
    """What pasting clipboard ``data`` needs: the clipboard data with its Block nodes
    renamed where the project has a different definition of the same name, and the
    definitions to add. A definition the project has with the same content is shared.
    ``ValueError`` when the copied definitions are damaged."""
    blocks = data.get("blocks") if isinstance(data, dict) else None
    if not blocks:
        return data, []
    try:
        copied = GraphDocument.from_json({"nodes": [], "blocks": blocks}).blocks
    except ValueError as err:
        raise ValueError(f"the copied blocks are damaged ({err})") from None
    taken = set(root.blocks) | set(copied)
    renames, adding = {}, []
    for name, definition in copied.items():
        existing = root.blocks.get(name)
        if existing is not None and existing.same_content(definition):
            continue
        new = name
        if existing is not None:
            new = _free_name(name, taken)
            taken.add(new)
            renames[name] = new
        adding.append(definition.copy(new))
    for added in adding:
        for node in added.graph.nodes:
            used = node.params.get("block") if node.type == BLOCK else None
            if isinstance(used, str) and used in renames:
                added.graph.set_param(node.id, "block", renames[used])
    data = copy.deepcopy(data)
    for node in data.get("nodes") or []:
        params = node.get("params") if isinstance(node, dict) else None
        used = params.get("block") if isinstance(params, dict) else None
        if node.get("type") == BLOCK and isinstance(used, str) and used in renames:
            params["block"] = renames[used]
    return data, adding


def _free_name(base: str, taken: set[str]) -> str:
    i = 2
    while f"{base}_{i}" in taken:
        i += 1
    return f"{base}_{i}"


def save_to_library(root: GraphDocument, name: str, data_dir: Path) -> Path:
    """Write definition ``name`` (with the definitions it uses) to the user's block library
    in ``data_dir``; returns the file. Raises ``OSError`` when it cannot be written."""
    from engine.graph.block_library import save_block  # noqa: PLC0415

    return save_block(root.blocks[name], root, data_dir)
