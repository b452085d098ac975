"""Editing the inside of a block: the editor the canvas and inspector are given meanwhile.

A :class:`BlockScope` is a graph editor (the ``GraphEditor`` protocol of
:mod:`widgets.canvas.api`, through :class:`app.graph_edits.GraphEdits`) whose ``graph`` is
a block definition's graph, reached from the project by a *path* of Block node ids —
``["res1"]`` for the inside of ``res1``, ``["res1", "se"]`` for a block used inside it.
Every edit becomes the same undo command as on the project's canvas, pushed on the
project's one undo stack: an edit inside a linked block is one change of one definition,
so every use follows it and one undo reverts it everywhere.

What the canvas paints inside comes from checking the project with its blocks expanded
(:func:`engine.graph.block_expand.expand_blocks`): the layers inside ``res1`` are
``res1.conv``, ``res1.bn`` ... there, so their shapes, parameter counts and diagnostics are
those of this use of the block. A block input port shows the shape that feeds it; a block
used inside shows its output shape and summed parameters.
"""

from __future__ import annotations

import contextlib
from dataclasses import replace

import shiboken6
from PySide6.QtCore import QObject, Signal

from app.block_commands import RenameInBlock
from app.graph_edits import GraphEdits
from engine.graph.block_definition import BLOCK, BLOCK_INPUT, block_name_of
from engine.graph.checker import GraphChecker
from engine.graph.document import GraphDocument
from engine.graph.results import CheckResult, NodeReport

__all__ = ["BlockScope", "ScopeLevel", "block_output_id", "resolve_path"]


class ScopeLevel:
    """One block entered: the Block node ``node_id`` and its definition ``name``."""

    def __init__(self, node_id: str, name: str, title: str, graph: GraphDocument):
        self.node_id, self.name, self.title, self.graph = node_id, name, title, graph

    def label(self) -> str:
        return f"{self.node_id} ({self.title})" if self.title else self.node_id


def resolve_path(root: GraphDocument, path: list[str]) -> list[ScopeLevel] | None:
    """The levels of ``path`` in project document ``root``, or ``None`` when a node on it
    is gone or is no block of a definition the project has (after an undo, say)."""
    levels, graph = [], root
    for node_id in path:
        if node_id not in graph:
            return None
        node = graph.node(node_id)
        name = block_name_of(node) if node.type == BLOCK else None
        definition = root.blocks.get(name) if name else None
        if definition is None:
            return None
        levels.append(ScopeLevel(node_id, name, definition.title, definition.graph))
        graph = definition.graph
    return levels


class BlockScope(GraphEdits, QObject):
    """The inside of the block at ``path`` in ``editor``'s project (see the module doc).

    Signals as the project's editor: ``checked(CheckResult)``, ``diagnosticsChanged(list)``,
    ``graphChanged(GraphEvent)``.
    """

    checked = Signal(object)
    diagnosticsChanged = Signal(list)
    graphChanged = Signal(object)

    def __init__(self, editor, path: list[str], parent: QObject | None = None):
        super().__init__(parent)
        levels = resolve_path(editor.graph, path)
        if not levels:
            raise ValueError(f"no block at {' ▸ '.join(path) or 'the top level'}")
        self.editor = editor
        self.path = list(path)
        self.levels = levels
        self._graph = levels[-1].graph
        self._checker = GraphChecker()
        self._result: CheckResult | None = None
        self._unsubscribe = self._graph.subscribe(self._on_event)
        editor.checked.connect(self._on_project_checked)

    # -- what the widgets read -----------------------------------------------------------------

    @property
    def graph(self) -> GraphDocument:
        return self._graph

    @property
    def blocks_root(self) -> GraphDocument:
        """The project's document: block cards inside find their definitions there."""
        return self.editor.graph

    @property
    def undo_stack(self):
        return self.editor.undo_stack

    @property
    def check_result(self) -> CheckResult:
        if self._result is None:
            flat = getattr(self.editor.check_result, "flat", None)
            self._result = scope_check(self.editor.graph, self.path, flat, self._checker)
        return self._result

    @property
    def diagnostics(self) -> list:
        return list(self.check_result.diagnostics)

    def push(self, command) -> None:
        self.editor.push(command)

    def node_id_problem(self, new_id: str, old_id: str | None = None) -> str | None:
        if isinstance(new_id, str) and "." in new_id:
            # Expanded, the layers inside block 'res1' are 'res1.<name>'.
            return "a name inside a block cannot contain '.'"
        return super().node_id_problem(new_id, old_id)

    def rename_node(self, old_id: str, new_id: str) -> None:
        """Rename a layer inside; the block's ports and output follow the new name."""
        if new_id == old_id:
            return
        problem = self.node_id_problem(new_id, old_id)
        if problem:
            raise ValueError(problem)
        self.push(RenameInBlock(self.editor.graph, self.levels[-1].name, old_id, new_id))

    def still_valid(self) -> bool:
        """Whether the path still leads to the graph shown (an undo may have removed it)."""
        levels = resolve_path(self.editor.graph, self.path)
        return bool(levels) and levels[-1].graph is self._graph

    def close(self) -> None:
        self._unsubscribe()
        with contextlib.suppress(RuntimeError, TypeError):  # its editor may be gone already
            self.editor.checked.disconnect(self._on_project_checked)

    # -- following the project -----------------------------------------------------------------

    def _on_event(self, event) -> None:
        if not shiboken6.isValid(self):
            self._unsubscribe()
            return
        self._result = None
        self.graphChanged.emit(event)

    def _on_project_checked(self, _result) -> None:
        # The project was re-checked after a change (here or anywhere): check this use again.
        self._result = None
        result = self.check_result
        self.checked.emit(result)
        self.diagnosticsChanged.emit(list(result.diagnostics))


def scope_check(
    root: GraphDocument, path: list[str], flat: CheckResult | None, checker: GraphChecker
) -> CheckResult:
    """The check of the inside of the block at ``path``, keyed by the inner node ids, from
    ``flat``, the check of the expanded project (made here when not given)."""
    from engine.graph.block_expand import expand_blocks  # noqa: PLC0415

    levels = resolve_path(root, path)
    if not levels:
        return _empty(GraphDocument())
    graph = levels[-1].graph
    result = flat if flat is not None else checker.check(expand_blocks(root).flat)
    prefix = ".".join(path) + "."
    reports: dict[str, NodeReport] = {}
    for node in graph.nodes:
        if node.type == BLOCK_INPUT:
            reports[node.id] = _port_report(node.id, graph, prefix, result)
        elif node.type == BLOCK:
            reports[node.id] = _block_report(root, node, prefix + node.id + ".", result)
        elif prefix + node.id in result.nodes:
            reports[node.id] = replace(result.nodes[prefix + node.id], node_id=node.id)
    diagnostics = []
    for d in result.diagnostics:
        inner = tuple(_inner_id(i, prefix) for i in d.node_ids if i.startswith(prefix))
        if not inner:
            continue
        edges = tuple(_inner_edge(e, prefix) for e in d.edge_ids if prefix in e)
        diagnostics.append(replace(d, node_ids=tuple(dict.fromkeys(inner)), edge_ids=edges))
    ports = [n.id for n in graph.nodes if n.type == BLOCK_INPUT]
    feeding = {e.source for e in graph.edges}
    ends = [n.id for n in graph.nodes if n.id not in feeding and n.type != BLOCK_INPUT]
    order = [n.id for n in graph.nodes if n.id in reports]
    return CheckResult(diagnostics, reports, order, ports, ends)


def _inner_id(flat_id: str, prefix: str) -> str:
    """``res1.se.fc1`` inside ``res1.`` is the node ``se`` (the block used inside)."""
    return flat_id[len(prefix) :].split(".", 1)[0]


def _inner_edge(edge_id: str, prefix: str) -> str:
    source, _, rest = edge_id.partition("->")
    target, _, port = rest.rpartition(":")
    if source.startswith(prefix):
        source = _inner_id(source, prefix)
    if target.startswith(prefix):
        target = _inner_id(target, prefix)
    return f"{source}->{target}:{port}"


def _port_report(port_id: str, graph: GraphDocument, prefix: str, result) -> NodeReport:
    """A block input port shows the shape of what feeds it in this use of the block."""
    for edge in graph.edges_from(port_id):
        incoming = result.incoming.get(prefix + edge.target) or []
        feed = next((e for e in incoming if e.target_port == edge.target_port), None)
        source = result.nodes.get(feed.source) if feed is not None else None
        if source is not None and source.output_shape is not None:
            shape = source.output_shape
            return NodeReport(port_id, BLOCK_INPUT, "ok", (), shape, 0, 0, 0)
    return NodeReport(port_id, BLOCK_INPUT, "unknown")


def _block_report(root: GraphDocument, node, prefix: str, result) -> NodeReport:
    """A block used inside: its output's shape and its layers' summed counts."""
    inner = [r for i, r in result.nodes.items() if i.startswith(prefix)]
    output = block_output_id(root, node, prefix)
    out = result.nodes.get(output) if output else None
    if out is None or out.output_shape is None or any(r.status != "ok" for r in inner):
        status = "error" if any(r.status == "error" for r in inner) else "unknown"
        return NodeReport(node.id, BLOCK, status)
    params = sum(r.param_count or 0 for r in inner)
    flops = sum(r.flops or 0 for r in inner)
    trainable = sum(r.trainable_count or 0 for r in inner)
    return NodeReport(node.id, BLOCK, "ok", (), out.output_shape, params, flops, trainable)


def block_output_id(root: GraphDocument, node, prefix: str) -> str | None:
    """The expanded id of the layer whose output is the block's (through nested blocks)."""
    seen = set()
    while node.type == BLOCK:
        name = block_name_of(node)
        definition = root.blocks.get(name) if name else None
        if definition is None or name in seen or definition.output not in definition.graph:
            return None
        seen.add(name)
        node = definition.graph.node(definition.output)
        if node.type == BLOCK:
            prefix += node.id + "."
    return prefix + node.id


def _empty(graph: GraphDocument) -> CheckResult:
    reports = {n.id: NodeReport(n.id, n.type, "unknown") for n in graph.nodes}
    return CheckResult([], reports, list(reports), [], [])
