"""The check of a document with blocks, told in the document's own terms.

The checker checks the flat graph (:mod:`engine.graph.block_expand`); :func:`fold_result`
turns that result back into one about the document the user sees: a diagnostic on a layer
inside a block is reported on the Block node (its message prefixed with the inner layer's
name), and the Block node's :class:`NodeReport` has its output node's shape and the summed
parameter count and FLOPs of everything inside it. The flat result stays attached
(``result.flat``, ``result.expanded``) for the model builder and for showing the inside of a
block.
"""

from __future__ import annotations

from collections import defaultdict

from engine.graph.block_expand import ExpandedGraph
from engine.graph.diagnostics import Diagnostic
from engine.graph.document import GraphDocument
from engine.graph.results import BROKEN, OK, UNKNOWN, CheckResult, NodeReport

__all__ = ["fold_result"]


def fold_result(flat: CheckResult, expanded: ExpandedGraph, doc: GraphDocument) -> CheckResult:
    """``flat`` (the check of ``expanded.flat``) as a check of ``doc``."""
    origin = expanded.origin
    reports = {}
    for node in doc.nodes:
        if node.id in reports:
            continue
        if node.id in expanded.outputs:
            reports[node.id] = _block_report(node, flat, expanded)
        elif node.id in flat.nodes:
            reports[node.id] = flat.nodes[node.id]
    folded = (_fold_diagnostic(d, expanded) for d in flat.diagnostics)
    diagnostics = [d for d in folded if d is not None]
    order = list(dict.fromkeys(origin.get(n, n) for n in flat.order))
    order = [n for n in order if n in reports and reports[n].status == OK]
    outputs = list(dict.fromkeys(origin.get(n, n) for n in flat.outputs))
    incoming = defaultdict(list)
    for edge in doc.edges:
        if edge.source in reports and edge.target in reports:
            incoming[edge.target].append(edge)
    by_port = {t: sorted(es, key=lambda e: e.target_port) for t, es in incoming.items()}
    result = CheckResult(
        _unique(diagnostics),
        reports,
        order,
        list(flat.inputs),
        outputs,
        by_port,
        flat.memory,
    )
    result.flat = flat
    result.expanded = expanded
    return result


def _block_report(node, flat: CheckResult, expanded: ExpandedGraph) -> NodeReport:
    inner = [flat.nodes[m] for m in expanded.members.get(node.id, []) if m in flat.nodes]
    statuses = {r.status for r in inner}
    if BROKEN in statuses or node.id in expanded.port_problems:
        status = BROKEN
    elif UNKNOWN in statuses or not inner:
        status = UNKNOWN
    else:
        status = OK
    shapes = []
    for source in expanded.ports.get(node.id, []):
        report = flat.nodes.get(source) if source is not None else None
        if report is None or report.output_shape is None:
            shapes = []
            break
        shapes.append(report.output_shape)
    if status != OK:
        return NodeReport(node.id, node.type, status, tuple(shapes))
    output = flat.nodes[expanded.outputs[node.id]]
    return NodeReport(
        node.id,
        node.type,
        OK,
        tuple(shapes),
        output.output_shape,
        _total(r.param_count for r in inner),
        _total(r.flops for r in inner),
        _total(r.trainable_count for r in inner),
    )


def _total(values) -> int | None:
    values = list(values)
    return None if any(v is None for v in values) else sum(values)


def _fold_diagnostic(d: Diagnostic, expanded: ExpandedGraph) -> Diagnostic | None:
    origin = expanded.origin
    inner = [n for n in d.node_ids if expanded.inner_path(n) is not None]
    if not inner and all(expanded.edge_origin.get(e) == e for e in d.edge_ids):
        return d  # about top-level nodes and edges only: as it was
    if d.code == "unconnected_port" and any(origin[n] in expanded.port_problems for n in inner):
        return None  # the block's own "input N is not connected" already says it
    nodes = tuple(dict.fromkeys(origin.get(n, n) for n in d.node_ids))
    edges = tuple(
        dict.fromkeys(expanded.edge_origin[e] for e in d.edge_ids if e in expanded.edge_origin)
    )
    message = d.message
    if inner and d.code != "memory":  # a memory message already names the layer in full
        message = f"{expanded.inner_path(inner[0])}: {message}"
    return Diagnostic(
        d.severity, d.code, message, d.fix, nodes, edges, None if inner else d.param, d.key
    )


def _unique(diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    return list(dict.fromkeys(diagnostics))
