"""How fast the compiler re-checks a 200-node graph after one edit (target: <= 20 ms).

The graph is an Input, then 199 layers in residual blocks (Dense -> Dense -> Add with the
block's input, every few blocks a Concatenate of two branches), all of distinct widths so no
two layers share a cache entry. For each kind of edit it times ``GraphChecker.check`` right
after the edit, median of ``--repeats`` edits:

- a parameter of a layer that keeps its output shape (activation) in the middle;
- a width change early on, which changes shapes downstream (the incremental worst case);
- a move (no layer needs re-evaluation);
- and, for comparison, a check from scratch with empty caches.

Run: ``python -m benchmarks.bench_compiler`` (``--nodes 200 --repeats 200``).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.graph.compiler import GraphChecker  # noqa: E402
from engine.graph.document import GraphDocument  # noqa: E402


def residual_graph(n_nodes: int) -> GraphDocument:
    """An Input and ``n_nodes - 1`` layers in residual blocks of four, widths all distinct."""
    doc = GraphDocument("bench")
    doc.create_node("Input", {"shape": [64]}, node_id="input")
    previous, width, block = "input", 64, 0
    while len(doc) < n_nodes:
        block += 1
        a = doc.create_node(
            "Dense", {"units": 32 + block, "activation": "relu"}, node_id=f"a{block}"
        )
        doc.connect(previous, a.id)
        if len(doc) >= n_nodes:
            break
        b = doc.create_node("Dense", {"units": width, "activation": "tanh"}, node_id=f"b{block}")
        doc.connect(a.id, b.id)
        if len(doc) >= n_nodes:
            break
        merge = "Concatenate" if block % 5 == 0 else "Add"
        m = doc.create_node(merge, {}, node_id=f"m{block}")
        doc.connect(previous, m.id, 0)
        doc.connect(b.id, m.id, 1)
        width = width * 2 if merge == "Concatenate" else width
        if len(doc) >= n_nodes:
            break
        n = doc.create_node("Dense", {"units": 64 + block}, node_id=f"n{block}")
        doc.connect(m.id, n.id)
        previous, width = n.id, 64 + block
    return doc


def time_edits(doc: GraphDocument, edit, repeats: int, fresh: bool = False) -> float:
    """Median milliseconds of ``checker.check(doc)`` right after ``edit(doc, i)``."""
    checker = GraphChecker()
    checker.check(doc)
    times = []
    for i in range(repeats):
        edit(doc, i)
        if fresh:
            checker = GraphChecker()
        start = time.perf_counter()
        result = checker.check(doc)
        times.append(time.perf_counter() - start)
    assert result.ok, [str(d) for d in result.diagnostics]
    return statistics.median(times) * 1e3


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--nodes", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=200)
    args = parser.parse_args(argv)

    doc = residual_graph(args.nodes)
    middle = f"a{len(doc) // 8}"
    activations = ["relu", "tanh", "sigmoid", "elu"]

    def same_shape(d, i):
        d.set_param(middle, "activation", activations[i % 4])

    def new_shape(d, i):
        d.set_param("a1", "units", 16 + i % 50)

    def move(d, i):
        d.move_node(middle, (i, i))

    rows = [
        ("edit keeping shapes (activation)", time_edits(doc, same_shape, args.repeats)),
        ("edit changing shapes downstream", time_edits(doc, new_shape, args.repeats)),
        ("move a node", time_edits(doc, move, args.repeats)),
        ("from scratch, empty caches", time_edits(doc, same_shape, args.repeats, fresh=True)),
    ]
    print(f"graph: {len(doc)} nodes, {len(doc.edges)} edges; median of {args.repeats} edits")
    for label, ms in rows:
        print(f"  {label:<36} {ms:7.2f} ms")


if __name__ == "__main__":
    main()
