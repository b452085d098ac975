"""The graph compiler: a document in, every diagnostic and per-node facts out, and from a
valid document a trainable :class:`engine.Model`.

Checking never raises on a bad graph; it returns a :class:`CheckResult` holding all
problems at once (cycles, unconnected or doubly connected ports, wrong arity, shape
mismatches, bad parameter values, unknown types, missing Input, dangling edges, duplicate
ids) and, per node, the output shape, parameter count and FLOPs the canvas shows. A node
downstream of a broken one gets the status ``"unknown"`` and no diagnostic of its own, so one
mistake gives one message, not a cascade.

Re-checking is incremental: a :class:`GraphChecker` caches each node's evaluation keyed by
(type, parameters, input shapes). After an edit only the nodes whose key changed — the
edited node and those downstream whose input shape changed — run their shape inference
again; the graph-wide part (ports, cycles, order) is linear and cheap. A 200-node graph
re-checks in about a millisecond (``benchmarks/bench_compiler.py``).
"""

from __future__ import annotations

import difflib
import heapq
import math
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from engine.graph.diagnostics import ERROR, WARNING, Diagnostic
from engine.graph.document import Edge, GraphDocument, Node
from engine.graph.registry_info import closest_type

__all__ = [
    "CheckResult",
    "GraphChecker",
    "GraphError",
    "NodeReport",
    "build_model",
    "check_graph",
]

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


@dataclass
class CheckResult:
    """Everything the compiler found out about a document."""

    diagnostics: list[Diagnostic]
    nodes: dict[str, NodeReport]
    order: list[str]  # runnable nodes, inputs before the layers that use them
    inputs: list[str]  # Input nodes that feed something, in document order
    outputs: list[str]  # nodes with no outgoing edge (not Inputs), in document order
    incoming: dict[str, list[Edge]] = field(default_factory=dict)  # valid edges, by port

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


# -- cached per-node evaluation ------------------------------------------------------------------


@dataclass(frozen=True)
class _Problem:
    """A diagnostic without the node and edge ids (those are filled in per use)."""

    code: str
    message: str
    fix: str | None = None
    param: str | None = None


@dataclass(frozen=True)
class _Evaluation:
    output_shape: Shape | None
    param_count: int | None
    flops: int | None
    problem: _Problem | None


def _freeze(value: Any) -> Any:
    """A hashable form of JSON data that keeps ``1``, ``1.0`` and ``True`` apart."""
    if isinstance(value, dict):
        return ("{}", tuple(sorted((str(k), _freeze(v)) for k, v in value.items())))
    if isinstance(value, list | tuple):
        return ("[]", tuple(_freeze(v) for v in value))
    return (type(value).__name__, value)


_CACHE_LIMIT = 20_000


class GraphChecker:
    """Checks documents, remembering per-node results between calls (one per open document).

    ``check(doc)`` is always equivalent to a fresh :func:`check_graph` — the caches only
    skip work whose inputs did not change.
    """

    def __init__(self) -> None:
        self._layers: dict[Any, Any] = {}  # (type, params) -> layer instance or _Problem
        self._evaluations: dict[Any, _Evaluation] = {}  # (type, params, inputs) -> result
        self.evaluations_run = 0  # shape inferences actually computed (for tests, benchmarks)

    def check(self, doc: GraphDocument) -> CheckResult:
        if len(self._evaluations) > _CACHE_LIMIT or len(self._layers) > _CACHE_LIMIT:
            self._evaluations.clear()
            self._layers.clear()
        return _Check(self, doc).run()

    # The two caches ---------------------------------------------------------------------------

    def layer_for(self, cls: type, node: Node, frozen_params: Any):
        key = (cls.type_name, frozen_params)
        hit = self._layers.get(key)
        if hit is None:
            hit = _instantiate(cls, node.params)
            self._layers[key] = hit
        return hit

    def evaluate(self, cls: type, layer: Any, frozen_params: Any, shapes: list[Shape]):
        key = (cls.type_name, frozen_params, tuple(shapes))
        hit = self._evaluations.get(key)
        if hit is None:
            self.evaluations_run += 1
            hit = _evaluate(cls, layer, shapes)
            self._evaluations[key] = hit
        return hit


def check_graph(doc: GraphDocument) -> CheckResult:
    """Check a document from scratch (see :class:`GraphChecker` for repeated checks)."""
    return GraphChecker().check(doc)


def _instantiate(cls: type, params: dict[str, Any]):
    """A layer instance for shape inference, or the list of :class:`_Problem` its parameters
    cause (every bad parameter, not only the first)."""
    from engine.layers.schema import ParameterError  # noqa: PLC0415

    schema = {p.name: p for p in cls.params}
    problems = []
    for name, value in params.items():
        if name == "trainable":  # every layer's freeze flag (Layer.__init__), in no schema
            if not isinstance(value, bool):
                problems.append(
                    _Problem(
                        "parameter",
                        f"trainable must be true or false, got {value!r}",
                        "set trainable to true or false",
                        name,
                    )
                )
            continue
        param = schema.get(name)
        try:
            if param is None:
                raise ParameterError(
                    cls.type_name,
                    name,
                    f"{cls.type_name} has no such parameter (it takes: "
                    f"{', '.join(schema) or 'none'})",
                )
            param.coerce(cls.type_name, value)
        except ParameterError as err:
            problems.append(
                _Problem("parameter", err.message, _parameter_fix(cls, err, value), name)
            )
    for param in cls.params:
        if param.required and param.name not in params:
            problems.append(
                _Problem("parameter", "this parameter is required", f"set {param.name}", param.name)
            )
    if problems:
        return problems
    try:
        return cls(**params, name=f"_check_{cls.type_name}")
    except ParameterError as err:  # relations between parameters (validate_config)
        return [_Problem("parameter", err.message, _parameter_fix(cls, err, None), err.param)]
    except (TypeError, ValueError) as err:
        return [_Problem("parameter", str(err), "check this layer's parameters")]


def _parameter_fix(cls: type, err, value: Any) -> str | None:
    schema = {p.name: p for p in cls.params}
    param = schema.get(err.param)
    if param is None:  # an unknown parameter name
        close = difflib.get_close_matches(err.param, list(schema), n=1, cutoff=0.6)
        if close:
            return f"did you mean '{close[0]}'? Rename it"
        return f"remove '{err.param}'"
    if param.kind == "choice":
        close = (
            difflib.get_close_matches(value, [str(c) for c in param.choices or ()], n=1)
            if isinstance(value, str)
            else []
        )
        return f"did you mean '{close[0]}'?" if close else f"use {param.describe_range()}"
    if value is None and not param.nullable:
        return f"set {param.name}"
    bounds = "" if param.min is None and param.max is None else f" {param.describe_range()}"
    if param.kind == "int":
        return f"set {param.name} to an integer{bounds}"
    if param.kind == "float":
        return f"set {param.name} to a number{bounds}"
    if param.kind == "bool":
        return f"set {param.name} to true or false"
    if param.kind in ("shape", "ints"):
        return f"set {param.name} to a list of positive integers, e.g. [1, 8, 8]"
    if param.kind == "int_tuple":
        return f"set {param.name} to an integer or a list of {param.length or 1} integers"
    return None


def _evaluate(cls: type, layer: Any, shapes: list[Shape]) -> _Evaluation:
    from engine.layers.base import ShapeError  # noqa: PLC0415
    from engine.layers.schema import ParameterError  # noqa: PLC0415

    if cls.max_inputs == 0:
        shape_arg = None
    elif cls.max_inputs == 1:
        shape_arg = shapes[0]
    else:
        shape_arg = list(shapes)
    try:
        out = tuple(int(d) for d in layer.compute_output_shape(shape_arg))
    except ShapeError as err:
        return _Evaluation(None, None, None, _Problem("shape", err.message, err.fix))
    except ParameterError as err:
        return _Evaluation(None, None, None, _Problem("parameter", err.message, None, err.param))
    except ValueError as err:
        return _Evaluation(None, None, None, _Problem("shape", str(err)))
    except Exception as err:  # a layer type's own bug must not take the canvas down
        return _Evaluation(
            None,
            None,
            None,
            _Problem(
                "internal",
                f"{cls.type_name} failed to work out its output shape "
                f"({type(err).__name__}: {err})",
                "please report this; meanwhile try other parameter values",
            ),
        )
    try:
        params = sum(math.prod(s.shape) for s in layer.weight_specs(shape_arg))
    except Exception:
        params = None
    try:
        flops = int(layer.flops(shape_arg))
    except Exception:
        flops = None
    return _Evaluation(out, params, flops, None)


# -- one check ---------------------------------------------------------------------------------


def _label(node: Node) -> str:
    return f"{node.type} '{node.id}'"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


class _Check:
    """The state of one check of one document (kept out of GraphChecker so checks are
    independent)."""

    def __init__(self, checker: GraphChecker, doc: GraphDocument):
        import engine.layers  # noqa: F401, PLC0415 - registers every layer family
        from engine.layers.base import LAYER_TYPES  # noqa: PLC0415

        self.checker = checker
        self.doc = doc
        self.registry = LAYER_TYPES
        self.diagnostics: list[Diagnostic] = []
        self.nodes: dict[str, Node] = {}  # first node of each id
        self.classes: dict[str, type] = {}
        self.broken: set[str] = set()  # nodes with an error of their own
        self.index: dict[str, int] = {}

    def add(self, severity, code, message, fix=None, nodes=(), edges=(), param=None) -> None:
        self.diagnostics.append(
            Diagnostic(severity, code, message, fix, tuple(nodes), tuple(edges), param)
        )

    def error(self, code, message, fix=None, nodes=(), edges=(), param=None) -> None:
        self.add(ERROR, code, message, fix, nodes, edges, param)
        self.broken.update(nodes)

    def run(self) -> CheckResult:
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
        by_port = {t: sorted(es, key=lambda e: e.target_port) for t, es in incoming.items()}
        reports = {n.id: reports[n.id] for n in self.nodes.values()}
        return CheckResult(self.diagnostics, reports, runnable, inputs, outputs, by_port)

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
        for component in _strongly_connected(self.nodes, outgoing):
            members = set(component)
            if len(component) == 1:
                node_id = component[0]
                if not any(e.target == node_id for e in outgoing.get(node_id, [])):
                    continue
            in_cycle |= members
            loop = _find_loop(component, outgoing, self.index)
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
            frozen[node_id] = key = _freeze(node.params)
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
            )
        return reports

    def report_problem(self, node: Node, problem: _Problem, edges: list[Edge]) -> None:
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
        reached = _reachable(input_ids, outgoing)
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


def _reachable(starts: list[str], outgoing) -> set[str]:
    seen = set(starts)
    stack = list(starts)
    while stack:
        for e in outgoing.get(stack.pop(), []):
            if e.target not in seen:
                seen.add(e.target)
                stack.append(e.target)
    return seen


def _strongly_connected(nodes: dict[str, Node], outgoing) -> list[list[str]]:
    """Tarjan's algorithm, iterative (a long chain must not hit the recursion limit)."""
    index_of: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[list[str]] = []
    counter = 0
    for root in nodes:
        if root in index_of:
            continue
        work = [(root, 0)]
        while work:
            node, i = work.pop()
            if i == 0:
                index_of[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack.add(node)
            succ = [e.target for e in outgoing.get(node, [])]
            recursed = False
            while i < len(succ):
                nxt = succ[i]
                i += 1
                if nxt not in index_of:
                    work.append((node, i))
                    work.append((nxt, 0))
                    recursed = True
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index_of[nxt])
            if recursed:
                continue
            if low[node] == index_of[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                components.append(component)
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return components


def _find_loop(component: list[str], outgoing, index: dict[str, int]) -> list[str]:
    """One actual loop through a cyclic component, starting at its first node in document
    order (breadth-first, so the loop is a shortest one)."""
    members = set(component)
    start = min(component, key=index.__getitem__)
    parent: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for e in outgoing.get(node, []):
                if e.target not in members:
                    continue
                if e.target == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(parent[path[-1]])
                    return list(reversed(path))
                if e.target not in parent:
                    parent[e.target] = node
                    following.append(e.target)
        frontier = following
    return [start]


# -- building a model --------------------------------------------------------------------------


def build_model(doc: GraphDocument, result: CheckResult | None = None):
    """The trainable :class:`engine.Model` of a valid document (node ids become layer
    names); raises :class:`GraphError` with every diagnostic if the document has errors.
    A node's ``"trainable": false`` (beside its schema's params) freezes that layer."""
    import engine  # noqa: PLC0415
    from engine.layers.base import Input  # noqa: PLC0415

    result = result if result is not None else check_graph(doc)
    if not result.ok:
        raise GraphError(result)
    tensors: dict[str, Any] = {}
    for node_id in result.order:
        node = doc.node(node_id)
        cls = _registry()[node.type]
        if cls.max_inputs == 0:
            config = cls(**node.params, name=node_id).config
            tensors[node_id] = Input(config["shape"], name=node_id, dtype=config["dtype"])
            continue
        layer = cls(**node.params, name=node_id)
        args = [tensors[e.source] for e in result.incoming.get(node_id, [])]
        tensors[node_id] = layer(args[0] if cls.max_inputs == 1 else args)
    inputs = [tensors[n] for n in result.inputs]
    outputs = [tensors[n] for n in result.outputs]
    return engine.Model(
        inputs=inputs[0] if len(inputs) == 1 else inputs,
        outputs=outputs[0] if len(outputs) == 1 else outputs,
        name=doc.name,
    )


def _registry() -> dict[str, type]:
    from engine.layers.base import LAYER_TYPES  # noqa: PLC0415

    return LAYER_TYPES
