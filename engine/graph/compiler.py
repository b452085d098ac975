"""The graph compiler: a document in, every diagnostic and per-node facts out, and from a
valid document a trainable :class:`engine.Model`.

This module is the compiler's public face; the work lives in one module per job:

- :mod:`engine.graph.checker` — :class:`GraphChecker` and :func:`check_graph`: ports,
  cycles, order, shapes and the memory check, incremental between edits;
- :mod:`engine.graph.evaluation` — one node's parameters and shape inference (cached);
- :mod:`engine.graph.memory` — the training-memory estimate and the machine's limit;
- :mod:`engine.graph.results` — :class:`CheckResult`, :class:`NodeReport`, :class:`GraphError`;
- :mod:`engine.graph.walks` — reachability, strongly connected components, loops;
- :mod:`engine.graph.builder` — :func:`build_model`;
- :mod:`engine.graph.block_expand` / :mod:`engine.graph.block_results` — a document with
  blocks is checked and built expanded, and its result told back on the Block nodes.

A 200-node graph re-checks in a few milliseconds after one edit
(``python -m benchmarks.bench_compiler``).
"""

from __future__ import annotations

from engine.graph.builder import build_model
from engine.graph.checker import GraphChecker, check_graph
from engine.graph.memory import MemoryEstimate
from engine.graph.results import BROKEN, OK, UNKNOWN, CheckResult, GraphError, NodeReport

__all__ = [
    "BROKEN",
    "OK",
    "UNKNOWN",
    "CheckResult",
    "GraphChecker",
    "GraphError",
    "MemoryEstimate",
    "NodeReport",
    "build_model",
    "check_graph",
]
