"""Checking a graph document: every diagnostic and per-node facts out, never an exception.

Checking never raises on a bad graph; it returns a :class:`CheckResult` holding all
problems at once (cycles, unconnected or doubly connected ports, wrong arity, shape
mismatches, bad parameter values, unknown types, missing Input, dangling edges, duplicate
ids, a model too large for this machine's memory) and, per node, the output shape,
parameter count and FLOPs the canvas shows. A node downstream of a broken one gets the status
``"unknown"`` and no diagnostic of its own, so one mistake gives one message, not a cascade.

Re-checking is incremental: a :class:`GraphChecker` caches each node's evaluation keyed by
(type, parameters, input shapes). After an edit only the nodes whose key changed — the
edited node and those downstream whose input shape changed — run their shape inference
again; the graph-wide part (ports, cycles, order, the memory estimate) is linear and cheap.
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from typing import Any

from engine.graph.block_expand import expand_blocks, has_blocks
from engine.graph.block_results import fold_result
from engine.graph.diagnostics import ERROR, WARNING, Diagnostic
from engine.graph.document import Edge, GraphDocument, Node
from engine.graph.evaluation import Evaluation, Problem, evaluate, freeze, instantiate
from engine.graph.memory import (
    MemoryEstimate,
    MemoryLimit,
    format_bytes,
    graph_estimate,
    memory_diagnostics,
    memory_limit,
)
from engine.graph.registry_info import closest_type
from engine.graph.results import BROKEN, OK, UNKNOWN, CheckResult, NodeReport, Shape
from engine.graph.walks import find_loop, reachable, strongly_connected

__all__ = ["GraphChecker", "check_graph"]

_CACHE_LIMIT = 20_000


class GraphChecker:
    """Checks documents, remembering per-node results between calls (one per open document).

    ``check(doc)`` is always equivalent to a fresh :func:`check_graph` — the caches only
    skip work whose inputs did not change.
    """

    def __init__(self, memory_limit: int | None = None) -> None:
        self._layers: dict[Any, Any] = {}  # (type, params) -> layer instance or Problem
        self._evaluations: dict[Any, Evaluation] = {}  # (type, params, inputs) -> result
        self.evaluations_run = 0  # shape inferences actually computed (for tests, benchmarks)
        # Bytes a model may need to train; None: LAYERCANVAS_MEMORY_LIMIT, else the machine's.
        self.memory_limit = memory_limit

    def check(self, doc: GraphDocument, training: dict[str, Any] | None = None) -> CheckResult:
        """Check ``doc``; ``training`` (a project's training settings) gives the batch size
        and optimizer of the memory estimate (the project defaults when ``None``)."""
        if len(self._evaluations) > _CACHE_LIMIT or len(self._layers) > _CACHE_LIMIT:
            self._evaluations.clear()
            self._layers.clear()
        if not has_blocks(doc):
            return _Check(self, doc, training).run()
        # Blocks: check the expanded graph (the caches serve every use of a block at once),
        # then tell the result in the document's terms.
        expanded = expand_blocks(doc)
        flat = _Check(self, expanded.flat, training, expanded.problems).run()
        return fold_result(flat, expanded, doc)

    def limit(self) -> MemoryLimit:
        if self.memory_limit is not None:
            return MemoryLimit(self.memory_limit, f"the limit is {format_bytes(self.memory_limit)}")
        return memory_limit()

    # The two caches ---------------------------------------------------------------------------

    def layer_for(self, cls: type, node: Node, frozen_params: Any):
        key = (cls.type_name, frozen_params)
        hit = self._layers.get(key)
        if hit is None:
            hit = instantiate(cls, node.params)
            self._layers[key] = hit
        return hit

    def evaluate(self, cls: type, layer: Any, frozen_params: Any, shapes: list[Shape]):
        key = (cls.type_name, frozen_params, tuple(shapes))
        hit = self._evaluations.get(key)
        if hit is None:
            self.evaluations_run += 1
            hit = evaluate(cls, layer, shapes)
            self._evaluations[key] = hit
        return hit


def check_graph(
    doc: GraphDocument, training: dict[str, Any] | None = None, memory_limit: int | None = None
) -> CheckResult:
    """Check a document from scratch (see :class:`GraphChecker` for repeated checks)."""
    return GraphChecker(memory_limit).check(doc, training)


def _label(node: Node) -> str:
    return f"{node.type} '{node.id}'"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


class _Check:
    """The state of one check of one document (kept out of GraphChecker so checks are
    independent)."""

    def __init__(self, checker: GraphChecker, doc: GraphDocument, training=None, preset=()):
        import engine.layers  # noqa: F401, PLC0415 - registers every layer family
        from engine.layers.base import LAYER_TYPES  # noqa: PLC0415

        self.checker = checker
        self.doc = doc
        self.training = training
        self.registry = LAYER_TYPES
        self.diagnostics: list[Diagnostic] = []
        self.nodes: dict[str, Node] = {}  # first node of each id
        self.classes: dict[str, type] = {}
        self.broken: set[str] = set()  # nodes with an error of their own
        self.index: dict[str, int] = {}
        # Diagnostics found before the check (blocks that could not be expanded): their
        # nodes are broken already, so their pseudo types are not "unknown" too.
        self.preset = list(preset)

    def add(self, severity, code, message, fix=None, nodes=(), edges=(), param=None) -> None:
        self.diagnostics.append(
            Diagnostic(severity, code, message, fix, tuple(nodes), tuple(edges), param)
        )

    def error(self, code, message, fix=None, nodes=(), edges=(), param=None) -> None:
        self.add(ERROR, code, message, fix, nodes, edges, param)
        self.broken.update(nodes)

    def run(self) -> CheckResult:
        for d in self.preset:
            self.error(d.code, d.message, d.fix, d.node_ids, d.edge_ids, d.param)
        self.collect_nodes()
        incoming, outgoing = self.collect_edges()
        self.check_ports(incoming)
        in_cycle = self.check_cycles(incoming, outgoing)
        layers, frozen = self.check_parameters()
        order = self.topological_order(incoming, outgoing, in_cycle)
        reports = self.infer_shapes(order, incoming, layers, frozen)
        inputs, outputs = self.check_ends(outgoing, in_cycle, reports)
        for node_id, node in self.nodes.items():  # nodes in or after a cycle
            if node_id not in reports:
                status = BROKEN if node_id in self.broken else UNKNOWN
                reports[node_id] = NodeReport(node_id, node.type, status)
        runnable = [n for n in order if reports[n].status == OK]
        memory = self.check_memory(reports, runnable, inputs)
        by_port = {t: sorted(es, key=lambda e: e.target_port) for t, es in incoming.items()}
        reports = {n.id: reports[n.id] for n in self.nodes.values()}
        return CheckResult(self.diagnostics, reports, runnable, inputs, outputs, by_port, memory)

    # Nodes and types -------------------------------------------------------------------------

    def collect_nodes(self) -> None:
        for i, node in enumerate(self.doc.nodes):
            if node.id in self.nodes:
                self.error(
                    "duplicate_id",
                    f"two nodes have the id '{node.id}' ({self.nodes[node.id].type} and "
                    f"{node.type}); ids must be unique because they name the layers",
                    "rename one of them",
                    nodes=(node.id,),
                )
                continue
            self.nodes[node.id] = node
            self.index[node.id] = i
            cls = self.registry.get(node.type)
            if cls is None and node.id in self.broken:
                continue  # a preset problem (an unexpandable block) already explains it
            if cls is None:
                hint = closest_type(node.type)
                self.error(
                    "unknown_type",
                    f"'{node.id}' has the unknown layer type '{node.type}'",
                    f"did you mean '{hint}'?" if hint else "choose a layer type from the palette",
                    nodes=(node.id,),
                )
            else:
                self.classes[node.id] = cls

    # Edges and ports -------------------------------------------------------------------------

    def collect_edges(self) -> tuple[dict[str, list[Edge]], dict[str, list[Edge]]]:
        incoming: dict[str, list[Edge]] = defaultdict(list)
        outgoing: dict[str, list[Edge]] = defaultdict(list)
        for edge in self.doc.edges:
            missing = [end for end in (edge.source, edge.target) if end not in self.nodes]
            if missing:
                present = [end for end in (edge.source, edge.target) if end in self.nodes]
                self.add(
                    ERROR,
                    "dangling_edge",
                    f"an edge from '{edge.source}' to '{edge.target}' points at "
                    + " and ".join(f"'{m}'" for m in dict.fromkeys(missing))
                    + ", which does not exist",
                    "delete the edge or add the missing node",
                    nodes=present,
                    edges=(edge.id,),
                )
                continue
            if edge.target_port < 0:
                self.error(
                    "port_out_of_range",
                    f"the edge from '{edge.source}' targets input port {edge.target_port} of "
                    f"'{edge.target}'; ports are numbered from 0",
                    "connect it to port 0 or higher",
                    nodes=(edge.target,),
                    edges=(edge.id,),
                )
                continue
            incoming[edge.target].append(edge)
            outgoing[edge.source].append(edge)
        return incoming, outgoing

    def check_ports(self, incoming: dict[str, list[Edge]]) -> None:
        for node_id, cls in self.classes.items():
            node = self.nodes[node_id]
            edges = incoming.get(node_id, [])
            hi = cls.max_inputs
            if hi is not None:
                extra = [e for e in edges if e.target_port >= hi]
                if extra and hi == 0:
                    self.error(
                        "too_many_inputs",
                        f"{_label(node)} takes no inputs, but "
                        f"{_plural(len(edges), 'edge')} lead into it",
                        "data enters the model at an Input node: delete the edges into it",
                        nodes=(node_id,),
                        edges=[e.id for e in extra],
                    )
                elif extra and len(edges) > hi:
                    self.error(
                        "too_many_inputs",
                        f"{_label(node)} takes {_plural(hi, 'input')}, but "
                        f"{len(edges)} edges lead into it",
                        "remove the edge from "
                        + ", ".join(f"'{e.source}'" for e in extra)
                        + (" (merge branches with Add or Concatenate)" if hi == 1 else ""),
                        nodes=(node_id,),
                        edges=[e.id for e in extra],
                    )
                else:
                    for e in extra:
                        self.error(
                            "port_out_of_range",
                            f"the edge from '{e.source}' targets input port {e.target_port} "
                            f"of {_label(node)}, which has only "
                            + ("port 0" if hi == 1 else f"ports 0 to {hi - 1}"),
                            f"connect it to port {'0' if hi == 1 else f'0..{hi - 1}'}",
                            nodes=(node_id,),
                            edges=(e.id,),
                        )
            by_port: dict[int, list[Edge]] = defaultdict(list)
            for e in edges:
                if hi is None or e.target_port < hi:
                    by_port[e.target_port].append(e)
            for port in sorted(by_port):
                if len(by_port[port]) > 1:
                    sources = ", ".join(f"'{e.source}'" for e in by_port[port])
                    self.error(
                        "port_conflict",
                        f"input {port} of {_label(node)} has "
                        f"{len(by_port[port])} edges (from {sources}); a port takes one",
                        "delete all but one, or merge them first with Add or Concatenate",
                        nodes=(node_id,),
                        edges=[e.id for e in by_port[port]],
                    )
            if hi is not None:
                for port in range(cls.min_inputs):
                    if port not in by_port:
                        where = "its input" if hi == 1 else f"input {port}"
                        self.error(
                            "unconnected_port",
                            f"{_label(node)} has nothing connected to {where}",
                            f"connect a layer's output to {where}",
                            nodes=(node_id,),
                        )
            elif len(by_port) < cls.min_inputs:
                self.error(
                    "too_few_inputs",
                    f"{_label(node)} needs at least {_plural(cls.min_inputs, 'input')}, "
                    f"got {len(by_port)}",
                    f"connect {cls.min_inputs - len(by_port)} more branch(es) to it",
                    nodes=(node_id,),
                    edges=[e.id for e in edges],
                )

    # Cycles and order --------------------------------------------------------------------------

    def check_cycles(self, incoming, outgoing) -> set[str]:
        """Report each strongly connected component that loops; returns the nodes in them."""
        in_cycle: set[str] = set()
        for component in strongly_connected(self.nodes, outgoing):
            members = set(component)
            if len(component) == 1:
                node_id = component[0]
                if not any(e.target == node_id for e in outgoing.get(node_id, [])):
                    continue
            in_cycle |= members
            loop = find_loop(component, outgoing, self.index)
            edges = [e.id for e in self.doc.edges if e.source in members and e.target in members]
            path = " -> ".join(loop + [loop[0]])
            self.error(
                "cycle",
                f"these layers form a cycle, so none of them can be computed: {path}",
                f"remove the edge from '{loop[-1]}' to '{loop[0]}'",
                nodes=sorted(members, key=self.index.__getitem__),
                edges=edges,
            )
        return in_cycle

    def topological_order(self, incoming, outgoing, in_cycle: set[str]) -> list[str]:
        """Kahn's algorithm, ties broken by document order; cycle nodes and everything after
        them never become ready and are left out."""
        waiting = {n: len(incoming.get(n, [])) for n in self.nodes}
        ready = [(self.index[n], n) for n, k in waiting.items() if k == 0 and n not in in_cycle]
        heapq.heapify(ready)
        order: list[str] = []
        while ready:
            _, node_id = heapq.heappop(ready)
            order.append(node_id)
            for e in outgoing.get(node_id, []):
                waiting[e.target] -= 1
                if waiting[e.target] == 0 and e.target not in in_cycle:
                    heapq.heappush(ready, (self.index[e.target], e.target))
        return order

    # Parameters and shapes ---------------------------------------------------------------------

    def check_parameters(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """Validate every known node's parameters, wherever it sits in the graph."""
        layers, frozen = {}, {}
        for node_id, cls in self.classes.items():
            node = self.nodes[node_id]
            frozen[node_id] = key = freeze(node.params)
            layer = self.checker.layer_for(cls, node, key)
            if isinstance(layer, list):
                for problem in layer:
                    self.error(
                        "parameter",
                        f"{_label(node)}: parameter '{problem.param}': {problem.message}"
                        if problem.param
                        else f"{_label(node)}: {problem.message}",
                        problem.fix,
                        nodes=(node_id,),
                        param=problem.param,
                    )
            else:
                layers[node_id] = layer
        return layers, frozen

    def infer_shapes(self, order, incoming, layers, frozen) -> dict[str, NodeReport]:
        reports: dict[str, NodeReport] = {}
        for node_id in order:
            node = self.nodes[node_id]
            cls = self.classes.get(node_id)
            edges = sorted(incoming.get(node_id, []), key=lambda e: e.target_port)
            if node_id in self.broken or cls is None or node_id not in layers:
                reports[node_id] = NodeReport(node_id, node.type, BROKEN)
                continue
            upstream = [reports[e.source] for e in edges]
            if any(r.output_shape is None for r in upstream):
                reports[node_id] = NodeReport(node_id, node.type, UNKNOWN)
                continue
            shapes = [r.output_shape for r in upstream]
            result = self.checker.evaluate(cls, layers[node_id], frozen[node_id], shapes)
            if result.problem is not None:
                self.report_problem(node, result.problem, edges)
                reports[node_id] = NodeReport(node_id, node.type, BROKEN, tuple(shapes))
                continue
            reports[node_id] = NodeReport(
                node_id,
                node.type,
                OK,
                tuple(shapes),
                result.output_shape,
                result.param_count,
                result.flops,
                result.trainable_count,
            )
        return reports

    def report_problem(self, node: Node, problem: Problem, edges: list[Edge]) -> None:
        message = problem.message
        if problem.code == "shape" and len(edges) == 1:
            source = edges[0].source
            message = (
                f"{message} from {source}"
                if message.endswith(")")
                else f"{message} (from {source})"
            )
        elif problem.code == "parameter" and problem.param:
            message = f"{_label(node)}: parameter '{problem.param}': {message}"
        self.error(
            problem.code,
            message,
            problem.fix,
            nodes=(node.id,),
            edges=[e.id for e in edges],
            param=problem.param,
        )

    # Memory ------------------------------------------------------------------------------------

    def check_memory(self, reports, runnable, inputs) -> MemoryEstimate:
        """Estimate what training needs from the shapes known (a lower bound while some are
        not) and refuse what this machine cannot hold, before anything is allocated."""
        memory = graph_estimate(reports, runnable, inputs, self.nodes, self.training)
        found = memory_diagnostics(memory, self.checker.limit(), self.nodes, reports)
        for d in found:
            self.diagnostics.append(d)
            if d.is_error:
                self.broken.update(d.node_ids)
        return memory

    # Inputs, outputs, reachability -------------------------------------------------------------

    def check_ends(self, outgoing, in_cycle, reports) -> tuple[list[str], list[str]]:
        input_ids = [n for n, node in self.nodes.items() if node.type == "Input"]
        if not input_ids:
            self.error(
                "no_input",
                "the graph has no Input node, so no data can enter it",
                "add an Input node and connect it to the first layer",
            )
        inputs, outputs = [], []
        for node_id in self.nodes:
            if outgoing.get(node_id):
                if node_id in input_ids:
                    inputs.append(node_id)
                continue
            if node_id in input_ids:
                self.add(
                    WARNING,
                    "unused_input",
                    f"Input '{node_id}' is not connected to anything; it is left out of the model",
                    "connect it to a layer, or delete it",
                    nodes=(node_id,),
                )
            else:
                outputs.append(node_id)
        if input_ids and not outputs and not in_cycle:
            self.error(
                "no_output",
                "nothing follows the Input, so the model has no output",
                "add a layer (e.g. Dense) and connect the Input to it",
                nodes=input_ids,
            )
        reached = reachable(input_ids, outgoing)
        for node_id in self.nodes:
            report = reports.get(node_id)
            if node_id in reached or node_id in self.broken or node_id in in_cycle:
                continue
            if report is not None and report.status != OK:
                continue  # already explained by the problem upstream
            self.add(
                WARNING,
                "unreachable",
                f"{_label(self.nodes[node_id])} is not reachable from any Input",
                "connect it downstream of an Input, or delete it",
                nodes=(node_id,),
            )
        return inputs, outputs
